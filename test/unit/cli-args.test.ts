// The CLI parser and help text: Docker's flag spellings and error messages,
// the command/program split of run and exec, and help rendered from the table.
import { describe, expect, test } from 'vitest';
import { editDistance, flagBool, flagList, flagMap, parseArgv, UsageError, type Parsed } from '../../src/cli/args.js';
import { COMMANDS, findCommand } from '../../src/cli/commands.js';
import { cliMarkdown, formatUsageError, helpText } from '../../src/cli/help.js';

type Command = Extract<Parsed, { kind: 'command' }>;

function cmd(...argv: string[]): Command {
  const p = parseArgv(argv);
  if (p.kind !== 'command') throw new Error(`expected a command, got ${p.kind}`);
  return p;
}

/** The UsageError parseArgv throws for argv. */
function usageError(...argv: string[]): UsageError {
  try {
    parseArgv(argv);
  } catch (e) {
    if (e instanceof UsageError) return e;
    throw e;
  }
  throw new Error(`no error for ${argv.join(' ')}`);
}

describe('network create', () => {
  test('defaults: bridge driver, no subnet, empty maps', () => {
    const p = cmd('network', 'create', 'mynet');
    expect(p.command).toBe('network create');
    expect(p.args).toEqual(['mynet']);
    expect(p.rest).toEqual([]);
    expect(p.flags).toEqual({ driver: 'bridge', 'dry-run': false, internal: false, ipv6: false, subnet: [], gateway: [], opt: {}, label: {}, 'aux-address': {} });
    expect(p.global).toEqual({ debug: false });
  });

  test('--flag=value and --flag value are the same', () => {
    const a = cmd('network', 'create', '--subnet=10.10.0.0/24', '--ip-range=10.10.0.128/25', '--gateway=10.10.0.1', 'n');
    const b = cmd('network', 'create', '--subnet', '10.10.0.0/24', '--ip-range', '10.10.0.128/25', '--gateway', '10.10.0.1', 'n');
    expect(a).toEqual(b);
    expect(a.flags['ip-range']).toBe('10.10.0.128/25');
    expect(a.flags.gateway).toEqual(['10.10.0.1']);
  });

  test('--subnet and --gateway repeat (one per family, issue 15)', () => {
    const p = cmd('network', 'create', '--ipv6', '--subnet', '10.10.0.0/24', '--subnet=2001:db8:1::/64', '--gateway', '2001:db8:1::1', 'n');
    expect([p.flags.ipv6, p.flags.subnet, p.flags.gateway]).toEqual([true, ['10.10.0.0/24', '2001:db8:1::/64'], ['2001:db8:1::1']]);
  });

  test('-d short and long, flags after the positional (interspersed)', () => {
    expect(cmd('network', 'create', '-d', 'macvlan', 'n').flags.driver).toBe('macvlan');
    const p = cmd('network', 'create', 'n', '--internal', '--driver=bridge');
    expect(p.args).toEqual(['n']);
    expect(flagBool(p.flags, 'internal')).toBe(true);
  });

  test('-o and --label gather into maps; label key alone is an empty value; values keep their "="', () => {
    const p = cmd('network', 'create', '-o', 'a=1', '--opt=b=x=y', '-oc=3', '--label', 'env=prod', '--label', 'team', 'n');
    expect(flagMap(p.flags, 'opt')).toEqual({ a: '1', b: 'x=y', c: '3' });
    expect(flagMap(p.flags, 'label')).toEqual({ env: 'prod', team: '' });
  });

  test('bool with explicit value', () => {
    expect(cmd('network', 'create', '--internal=false', 'n').flags.internal).toBe(false);
    expect(cmd('network', 'create', '--internal=true', 'n').flags.internal).toBe(true);
    expect(usageError('network', 'create', '--internal=maybe', 'n').message).toBe(
      'invalid argument "maybe" for "--internal" flag: expected true or false',
    );
  });

  test('-- ends the options', () => {
    expect(cmd('network', 'rm', '--', '-odd').args).toEqual(['-odd']);
  });
});

