// `nsnet tour`: the seeds' walkthrough of Docker networking, replayed live
// with nsnet inside a private sandbox (the machine's own network is never
// touched). Each step says what nsnet does, the equivalent commands, shows
// the kernel state it produced, and checks the outcome Docker users expect.
//
// Steps run in order and share the sandboxes they make; everything is
// removed at the end, also on Ctrl-C. Showing state spawns `ip`, `nft`,
// `dig`... (teaching output, not nsnet's hot path).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Context } from '../docker/context.js';
import { networkCreate } from '../docker/networks.js';
import { sandboxRemove, sandboxRun } from '../docker/process.js';
import { syncDns } from '../dns/control.js';
import { netnsSelf } from '../kernel/netns.js';
import { linkSet } from '../kernel/link.js';
import { makeWan, WAN, type Wan } from './wan.js';

export interface Check {
  what: string;
  ok: boolean;
  detail?: string;
}

export interface StepResult {
  title: string;
  equivalent: string[];
  shown: { command: string; output: string }[];
  checks: Check[];
}

interface Step {
  title: string;
  explain: string;
  equivalent: string[];
  run: (t: Tour) => Promise<void>;
}

function sh(cmd: string[], timeoutMs = 8000): { code: number; out: string } {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trimEnd() };
}

class Tour {
  readonly result: StepResult[] = [];
  private current!: StepResult;
  constructor(readonly ctx: Context, readonly wan: Wan) {}

  begin(s: Step): void {
    this.current = { title: s.title, equivalent: s.equivalent, shown: [], checks: [] };
    this.result.push(this.current);
  }
  show(cmd: string[]): string {
    const { out } = sh(cmd);
    this.current.shown.push({ command: cmd.join(' '), output: out });
    return out;
  }
  check(what: string, ok: boolean, detail?: string): void {
    this.current.checks.push({ what, ok, ...(detail !== undefined && { detail }) });
  }
  /** Runs a command inside a sandbox the iproute2 way (its /etc/netns files included). */
  inSandbox(name: string, cmd: string[]): { code: number; out: string } {
    return sh(['ip', 'netns', 'exec', name, ...cmd]);
  }
  /** For checks of things that take a moment (a server starting, the first ARP): retried for up to `ms`. */
  async eventually(fn: () => boolean, ms = 15_000): Promise<boolean> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (fn()) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return fn();
  }
}

const SERVER = "require('http').createServer((q,s)=>s.end(q.socket.remoteAddress.replace('::ffff:','')+'\\n')).listen(80)";

