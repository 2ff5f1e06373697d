// `nsnet compose up|down|ps`: finding and reading the compose file (as
// `docker compose` finds it), then the project operations in src/compose/,
// with a progress list on stderr and Docker-like tables or JSON on stdout.
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Context } from '../docker/context.js';
import { invalidArg } from '../docker/errors.js';
import { composeDown, composePs, composeUp, type OnEvent, type PsEntry } from '../compose/compose.js';
import { parseDotEnv } from '../compose/interpolate.js';
import { ComposeError, loadProject, type ComposeProject } from '../compose/model.js';
import { withContext } from './context.js';
import type { Command, Io } from './dispatch.js';
import { listFormat, renderList, type ListFormat } from './format.js';
import { COMPOSE_PS_FIELD_HEADERS, COMPOSE_PS_TABLE, composePsContext } from './list-context.js';
import { shouldColor } from './output.js';
import { Progress } from './progress.js';

type ComposeCommand = Command<'compose up' | 'compose down' | 'compose ps'>;

/** The names `docker compose` looks for, in its order of preference. */
export const DEFAULT_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];

interface Loaded {
  project?: ComposeProject;
  name: string;
}


/**
 * The project: from -f (or the default file in the working directory), or,
 * for `down` and `ps` with -p and no file, just its name (its objects are
 * found by label).
 */
export async function loadCompose(p: ComposeCommand, io: Io, cwd = process.cwd()): Promise<Loaded> {
  const files = p.flags.file;
  if (files.length > 1) throw invalidArg('nsnet compose reads one file: merging several -f files is not supported');
  const dirFlag = p.flags['project-directory'];
  const given = p.flags['project-name'] ?? (io.env.COMPOSE_PROJECT_NAME || undefined);
  const base = dirFlag ? path.resolve(cwd, dirFlag) : cwd;
  let file: string | undefined;
  if (files[0] !== undefined) {
    file = files[0] === '-' ? '-' : path.resolve(cwd, files[0]);
    if (file !== '-' && !existsSync(file)) throw invalidArg(`open ${file}: no such file or directory`);
  } else {
    file = DEFAULT_FILES.map((f) => path.join(base, f)).find((f) => existsSync(f));
  }
  if (!file) {
    if (given && p.command !== 'compose up') return { name: given };
    throw invalidArg('no configuration file provided: not found');
  }
  const projectDir = dirFlag ? base : file === '-' ? cwd : path.dirname(file);
  const text = readFileSync(file === '-' ? 0 : file, 'utf8'); // fd 0: `-f -` reads the file from stdin
  const { parseDocument } = await import('yaml');
  const doc = parseDocument(text, { merge: true, prettyErrors: true });
  if (doc.errors.length) throw invalidArg(`${file}: ${doc.errors[0]!.message}`);
  const dotEnvFile = path.join(projectDir, '.env');
  const dotEnv = existsSync(dotEnvFile) ? parseDotEnv(readFileSync(dotEnvFile, 'utf8'), dotEnvFile) : {};
  const warned = new Set<string>();
  try {
    const project = loadProject(doc.toJS(), {
      ...(given && { projectName: given }),
      projectDir,
      env: { ...dotEnv, ...io.env },
      readFile: (f) => readFileSync(f, 'utf8'),
      warn: (m) => {
        if (!warned.has(m)) io.err(`WARN[0000] ${m}`);
        warned.add(m);
      },
    });
    return { project, name: project.name };
  } catch (e) {
    if (e instanceof ComposeError || (e as Error).name === 'InterpolationError') throw invalidArg(`${file === '-' ? 'stdin' : path.basename(file)}: ${(e as Error).message}`);
    throw e;
  }
}

function progress(io: Io): { onEvent: OnEvent; finish: () => void } {
  const tty = !!process.stderr.isTTY && io.env.TERM !== 'dumb';
  const p = new Progress(io.err, tty, shouldColor(process.stderr, io.env));
  return { onEvent: (e) => p.update(e), finish: () => p.finish() };
}

/**
 * A dry run of a whole project plans each operation against a scratch copy of
 * the state, so the sandboxes see the networks planned before them (and get
 * the addresses a real run would give); the copy is thrown away at the end.
 */