describe('aliases', () => {
  test('network list → network ls, network remove → network rm', () => {
    expect(cmd('network', 'list', '-q').command).toBe('network ls');
    expect(cmd('network', 'remove', 'a', 'b').command).toBe('network rm');
  });
  test('--net / --net-alias are --network / --network-alias', () => {
    const p = cmd('run', '--net', 'mynet', '--net-alias', 'a', '--network-alias=b', 'true');
    expect(p.flags.network).toBe('mynet');
    expect(p.flags['network-alias']).toEqual(['a', 'b']);
  });
});

describe('network subcommands', () => {
  test('ls: quiet, format, no-trunc', () => {
    expect(cmd('network', 'ls').flags).toEqual({ filter: [], quiet: false, format: 'table', 'no-trunc': false });
    expect(cmd('network', 'ls', '-q', '--format', 'json', '--no-trunc', '-f', 'type=custom').flags).toEqual({
      filter: ['type=custom'],
      quiet: true,
      format: 'json',
      'no-trunc': true,
    });
  });
  test('inspect: several networks, -f json', () => {
    const p = cmd('network', 'inspect', '-f', 'json', 'a', 'b');
    expect(p.args).toEqual(['a', 'b']);
    expect(p.flags.format).toBe('json');
  });
  test('rm -f, prune -f', () => {
    expect(cmd('network', 'rm', '-f', 'a').flags.force).toBe(true);
    expect(cmd('network', 'prune', '--force').flags.force).toBe(true);
  });
  test('connect: --ip and repeatable --alias', () => {
    const p = cmd('network', 'connect', '--ip', '10.0.0.5', '--alias', 'a', '--alias', 'b', 'mynet', 'web');
    expect(p.args).toEqual(['mynet', 'web']);
    expect(p.flags).toEqual({ ip: '10.0.0.5', alias: ['a', 'b'], 'dry-run': false });
  });
  test('disconnect -f', () => {
    expect(cmd('network', 'disconnect', '-f', 'mynet', 'web').flags.force).toBe(true);
  });
});