const STEPS: Step[] = [
  {
    title: '1. The default bridge: web and db, reachable by address, not by name',
    explain: 'Two sandboxes on the default bridge nsnet0 (Docker: docker0). Each gets a network namespace, a veth whose peer is eth0 inside, the lowest free address and a MAC made from it.',
    equivalent: ['ip netns add web', 'ip link add vethXXXXXXX master nsnet0 up type veth peer name eth0 netns web address 02:42:ac:11:00:02',
      'ip -n web addr add 172.17.0.2/16 dev eth0', 'ip -n web link set eth0 up', 'ip -n web route add default via 172.17.0.1'],
    run: async (t) => {
      await sandboxRun(t.ctx, { name: 'web' }, ['sleep', '3600'], { detach: true });
      await sandboxRun(t.ctx, { name: 'db' }, ['sleep', '3600'], { detach: true });
      t.show(['ip', '-br', 'link', 'show', 'master', 'nsnet0']);
      const addr = t.show(['ip', '-n', 'web', '-br', 'addr', 'show', 'eth0']);
      t.check('web has 172.17.0.2', addr.includes('172.17.0.2/16'));
      t.check("web's MAC is 02:42 + its address", t.show(['ip', '-n', 'web', 'link', 'show', 'eth0']).includes('02:42:ac:11:00:02'));
      t.check('web pings db by address', await t.eventually(() => t.inSandbox('web', ['ping', '-c1', '-W1', '172.17.0.3']).code === 0));
      t.check('web cannot resolve db by name (no embedded DNS on the default bridge)', t.inSandbox('web', ['getent', 'hosts', 'db']).code !== 0);
    },
  },
  {
    title: '2. A user-defined network: service discovery through 127.0.0.11',
    explain: "On a user-defined network every sandbox's resolv.conf says nameserver 127.0.0.11. Nothing listens on port 53 inside: two sockets on random ports, opened in the sandbox by nsnet's DNS server, and DNAT rules in the sandbox's own nftables make it port 53.",
    equivalent: ['nsnet network create mynet', 'ip link add br-<12 hex> type bridge', 'ip netns exec web2 nft list table ip nsnet_dns'],
    run: async (t) => {
      await networkCreate(t.ctx, { name: 'mynet' });
      await sandboxRun(t.ctx, { name: 'web2', network: 'mynet' }, ['sleep', '3600'], { detach: true });
      await sandboxRun(t.ctx, { name: 'db2', network: 'mynet' }, ['sleep', '3600'], { detach: true });
      const conf = t.show(['ip', 'netns', 'exec', 'web2', 'cat', '/etc/resolv.conf']);
      t.check('resolv.conf points at 127.0.0.11 with ndots:0', conf.includes('nameserver 127.0.0.11') && conf.includes('ndots:0'));
      const ss = t.show(['ip', 'netns', 'exec', 'web2', 'ss', '-lntu']);
      t.check('two sockets on 127.0.0.11, nothing on port 53', (ss.match(/127\.0\.0\.11:\d+/g) ?? []).length === 2 && !/:53\s/.test(ss));
      t.show(['ip', 'netns', 'exec', 'web2', 'nft', 'list', 'table', 'ip', 'nsnet_dns']);
      let found = { code: -1, out: '' };
      await t.eventually(() => (found = t.inSandbox('web2', ['getent', 'hosts', 'db2'])).code === 0);
      t.check('web2 resolves db2', found.code === 0 && found.out.startsWith('172.18.0.3'), found.out);
      t.check('PTR: 172.18.0.3 is db2.mynet', t.inSandbox('web2', ['dig', '+short', '-x', '172.18.0.3']).out.trim() === 'db2.mynet.');
    },
  },
  {
    title: '3. Isolation: networks do not talk to each other; the host reaches everyone',
    explain: 'nsnet drops what would be routed between two of its bridges (one rule, with the bridges in an nftables set). Each gateway is the host itself, so it stays reachable; the host reaches every sandbox.',
    equivalent: ['nft list table ip nsnet'],
    run: async (t) => {
      t.show(['nft', 'list', 'chain', 'ip', 'nsnet', 'forward']);
      t.check('db (default bridge) cannot ping web2 (mynet)', t.inSandbox('db', ['ping', '-c1', '-W1', '172.18.0.2']).code !== 0);
      t.check('db resolves no name of mynet', t.inSandbox('db', ['getent', 'hosts', 'web2']).code !== 0);
      t.check('the host pings web (172.17.0.2) and web2 (172.18.0.2)',
        await t.eventually(() => sh(['ping', '-c1', '-W1', '172.17.0.2']).code === 0 && sh(['ping', '-c1', '-W1', '172.18.0.2']).code === 0));
    },
  },
  {
    title: '4. Published ports and egress: DNAT and masquerade, no proxy process',
    explain: "-p 8080:80 is one element of an nftables map; the host's 127.0.0.1 works too (route_localnet). Leaving the host, a sandbox's traffic takes the host's address (masquerade): a server in a fake WAN namespace sees 198.51.100.2.",
    equivalent: ['nft add element ip nsnet ports { tcp . 8080 : 172.18.0.4 . 80 }', 'nft list map ip nsnet ports'],
    run: async (t) => {
      await sandboxRun(t.ctx, { name: 'api', network: 'mynet', publish: ['8080:80'] }, ['node', '-e', SERVER], { detach: true });
      t.show(['nft', 'list', 'map', 'ip', 'nsnet', 'ports']);
      let body = '';
      await t.eventually(() => (body = sh(['curl', '-s', '-m', '1', 'http://127.0.0.1:8080/']).out) !== '');
      t.check('the host reaches 127.0.0.1:8080 (the sandbox sees the gateway)', body === '172.18.0.1', body);
      let fromWan = '';
      await t.eventually(() => (fromWan = sh(['ip', 'netns', 'exec', t.wan.name, 'curl', '-s', '-m', '1', `http://${WAN.hostAddr}:8080/`]).out) !== '');
      t.check('the WAN reaches the published port', fromWan === WAN.gateway, fromWan);
      // A server "on the internet" that answers with the address it sees.
      const wanServer = spawn('ip', ['netns', 'exec', t.wan.name, 'node', '-e',
        `require('http').createServer((q,s)=>s.end(q.socket.remoteAddress.replace('::ffff:',''))).listen(80,'${WAN.server}')`], { stdio: 'ignore' });
      try {
        let seen = '';
        await t.eventually(() => (seen = t.inSandbox('web2', ['curl', '-s', '-m', '1', `http://${WAN.server}/`]).out) !== '');
        t.check("a server in the WAN sees the host's address, not the sandbox's", seen === WAN.hostAddr, seen);
      } finally {
        wanServer.kill();
      }
    },
  },
  {
    title: '5. host, none and container: modes',
    explain: "--network host: no namespace of its own. --network none: only lo. --network container:web: web's namespace - same address, MAC and 127.0.0.1 - and --pid container:web shows web's processes.",
    equivalent: ['nsnet run --network host ...', 'nsnet run --network none ...', 'nsnet run --network container:web --pid container:web ps -e'],
    run: async (t) => {
      const hostLinks = sh(['ip', '-o', 'link']).out.split('\n').length;
      const inHost = spawnOut(t, { network: 'host', name: 'tour-host' }, ['ip', '-o', 'link']);
      t.check("host mode sees the host's interfaces", (await inHost).split('\n').length === hostLinks);
      const none = await spawnOut(t, { network: 'none', name: 'tour-none' }, ['ip', '-o', 'addr']);
      t.check('none mode has only lo', none.split('\n').every((l) => /^\d+: lo\s/.test(l)), none);
      const joined = await spawnOut(t, { network: 'container:web', name: 'tour-join', pid: 'container:web' }, ['sh', '-c', 'cat /sys/class/net/eth0/address; ps -e -o comm=']);
      t.check("container:web has web's MAC", joined.startsWith('02:42:ac:11:00:02'), joined);
      t.check("--pid container:web shows web's sleep", joined.split('\n').includes('sleep'), joined);
    },
  },
];