function scratchContext(ctx: Context): { ctx: Context; dispose: () => void } {
  const root = mkdtempSync(path.join(tmpdir(), 'nsnet-dry-run-'));
  const dirs = { dataDir: path.join(root, 'lib'), runDir: path.join(root, 'run') };
  const copy = (from: string, to: string) => {
    if (!existsSync(from)) return mkdirSync(to, { recursive: true });
    // Records only: not the DNS server's socket, the locks or the logs.
    cpSync(from, to, { recursive: true, filter: (f) => !/\/(logs|dns\.sock|dns\.pid|lock|nft\.lock)$/.test(f) && !lstatSync(f).isSocket() });
  };
  copy(ctx.dirs.dataDir, dirs.dataDir);
  copy(ctx.dirs.runDir, dirs.runDir);
  // The plan shows the DNS server's part as a real run has it, but nothing here ever asks the server.
  const dns: Context['dns'] = ctx.dns && {
    sync: () => Promise.resolve(),
    release: () => Promise.resolve(),
    ...(ctx.dns.command && { command: ctx.dns.command }),
  };
  return { ctx: { ...ctx, dirs, scratchState: true, realRunDir: ctx.dirs.runDir, ...(dns && { dns }) }, dispose: () => rmSync(root, { recursive: true, force: true }) };
}

/** Runs `body` in `ctx`, or, for a dry run, in a scratch copy of its state (scratchContext). */
async function planned(ctx: Context, body: (ctx: Context) => Promise<number>): Promise<number> {
  const scratch = ctx.dryRun ? scratchContext(ctx) : undefined;
  try {
    return await body(scratch?.ctx ?? ctx);
  } finally {
    scratch?.dispose();
  }
}

export const composeUpCommand = withContext<'compose up'>(async (ctx0, p, io) => {
  const loaded = await loadCompose(p, io);
  return planned(ctx0, async (ctx) => {
    const bar = progress(io);
    try {
      await composeUp(ctx, loaded.project!, { services: p.args, removeOrphans: p.flags['remove-orphans'], onEvent: bar.onEvent });
    } finally {
      bar.finish();
    }
    return 0;
  });
});

export const composeDownCommand = withContext<'compose down'>(async (ctx0, p, io) => {
  const loaded = await loadCompose(p, io);
  return planned(ctx0, async (ctx) => {
    const bar = progress(io);
    try {
      const found = await composeDown(ctx, loaded.name, {
        ...(loaded.project && { project: loaded.project }),
        removeOrphans: p.flags['remove-orphans'],
        onEvent: bar.onEvent,
      });
      if (!found) io.err(`WARN[0000] No resource found to remove for project "${loaded.name}".`);
    } finally {
      bar.finish();
    }
    return 0;
  });
});

/** Compose's `--filter status=X` (its one filter) and `--status X`: the states to list, none for all. */
export function composeStatuses(filter: string | undefined, status: readonly string[]): string[] {
  const out = [...status];
  if (filter) {
    const i = filter.indexOf('=');
    if (i < 0) throw invalidArg('arguments to --filter should be in form KEY=VAL');
    const key = filter.slice(0, i);
    if (key !== 'status') throw invalidArg(`unknown filter ${key}`);
    out.push(filter.slice(i + 1));
  }
  return out;
}

export const composePsCommand = withContext<'compose ps'>(async (ctx, p, io) => {
  const loaded = await loadCompose(p, io);
  const format = listFormat(p.flags.format); // checked before any work, as Compose does
  const statuses = composeStatuses(p.flags.filter, p.flags.status);
  const noTrunc = p.flags['no-trunc'];
  // As Compose v2: without -a a sandbox whose command has exited is not listed
  // (a filter on status lists them all). One without a command is: its network is up.
  const all = p.flags.all || statuses.length > 0;
  const state = (s: PsEntry['status']) => (s === 'creating' ? 'created' : s);
  const rows = (await composePs(ctx, loaded.name, p.args))
    .filter((r) => all || r.status !== 'exited')
    .filter((r) => statuses.length === 0 || statuses.includes(state(r.status)));
  if (p.flags.quiet) {
    rows.forEach((r) => io.out(r.sandbox.id));
  } else if (p.flags.services) {
    [...new Set(rows.map((r) => r.service))].forEach((s) => io.out(s));
  } else {
    const now = Date.now();
    const items = rows.map((r) => composePsContext(r.sandbox, r.status, { project: loaded.name, service: r.service, networks: r.networks, noTrunc, now }));
    const f = format.kind === 'default' ? listFormat(COMPOSE_PS_TABLE) : format;
    const text = renderList(f as Exclude<ListFormat, { kind: 'default' }>, items, COMPOSE_PS_FIELD_HEADERS);
    if (items.length || (f.kind === 'template' && f.table)) io.out(text);
  }
  return 0;
});