describe('run and create', () => {
  test('the command starts at the first positional; later flags are the command\'s', () => {
    const p = cmd('run', '--name', 'a', 'sh', '-c', 'echo -n hi');
    expect(p.rest).toEqual(['sh', '-c', 'echo -n hi']);
    expect(p.args).toEqual([]);
    expect(p.flags.name).toBe('a');
  });

  test('or everything after --', () => {
    const p = cmd('run', '--name', 'web', '--network', 'mynet', '-p', '8080:80', '-d', '--', 'python3', '-m', 'http.server', '80');
    expect(p.rest).toEqual(['python3', '-m', 'http.server', '80']);
    expect(p.flags.detach).toBe(true);
    expect(p.flags.publish).toEqual(['8080:80']);
  });

  test('a -- later on belongs to the command', () => {
    expect(cmd('run', 'sh', '--', 'x').rest).toEqual(['sh', '--', 'x']);
    expect(cmd('run', '--', 'ls', '--', '-l').rest).toEqual(['ls', '--', '-l']);
  });

  test('--help after the command is the command\'s', () => {
    expect(cmd('run', 'grep', '--help').rest).toEqual(['grep', '--help']);
  });

  test('-h is --hostname, as in Docker', () => {
    const p = cmd('run', '-h', 'box', 'hostname');
    expect(p.flags.hostname).toBe('box');
    expect(p.rest).toEqual(['hostname']);
    expect(cmd('create', '-hbox').flags.hostname).toBe('box');
  });

  test('combined bool shorts, and a value short at the end of a group', () => {
    const p = cmd('run', '-it', '-dP', '-ip', '80:80', '-p80:81', '-p=82:82', 'sh');
    expect(p.flags).toMatchObject({ interactive: true, tty: true, detach: true, 'publish-all': true });
    expect(p.flags.publish).toEqual(['80:80', '80:81', '82:82']);
  });

  test('repeatable lists keep their order', () => {
    const p = cmd(
      'run',
      '--dns', '1.1.1.1', '--dns=8.8.8.8',
      '--dns-search', 'a.test', '--dns-option', 'ndots:2',
      '--add-host', 'db:10.0.0.2', '--add-host=h6:fd00::2',
      '--link', 'db', '--link', 'cache:redis',
      '-e', 'A=1', '--env', 'B', '-w', '/srv', '--pid', 'container:web', '--mac-address', '02:42:ac:11:00:02',
      '--ip', '10.0.0.9', '--rm', 'true',
    );
    expect(flagList(p.flags, 'dns')).toEqual(['1.1.1.1', '8.8.8.8']);
    expect(p.flags['dns-search']).toEqual(['a.test']);
    expect(p.flags['dns-option']).toEqual(['ndots:2']);
    expect(p.flags['add-host']).toEqual(['db:10.0.0.2', 'h6:fd00::2']);
    expect(p.flags.link).toEqual(['db', 'cache:redis']);
    expect(p.flags.env).toEqual(['A=1', 'B']);
    expect(p.flags).toMatchObject({ workdir: '/srv', pid: 'container:web', 'mac-address': '02:42:ac:11:00:02', ip: '10.0.0.9', rm: true });
  });

  test('a string flag takes the next word even if it starts with a dash (pflag)', () => {
    expect(cmd('run', '--name', '-x', 'true').flags.name).toBe('-x');
  });

  test('create may have no command; its command follows the same rules', () => {
    expect(cmd('create', '--name', 'db').rest).toEqual([]);
    expect(cmd('create', '--name', 'web', '--', 'sleep', 'infinity').rest).toEqual(['sleep', 'infinity']);
    expect(cmd('create', 'sleep', '1').rest).toEqual(['sleep', '1']);
  });

  test('run without a command is a usage error', () => {
    expect(usageError('run').message).toBe('"nsnet run" requires at least 1 argument.');
    expect(usageError('run', '--name', 'a', '--').message).toBe('"nsnet run" requires at least 1 argument.');
  });
});

describe('exec', () => {
  test('SANDBOX, then the command with its own flags', () => {
    const p = cmd('exec', '-e', 'A=1', '-w', '/tmp', 'web', 'ls', '-l', '-e');
    expect(p.args).toEqual(['web']);
    expect(p.rest).toEqual(['ls', '-l', '-e']);
    expect(p.flags).toEqual({ detach: false, env: ['A=1'], workdir: '/tmp', interactive: false, tty: false });
  });
  test('-- after SANDBOX or before it', () => {
    expect(cmd('exec', 'web', '--', 'ls', '-l').rest).toEqual(['ls', '-l']);
    const p = cmd('exec', '-d', '--', 'web', 'ls');
    expect([p.args, p.rest, p.flags.detach]).toEqual([['web'], ['ls'], true]);
  });
  test('-it and -h (help here)', () => {
    expect(cmd('exec', '-it', 'web', 'sh').flags).toMatchObject({ interactive: true, tty: true });
    expect(parseArgv(['exec', '-h'])).toMatchObject({ kind: 'help', command: 'exec' });
  });
  test('without a command', () => {
    expect(usageError('exec', 'web').message).toBe('"nsnet exec" requires at least 2 arguments.');
    expect(usageError('exec').message).toBe('"nsnet exec" requires at least 2 arguments.');
  });
});

