// From a parsed command line to the code that does it: HANDLERS has one entry
// per command of the table (the compiler checks that none is missing), each
// loading its handler on first use, so `nsnet --help` loads none of them and
// `nsnet dns` loads the DNS server without the Docker layer.
//
// A handler gets its command's flags typed from the table (commands.ts
// `FlagsOf`): `flags['ip-range']` is `string | undefined`, and a flag the
// command does not declare is a compile error.
import type { GlobalOptions, Parsed } from './args.js';
import type { CommandName, FlagsOf } from './commands.js';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
  /** One line of stdin (without its newline); null at end of input. */
  stdin: () => Promise<string | null>;
}

/** Command `N` as its handler sees it (for a union of names, a union of commands). */
export type Command<N extends CommandName> = N extends CommandName
  ? {
      readonly command: N;
      readonly flags: FlagsOf<N>;
      readonly args: string[];
      /** The program to run, for `run`, `exec` and `create`; [] otherwise. */
      readonly rest: string[];
      readonly global: GlobalOptions;
    }
  : never;

/** Does command `N`; returns the exit code. */
export type Handler<N extends CommandName> = (cmd: Command<N>, io: Io) => Promise<number>;

type Handlers = { readonly [N in CommandName]: () => Promise<Handler<N>> };

const HANDLERS: Handlers = {
  'network create': async () => (await import('./network.js')).networkCreate,
  'network ls': async () => (await import('./network.js')).networkLs,
  'network inspect': async () => (await import('./network.js')).networkInspect,
  'network rm': async () => (await import('./network.js')).networkRm,
  'network prune': async () => (await import('./network.js')).networkPrune,
  'network connect': async () => (await import('./network.js')).networkConnect,
  'network disconnect': async () => (await import('./network.js')).networkDisconnect,
  create: async () => (await import('./sandbox.js')).create,
  run: async () => (await import('./run.js')).run,
  exec: async () => (await import('./run.js')).exec,
  start: async () => (await import('./lifecycle.js')).start,
  stop: async () => (await import('./lifecycle.js')).stop,
  restart: async () => (await import('./lifecycle.js')).restart,
  kill: async () => (await import('./lifecycle.js')).kill,
  wait: async () => (await import('./lifecycle.js')).wait,
  logs: async () => (await import('./lifecycle.js')).logs,
  rm: async () => (await import('./sandbox.js')).rm,
  ps: async () => (await import('./sandbox.js')).ps,
  inspect: async () => (await import('./sandbox.js')).inspect,
  port: async () => (await import('./port.js')).port,
  'compose up': async () => (await import('./compose.js')).composeUpCommand,
  'compose down': async () => (await import('./compose.js')).composeDownCommand,
  'compose ps': async () => (await import('./compose.js')).composePsCommand,
  dns: async () => (await import('./dns.js')).dnsCommand,
  'system reconcile': async () => (await import('./system.js')).systemReconcile,
  graph: async () => (await import('./system.js')).graph,
  tour: async () => (await import('./tour.js')).tour,
  'cni install': async () => (await import('./cni.js')).cniInstall,
  'cni config': async () => (await import('./cni.js')).cniConfig,
  version: async () => (await import('./version.js')).version,
};

/** Runs the parsed command's handler; returns its exit code. */
export async function dispatch(p: Extract<Parsed, { kind: 'command' }>, io: Io): Promise<number> {
  const handler = (await HANDLERS[p.command]()) as Handler<CommandName>;
  // The one place the parser's untyped flags become the command's typed ones:
  // the parser fills exactly the flags of p.command's spec, defaults included
  // (args.ts withDefaults), which is what FlagsOf describes (test/unit/cli-typed-flags.test.ts).
  return handler(p as unknown as Command<CommandName>, io);
}
