// Handlers get their command's flags typed from the table (src/cli/spec.ts,
// commands.ts FlagsOf): reading a flag the command does not declare, or a
// misspelt one, does not compile. Checked twice: by `npm run typecheck` on
// the @ts-expect-error lines below, and by compiling probes with the
// TypeScript API here, so `npm test` fails too if the types go loose.
// And the parser really fills what the types promise (the one cast, in dispatch.ts).
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, expectTypeOf, test } from 'vitest';
import { parseArgv } from '../../src/cli/args.js';
import { COMMANDS, type FlagsOf } from '../../src/cli/commands.js';
import type { Command } from '../../src/cli/dispatch.js';

const repo = path.resolve(import.meta.dirname, '../..');

describe('flag types (compile time)', () => {
  test('each flag has the type of its kind', () => {
    expectTypeOf<FlagsOf<'network create'>['ip-range']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<FlagsOf<'network create'>['driver']>().toEqualTypeOf<string>(); // has a default
    expectTypeOf<FlagsOf<'network create'>['internal']>().toEqualTypeOf<boolean>();
    expectTypeOf<FlagsOf<'network create'>['opt']>().toEqualTypeOf<Record<string, string>>();
    expectTypeOf<FlagsOf<'run'>['publish']>().toEqualTypeOf<string[]>();
    expectTypeOf<FlagsOf<'ps'>['format']>().toEqualTypeOf<string>(); // a default, no choices (Docker's Go templates)
    expectTypeOf<FlagsOf<'inspect'>['type']>().toEqualTypeOf<'sandbox' | 'network' | undefined>();
  });

  test('an undeclared or misspelt flag is a compile error', () => {
    const read = (c: Command<'network create'>) => [
      c.flags['ip-range'],
      // @ts-expect-error: misspelt
      c.flags['ip-rnage'],
      // @ts-expect-error: `quiet` is a flag of `network ls`, not of `network create`
      c.flags.quiet,
    ];
    expect(typeof read).toBe('function');
  });
});

/** The type errors of each probe, as if it were a file in test/unit importing the real modules. */
function typeErrors(probes: Record<string, string>): Record<string, string> {
  const config = ts.readConfigFile(path.join(repo, 'tsconfig.json'), ts.sys.readFile);
  const options = { ...ts.parseJsonConfigFileContent(config.config, ts.sys, repo).options, noEmit: true };
  const files = new Map(Object.entries(probes).map(([name, text]) => [path.join(repo, `test/unit/typed-flags-probe-${name}.ts`), text]));
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  const exists = host.fileExists.bind(host);
  host.getSourceFile = (name, lang, ...rest) => {
    const text = files.get(path.resolve(name));
    return text === undefined ? read(name, lang, ...rest) : ts.createSourceFile(name, text, lang);
  };
  host.fileExists = (name) => files.has(path.resolve(name)) || exists(name);
  const program = ts.createProgram([...files.keys()], options, host);
  const out: Record<string, string> = {};
  for (const [file] of files) {
    const name = path.basename(file, '.ts').replace('typed-flags-probe-', '');
    const diagnostics = ts.getPreEmitDiagnostics(program, program.getSourceFile(file));
    out[name] = diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('\n');
  }
  return out;
}

describe('flag types (compiled here)', () => {
  const command = "import type { Command } from '../../src/cli/dispatch.js';\ndeclare const c: Command<'network create'>;";
  const handler = "import type { Handler } from '../../src/cli/dispatch.js';";

  test('declared flags compile; a misspelt one, another command\'s, or a wrong type does not', () => {
    const errors = typeErrors({
      good: `${command}\n${handler}
        export const a: string | undefined = c.flags['ip-range'];
        export const b: boolean = c.flags.internal;
        export const h: Handler<'rm'> = async ({ flags }) => (flags.force ? 1 : 0);`,
      typo: `${command}\nexport const a = c.flags['ip-rnage'];`,
      other: `${handler}\nexport const h: Handler<'rm'> = async ({ flags }) => (flags.detach ? 1 : 0);`,
      wrong: `${command}\nexport const a: boolean = c.flags['ip-range'];`,
    });
    expect(errors.good).toBe('');
    expect(errors.typo).toMatch(/ip-rnage/);
    expect(errors.other).toMatch(/detach/);
    expect(errors.wrong).toMatch(/not assignable to type 'boolean'/);
  }, 60_000);
});

describe('the parser fills what the types promise', () => {
  // dispatch.ts casts the parser's flags to FlagsOf<command>: every declared
  // flag present with its kind's value (a string without default may be absent), nothing else.
  for (const spec of COMMANDS) {
    test(spec.name, () => {
      const words = spec.name.split(' ');
      const args = Array.from({ length: spec.args.min }, (_, i) => `a${i}`);
      const p = parseArgv([...words, ...args, ...(spec.rest === 'required' ? ['true'] : [])]);
      if (p.kind !== 'command') throw new Error(`not a command: ${p.kind}`);
      expect(p.command).toBe(spec.name);
      const declared = spec.flags.map((f) => f.long);
      expect(Object.keys(p.flags).filter((k) => !declared.includes(k))).toEqual([]);
      for (const f of spec.flags) {
        const v = p.flags[f.long];
        if (f.type === 'bool') expect(v).toBe(false);
        else if (f.type === 'list') expect(v).toEqual([]);
        else if (f.type === 'map') expect(v).toEqual({});
        else expect(v).toBe(f.default);
      }
    });
  }
});