describe('sandbox commands', () => {
  test('rm, ps, inspect, dns, version', () => {
    expect(cmd('rm', '-f', 'a', 'b')).toMatchObject({ command: 'rm', args: ['a', 'b'], flags: { force: true } });
    expect(cmd('ps', '-aq', '--no-trunc').flags).toEqual({ all: true, filter: [], quiet: true, format: 'table', 'no-trunc': true });
    expect(cmd('inspect', '--type', 'network', 'a').flags).toEqual({ format: 'json', type: 'network' });
    expect(cmd('dns', '--debug').flags).toEqual({ debug: true, supervise: false, 'install-unit': false, 'unit-dir': '/etc/systemd/system' });
    expect(cmd('version')).toMatchObject({ command: 'version', args: [], flags: {} });
  });
});

describe('global flags', () => {
  test('--debug, -D and --root before the command', () => {
    expect(cmd('--debug', '--root', '/tmp/st', 'ps').global).toEqual({ debug: true, root: '/tmp/st' });
    expect(cmd('-D', '--root=/x', 'ps').global).toEqual({ debug: true, root: '/x' });
  });
  test('global flags after the command are unknown there, as in Docker', () => {
    expect(usageError('ps', '--root', '/x').message).toBe('unknown flag: --root');
  });
  test('--version and -v', () => {
    expect(parseArgv(['--version'])).toEqual({ kind: 'version' });
    expect(parseArgv(['-v'])).toEqual({ kind: 'version' });
  });
});

