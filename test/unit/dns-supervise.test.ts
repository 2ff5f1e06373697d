// The pure parts of DNS supervision: the restart back-off, the systemd unit
// (`nsnet dns --install-unit`, and scripts/nsnet-dns.service made from the
// same template), and the flags in `nsnet dns --help`.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { main } from '../../src/cli/main.js';
import { restartDelay, RESTART_MAX_MS } from '../../src/dns/supervise.js';
import { renderUnit, UNIT_NAME } from '../../src/dns/unit.js';
import { SERVER_NODE_FLAGS, serverNodeArgs } from '../../src/dns/control.js';

test('restart back-off: at once, then doubling from 250 ms, capped at a few seconds', () => {
  expect([0, 1, 2, 3, 4, 5, 6, 20].map(restartDelay)).toEqual([0, 250, 500, 1000, 2000, 4000, 4000, 4000]);
  expect(RESTART_MAX_MS).toBeLessThanOrEqual(5000);
});

test('the server\'s V8 flags: added to what the process runs with, unless it (or NODE_OPTIONS) sets them already', () => {
  expect(SERVER_NODE_FLAGS).toEqual(['--max-semi-space-size=1', '--optimize-for-size']);
  expect(serverNodeArgs([], '')).toEqual(['--max-semi-space-size=1', '--optimize-for-size']);
  expect(serverNodeArgs(['--enable-source-maps'], '')).toEqual(['--max-semi-space-size=1', '--optimize-for-size', '--enable-source-maps']);
  // The user's own choice wins: on the command line, in NODE_OPTIONS, with _ for -.
  expect(serverNodeArgs(['--max-semi-space-size=8'], '')).toEqual(['--optimize-for-size', '--max-semi-space-size=8']);
  expect(serverNodeArgs([], '--max_semi_space_size=4 --optimize-for-size')).toEqual([]);
  // The supervisor's own flags, passed on: not twice.
  expect(serverNodeArgs(serverNodeArgs([], ''), '')).toEqual(['--max-semi-space-size=1', '--optimize-for-size']);
});

test('the unit: absolute node and nsnet paths, systemd as the supervisor, restarts always and soon', () => {
  const u = renderUnit({ node: '/opt/node 20/bin/node', bin: '/srv/nsnet/bin/nsnet.js', root: '/tmp/r', env: { NSNET_DATA_DIR: '/data', PATH: '/x' } });
  expect(u).toContain('ExecStart="/opt/node 20/bin/node" --max-semi-space-size=1 --optimize-for-size /srv/nsnet/bin/nsnet.js --root /tmp/r dns\n');
  expect(u).toContain('Environment=NSNET_DNS_MANAGER=systemd\n');
  expect(u).toContain('Environment=NSNET_DATA_DIR=/data\n');
  expect(u).not.toContain('PATH'); // only what decides where nsnet keeps its state
  expect(u).toMatch(/^Restart=always$/m);
  expect(u).toMatch(/^RestartSec=200ms$/m);
  expect(u).toMatch(/^RestartPreventExitStatus=75$/m);
  expect(u).toMatch(/^StartLimitIntervalSec=0$/m);
  expect(u).toMatch(/^WantedBy=multi-user.target$/m);
  // Every section starts with [, every other line is a comment, empty, or key=value.
  for (const line of u.split('\n')) expect(line).toMatch(/^(#.*|\[(Unit|Service|Install)\]|[A-Za-z]+=.+|)$/);
});

test('scripts/nsnet-dns.service is the same template, for a global npm install', () => {
  const file = readFileSync(new URL('../../scripts/nsnet-dns.service', import.meta.url), 'utf8');
  expect(file).toBe(renderUnit({ node: '/usr/bin/node', bin: '/usr/lib/node_modules/nsnet/bin/nsnet.js' }));
});

test('nsnet dns --install-unit --unit-dir DIR writes the unit with this node and this nsnet, and says what to run next', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nsnet-unit-'));
  try {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['dns', '--install-unit', '--unit-dir', path.join(dir, 'system')], { out: (s) => out.push(s), err: (s) => err.push(s), env: {}, stdin: async () => '' });
    expect(code, err.join('')).toBe(0);
    const file = path.join(dir, 'system', UNIT_NAME);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain(`ExecStart=${process.execPath} --max-semi-space-size=1 --optimize-for-size ${path.resolve(process.argv[1]!)} dns\n`);
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(out.join('\n')).toContain(`wrote ${file}`);
    expect(out.join('\n')).toContain('systemctl daemon-reload && systemctl enable --now nsnet-dns');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('nsnet dns --help lists --supervise, --install-unit and --unit-dir', async () => {
  const out: string[] = [];
  expect(await main(['dns', '--help'], { out: (s) => out.push(s), err: () => {}, env: {}, stdin: async () => '' })).toBe(0);
  const help = out.join('\n');
  for (const f of ['--supervise', '--install-unit', '--unit-dir string']) expect(help).toContain(f);
  expect(help).toContain('(default "/etc/systemd/system")');
});