/** Runs `cmd` in a new sandbox, attached, with its output captured to a file; the sandbox goes afterwards (--rm). */
async function spawnOut(t: Tour, req: { network: string; name: string; pid?: string }, cmd: string[]): Promise<string> {
  const file = path.join(t.ctx.dirs.runDir, `${req.name}.out`);
  await sandboxRun(t.ctx, { name: req.name, network: req.network, ...(req.pid && { pid: req.pid }) },
    ['sh', '-c', `exec "$@" > ${file} 2>&1`, 'sh', ...cmd], { rm: true });
  return readFileSync(file, 'utf8').trim();
}

export interface TourOptions {
  step?: boolean;
  json?: boolean;
  out: (s: string) => void;
  color: boolean;
  waitForEnter: () => Promise<void>;
  /** argv that starts `nsnet dns` for this tour's state. */
  dnsArgv: (root: string) => string[];
  /** Where to write an SVG of the topology, after the last step. */
  graphFile?: string;
}

/** Runs the tour; returns the steps with their checks. */
export async function runTour(o: TourOptions): Promise<StepResult[]> {
  const root = mkdtempSync('/run/nsnet-tour-');
  const dirs = { dataDir: path.join(root, 'lib'), runDir: path.join(root, 'run') };
  writeFileSync(path.join(root, 'resolv.conf'), `nameserver ${WAN.dns}\n`);
  process.env.NSNET_RESOLV_CONF = path.join(root, 'resolv.conf');
  const host = await netnsSelf();
  await linkSet(host, 1, { up: true });
  const wan = await makeWan(host, 'tour');
  const ctx: Context = {
    host, dirs, etcNetns: '/etc/netns', warn: () => {},
    dns: { sync: (start, ids) => syncDns(dirs, { start, argv: o.dnsArgv(root), env: process.env, ...(ids && { ids }) }) },
  };
  const tour = new Tour(ctx, wan);
  const b = (s: string) => (o.color ? `\x1b[1m${s}\x1b[0m` : s);
  const dim = (s: string) => (o.color ? `\x1b[2m${s}\x1b[0m` : s);
  const mark = (ok: boolean) => (ok ? (o.color ? '\x1b[32m✓\x1b[0m' : 'ok  ') : o.color ? '\x1b[31m✗\x1b[0m' : 'FAIL');
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    const { usingState } = await import('../docker/networks.js');
    const names = await usingState(ctx, async (s) => (await s.sandboxes.all()).map((x) => x.name));
    if (names.length) await sandboxRemove(ctx, names, { force: true }).catch(() => {});
    await import('../dns/control.js').then(({ request }) => request(dirs, { op: 'stop' })).catch(() => {});
    const { networkRemove } = await import('../docker/networks.js');
    await networkRemove(ctx, ['mynet']).catch(() => {});
    await wan.remove().catch(() => {});
    await host.close();
    rmSync(root, { recursive: true, force: true });
  };
  const onSignal = () => void cleanup().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  try {
    for (const s of STEPS) {
      tour.begin(s);
      if (!o.json) {
        o.out(`\n${b(s.title)}\n${s.explain}\n`);
        for (const e of s.equivalent) o.out(dim(`  $ ${e}`));
      }
      try {
        await s.run(tour);
      } catch (e) {
        tour.check('the step ran', false, (e as Error).message);
      }
      const r = tour.result[tour.result.length - 1]!;
      if (!o.json) {
        for (const sh of r.shown) o.out(`${dim(`  $ ${sh.command}`)}\n${sh.output.replace(/^/gm, '    ')}`);
        for (const c of r.checks) o.out(`  ${mark(c.ok)} ${c.what}${!c.ok && c.detail ? dim(` (${c.detail})`) : ''}`);
        if (o.step) await o.waitForEnter();
      }
    }
    if (o.graphFile) {
      const { topology, toSvg } = await import('../graph/topology.js');
      const { usingState } = await import('../docker/networks.js');
      writeFileSync(o.graphFile, toSvg(await usingState(ctx, async (s) => topology(s.networks, await s.sandboxes.all()))));
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    await cleanup();
  }
  return tour.result;
}