describe('help', () => {
  test('no arguments, --help, -h, help: top-level help', () => {
    for (const argv of [[], ['--help'], ['-h'], ['help']]) {
      const p = parseArgv(argv);
      expect(p.kind).toBe('help');
      if (p.kind === 'help') expect(p.text).toBe(helpText());
    }
  });
  test('group help: network, network --help, help network', () => {
    for (const argv of [['network'], ['network', '--help'], ['help', 'network']]) {
      expect(parseArgv(argv)).toMatchObject({ kind: 'help', command: 'network' });
    }
  });
  test('command help wins over missing arguments, alias names the canonical command', () => {
    expect(parseArgv(['network', 'create', '--help'])).toMatchObject({ kind: 'help', command: 'network create' });
    expect(parseArgv(['network', 'list', '-h'])).toMatchObject({ kind: 'help', command: 'network ls' });
    expect(parseArgv(['help', 'network', 'remove'])).toMatchObject({ kind: 'help', command: 'network rm' });
    expect(parseArgv(['run', '--help'])).toMatchObject({ kind: 'help', command: 'run' });
  });
  test('help for an unknown topic', () => {
    expect(usageError('help', 'nope').message).toBe('unknown help topic "nope"');
  });

  test('top level lists management commands and commands', () => {
    const text = helpText();
    expect(text).toContain('Usage:  nsnet [OPTIONS] COMMAND');
    expect(text).toContain('Management Commands:\n  cni         Use nsnet as a CNI plugin (containerd, Podman, Kubernetes)\n  compose     Set up the networks and sandboxes of a compose file\n  network     Manage networks\n');
    for (const c of ['create', 'run', 'exec', 'rm', 'ps', 'inspect', 'dns', 'version']) {
      expect(text).toMatch(new RegExp(`\\n  ${c} +\\S`));
    }
    expect(text).toContain("Run 'nsnet COMMAND --help' for more information on a command.");
  });

  test('network create: usage, description, aligned options with defaults, examples', () => {
    const text = helpText('network create');
    expect(text.startsWith('Usage:  nsnet network create [OPTIONS] NETWORK\n\nCreate a network\n')).toBe(true);
    expect(text).toContain(
      [
        'Options:',
        '      --aux-address map   Auxiliary IPv4 addresses used by Network driver (never given to a sandbox)',
        '  -d, --driver string     Driver to manage the network (default "bridge")',
        '      --dry-run           Print the equivalent ip/nft/shell commands, in order, and change nothing',
        '      --gateway list      IPv4 or IPv6 gateway for the subnet of its family',
        '      --internal          Restrict external access to the network',
        '      --ip-range string   Allocate sandbox IPs from a sub-range',
        "      --ipv6              Enable IPv6 (dual stack; without an IPv6 --subnet, a /64 of the host's ULA prefix)",
        '      --label list        Set metadata on a network',
        '  -o, --opt map           Set driver specific options',
        '      --subnet list       Subnet in CIDR format that represents a network segment (one per family)',
      ].join('\n'),
    );
    expect(text).toContain('Examples:\n  nsnet network create mynet\n  nsnet network create --ipv6 --subnet 10.10.0.0/24 --subnet 2001:db8:1::/64');
  });

  test('aliases are listed; hidden long aliases are not', () => {
    expect(helpText('network ls')).toContain('Aliases:\n  nsnet network ls, nsnet network list');
    const run = helpText('run');
    expect(run).toContain('Usage:  nsnet run [OPTIONS] [--] COMMAND [ARG...]');
    expect(run).toContain('  -h, --hostname string ');
    expect(run).toContain('      --network string ');
    expect(run).not.toContain('--net ');
    expect(run).not.toContain('--help');
  });

  test('no line of any help ends in a space', () => {
    for (const name of [undefined, 'network', ...COMMANDS.map((c) => c.name)]) {
      for (const line of helpText(name).split('\n')) expect(line).toBe(line.trimEnd());
    }
  });

  test('every command has 1-3 examples that parse as that command', () => {
    for (const c of COMMANDS) {
      expect(c.examples.length).toBeGreaterThanOrEqual(1);
      expect(c.examples.length).toBeLessThanOrEqual(3);
      for (const e of c.examples) {
        const argv = shellWords(e).slice(1);
        expect(cmd(...argv).command, e).toBe(c.name);
      }
    }
  });

  test('markdown reference names every command, alias and flag', () => {
    const md = cliMarkdown();
    for (const c of COMMANDS) {
      expect(md).toContain(`## nsnet ${c.name}\n`);
      for (const a of c.aliases ?? []) expect(md).toContain(`\`nsnet ${a}\``);
      for (const f of c.flags) expect(md).toContain(`\`--${f.long}`);
    }
    expect(md).toContain('Alias: `--net`.');
  });

  test('formatUsageError: Docker\'s "See ..." line, plus usage for argument counts', () => {
    expect(formatUsageError(usageError('network', 'create'))).toBe(
      [
        '"nsnet network create" requires exactly 1 argument.',
        "See 'nsnet network create --help'.",
        '',
        'Usage:  nsnet network create [OPTIONS] NETWORK',
        '',
        'Create a network',
      ].join('\n'),
    );
    expect(formatUsageError(usageError('ps', '--foo'))).toBe("unknown flag: --foo\nSee 'nsnet ps --help'.");
    expect(formatUsageError(usageError('--foo'))).toBe("unknown flag: --foo\nSee 'nsnet --help'.");
  });
});

describe('errors', () => {
  test('unknown flags, long and short', () => {
    expect(usageError('network', 'create', '--foo', 'n').message).toBe('unknown flag: --foo');
    expect(usageError('network', 'create', '--foo=1', 'n').message).toBe('unknown flag: --foo');
    expect(usageError('ps', '-ax').message).toBe("unknown shorthand flag: 'x' in -x");
    expect(usageError('--nope').command).toBeUndefined();
    expect(usageError('network', 'create', '--foo').command).toBe('network create');
  });

  test('flag needs an argument', () => {
    expect(usageError('network', 'create', '--subnet').message).toBe('flag needs an argument: --subnet');
    expect(usageError('run', '-ip').message).toBe("flag needs an argument: 'p' in -p");
    expect(usageError('--root').message).toBe('flag needs an argument: --root');
  });

  test('argument counts', () => {
    expect(usageError('network', 'create').message).toBe('"nsnet network create" requires exactly 1 argument.');
    expect(usageError('network', 'create', 'a', 'b').message).toBe('"nsnet network create" requires exactly 1 argument.');
    expect(usageError('network', 'connect', 'a').message).toBe('"nsnet network connect" requires exactly 2 arguments.');
    expect(usageError('rm').message).toBe('"nsnet rm" requires at least 1 argument.');
    expect(usageError('network', 'rm').message).toBe('"nsnet network rm" requires at least 1 argument.');
    expect(usageError('ps', 'x').message).toBe('"nsnet ps" accepts no arguments.');
    expect(usageError('rm').showUsage).toBe(true);
  });

  test('invalid values', () => {
    expect(usageError('network', 'create', '-o', 'x', 'n').message).toBe(
      'invalid argument "x" for "-o, --opt" flag: expected key=value',
    );
    expect(usageError('network', 'create', '--label', '=v', 'n').message).toBe(
      'invalid argument "=v" for "--label" flag: expected key=value',
    );
    // --format takes Go templates now (src/cli/format.ts checks them); --filter wants key=value.
    expect(usageError('network', 'ls', '--filter', 'bridge').message).toBe(
      'invalid argument "bridge" for "-f, --filter" flag: bad format of filter (expected name=value)',
    );
    expect(usageError('inspect', '--type', 'volume', 'x').message).toBe(
      'invalid argument "volume" for "--type" flag: expected sandbox or network',
    );
    expect(usageError('run', '--add-host', 'db', 'true').message).toBe(
      'invalid argument "db" for "--add-host" flag: expected host:ip',
    );
    expect(usageError('run', '--link', 'a:b:c', 'true').message).toBe(
      'invalid argument "a:b:c" for "--link" flag: expected name[:alias]',
    );
    expect(usageError('run', '-e', '=1', 'true').message).toBe(
      'invalid argument "=1" for "-e, --env" flag: expected KEY=VALUE or KEY',
    );
  });

  test('unknown commands, with a suggestion one edit away', () => {
    expect(usageError('foo').message).toBe('unknown command "foo" for "nsnet"');
    expect(usageError('netwrk').message).toBe('unknown command "netwrk" for "nsnet"\n\nDid you mean this?\n\tnetwork');
    expect(usageError('ntework').message).toBe('unknown command "ntework" for "nsnet"\n\nDid you mean this?\n\tnetwork');
    expect(usageError('network', 'craete').message).toBe(
      'unknown command "craete" for "nsnet network"\n\nDid you mean this?\n\tcreate',
    );
    expect(usageError('network', 'craete').command).toBe('network');
    // A subcommand name is not a top-level command.
    expect(usageError('ls').message).toMatch(/^unknown command "ls" for "nsnet"/);
  });

  test('UsageError is an Error', () => {
    const e = usageError('foo');
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('UsageError');
  });
});

describe('table consistency', () => {
  test('command names and aliases are unique; flags unique per command', () => {
    const names = COMMANDS.flatMap((c) => [c.name, ...(c.aliases ?? [])]);
    expect(new Set(names).size).toBe(names.length);
    for (const c of COMMANDS) {
      const longs = c.flags.flatMap((f) => [f.long, ...(f.aliases ?? [])]);
      const shorts = c.flags.flatMap((f) => (f.short ? [f.short] : []));
      expect(new Set(longs).size, c.name).toBe(longs.length);
      expect(new Set(shorts).size, c.name).toBe(shorts.length);
      expect(findCommand(c.name)).toBe(c);
    }
  });
  test('editDistance counts a transposition as one edit', () => {
    expect(editDistance('network', 'network')).toBe(0);
    expect(editDistance('ntework', 'network')).toBe(1);
    expect(editDistance('netwrk', 'network')).toBe(1);
    expect(editDistance('abc', '')).toBe(3);
  });
});

/** Enough of sh's word splitting for the examples: spaces and double quotes. */
function shellWords(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? ''); // single quotes too: --format examples
}
