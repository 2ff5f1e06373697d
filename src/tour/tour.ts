// `nsnet tour`: the seeds' walkthrough of Docker networking, replayed live
// with nsnet inside a private sandbox (the machine's own network is never
// touched). Each step says what nsnet does, the equivalent commands, shows
// the kernel state it produced, and checks the outcome Docker users expect.
//
// Steps run in order and share the sandboxes they make. Everything is
// removed on every way out: the end, `q` at a --step prompt, SIGINT (Ctrl-C),
// SIGTERM, SIGHUP, a failed check; a signal stops the tour between two
// actions and the removal runs as at the end (the DNS server is waited for).
// Showing state spawns `ip`, `nft`, `dig`... (teaching output, not nsnet's
// hot path). The equivalent commands are written after a step ran, from
// the records it made, so they carry the real names.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Context } from '../docker/context.js';
import { networkRules } from '../docker/firewall.js';
import { networkCreate } from '../docker/networks.js';
import { sandboxRemove, sandboxRun } from '../docker/process.js';
import { pidPath, request, supervisorPidPath, syncDns } from '../dns/control.js';
import type { NetworkRecord, SandboxRecord } from '../docker/types.js';
import { netnsSelf } from '../kernel/netns.js';
import { linkSet } from '../kernel/link.js';
import { networkElements } from '../nft/table.js';
import { renderIntro, renderResult } from './render.js';
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

/** What the records say after a step: the names and addresses nsnet chose. */
interface Made {
  sandbox(name: string): SandboxRecord;
  network(name: string): NetworkRecord;
}

interface Step {
  title: string;
  explain: string;
  /** The commands that would make what the step made (not the listings it shows). */
  equivalent: (m: Made) => string[];
  run: (t: Tour) => Promise<void>;
}

/** Why the tour stopped before its end. */
export type Stop = 'quit' | 'SIGINT' | 'SIGTERM' | 'SIGHUP';

class Stopped extends Error {
  constructor() {
    super('stopped');
  }
}

function sh(cmd: string[], timeoutMs = 8000): { code: number; out: string } {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trimEnd() };
}

class Tour {
  readonly result: StepResult[] = [];
  private current!: StepResult;
  stop: Stop | undefined;
  constructor(readonly ctx: Context, readonly wan: Wan) {}

  begin(s: Step): void {
    this.current = { title: s.title, equivalent: [], shown: [], checks: [] };
    this.result.push(this.current);
  }
  /** Runs a listing and keeps its output as the step's kernel state. */
  show(cmd: string[]): string {
    const { out } = sh(cmd);
    return this.shown(cmd.join(' '), out);
  }
  /** Kernel state gathered some other way (a command run in a sandbox of its own). */
  shown(command: string, output: string): string {
    this.current.shown.push({ command, output });
    return output;
  }
  /** Between two actions: a signal stops the step here. */
  go(): void {
    if (this.stop) throw new Stopped();
  }
  async made(): Promise<Made> {
    const { usingState } = await import('../docker/networks.js');
    const { networks, sandboxes } = await usingState(this.ctx, async (s) => ({ networks: s.networks, sandboxes: await s.sandboxes.all() }));
    return {
      sandbox: (name) => sandboxes.find((x) => x.name === name) ?? missing('sandbox', name),
      network: (name) => networks.find((x) => x.name === name) ?? missing('network', name),
    };
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
      this.go();
      if (fn()) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return fn();
  }
}

function missing(kind: string, name: string): never {
  throw new Error(`the tour's ${kind} ${name} is not in nsnet's records`);
}

const SERVER = "require('http').createServer((q,s)=>s.end(q.socket.remoteAddress.replace('::ffff:','')+'\\n')).listen(80)";

const STEPS: Step[] = [
  {
    title: '1. The default bridge: web and db, reachable by address, not by name',
    explain: 'Two sandboxes on the default bridge nsnet0 (Docker: docker0). Each gets a network namespace, a veth whose peer is eth0 inside, the lowest free address and a MAC made from it.',
    equivalent: (m) => {
      const e = m.sandbox('web').endpoints[0]!;
      return ['ip netns add web', `ip link add ${e.hostVeth} master nsnet0 up type veth peer name eth0 netns web address ${e.mac}`,
        `ip -n web addr add ${e.ip}/${e.prefixlen} dev eth0`, 'ip -n web link set eth0 up', `ip -n web route add default via ${e.gateway}`,
        '(the same for db)'];
    },
    run: async (t) => {
      await sandboxRun(t.ctx, { name: 'web' }, ['sleep', '3600'], { detach: true });
      await sandboxRun(t.ctx, { name: 'db' }, ['sleep', '3600'], { detach: true });
      t.show(['ip', '-br', 'link', 'show', 'master', 'nsnet0']);
      const eth0 = t.show(['ip', '-n', 'web', 'addr', 'show', 'eth0']);
      t.check('web has 172.17.0.2', eth0.includes('172.17.0.2/16'));
      t.check("web's MAC is 02:42 + its address", eth0.includes('02:42:ac:11:00:02'));
      t.check('web pings db by address', await t.eventually(() => t.inSandbox('web', ['ping', '-c1', '-W1', '172.17.0.3']).code === 0));
      t.check('web cannot resolve db by name (no embedded DNS on the default bridge)', t.inSandbox('web', ['getent', 'hosts', 'db']).code !== 0);
    },
  },
  {
    title: '2. A user-defined network: service discovery through 127.0.0.11',
    explain: "On a user-defined network every sandbox's resolv.conf says nameserver 127.0.0.11. Nothing listens on port 53 inside: two sockets on random ports, opened in the sandbox by nsnet's DNS server, and DNAT rules in the sandbox's own nftables make it port 53.",
    equivalent: (m) => {
      const n = m.network('mynet');
      const e = m.sandbox('web2').endpoints[0]!;
      return [`ip link add ${n.bridge} type bridge`, `ip addr add ${n.gateway}/${n.subnet!.split('/')[1]} dev ${n.bridge}`, `ip link set ${n.bridge} up`,
        `ip link add ${e.hostVeth} master ${n.bridge} up type veth peer name eth0 netns web2 address ${e.mac}`, '(web2 and db2 set up as web in step 1)',
        "nsnet dns    # once: the server that answers 127.0.0.11 in every sandbox of a user-defined network"];
    },
    run: async (t) => {
      await networkCreate(t.ctx, { name: 'mynet' });
      await sandboxRun(t.ctx, { name: 'web2', network: 'mynet' }, ['sleep', '3600'], { detach: true });
      await sandboxRun(t.ctx, { name: 'db2', network: 'mynet' }, ['sleep', '3600'], { detach: true });
      t.show(['ip', '-br', 'link', 'show', 'master', (await t.made()).network('mynet').bridge!]);
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
    // What creating mynet added to the rules' sets (the rules themselves are there once for all networks).
    equivalent: (m) => {
      return networkElements('add', networkRules(m.network('mynet'))).trim().split('\n').map((l) => `nft ${l}`);
    },
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
    equivalent: (m) => [`nft add element ip nsnet ports { tcp . 8080 : ${m.sandbox('api').endpoints[0]!.ip} . 80 }`],
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
    equivalent: () => [],
    run: async (t) => {
      const hostLinks = sh(['ip', '-o', 'link']).out.split('\n').length;
      const inHost = await spawnOut(t, { network: 'host', name: 'tour-host' }, ['ip', '-br', 'link']);
      t.check("host mode sees the host's interfaces", inHost.split('\n').length === hostLinks, inHost);
      t.go();
      const none = await spawnOut(t, { network: 'none', name: 'tour-none' }, ['ip', '-br', 'addr']);
      t.check('none mode has only lo', none.split('\n').every((l) => /^lo\s/.test(l)), none);
      t.go();
      const joined = await spawnOut(t, { network: 'container:web', name: 'tour-join', pid: 'container:web' }, ['sh', '-c', 'cat /sys/class/net/eth0/address; ps -e -o pid=,comm=']);
      t.check("container:web has web's MAC", joined.startsWith('02:42:ac:11:00:02'), joined);
      t.check("--pid container:web shows web's sleep", joined.split('\n').some((l) => /^\s*\d+ sleep$/.test(l)), joined);
    },
  },
  {
    title: '6. IPv6 dual stack: an address of each family, AAAA through 127.0.0.11',
    explain: "network create --ipv6 --subnet 2001:db8:6::/64: each sandbox gets an IPv6 address beside its IPv4 one (the lowest free, as for IPv4), added with nodad so it works at once (no duplicate address detection wait), and a default IPv6 route via the bridge's 2001:db8:6::1. table ip6 nsnet holds the same sets as table ip nsnet (isolation, masquerade, published ports per family); the embedded DNS answers AAAA.",
    equivalent: (m) => {
      const n = m.network('v6net');
      const e = m.sandbox('v6a').endpoints[0]!;
      const len = n.subnet6!.split('/')[1];
      return [`ip addr add ${n.gateway6}/${len} dev ${n.bridge} nodad`, '(v6a made as web2 in step 2, then:)',
        `ip -n v6a addr add ${e.ip6}/${len} dev eth0 nodad`, `ip -n v6a -6 route add default via ${n.gateway6}`,
        ...networkElements('add', networkRules(n)).trim().split('\n').filter((l) => l.includes(' ip6 ')).map((l) => `nft ${l}`)];
    },
    run: async (t) => {
      await networkCreate(t.ctx, { name: 'v6net', ipv6: true, subnet6: '2001:db8:6::/64' });
      await sandboxRun(t.ctx, { name: 'v6a', network: 'v6net' }, ['sleep', '3600'], { detach: true });
      await sandboxRun(t.ctx, { name: 'v6b', network: 'v6net' }, ['sleep', '3600'], { detach: true });
      const addr = t.show(['ip', '-n', 'v6a', '-6', 'addr', 'show', 'eth0']);
      t.check('v6a has 2001:db8:6::2/64, usable at once (not tentative)', addr.includes('2001:db8:6::2/64') && !addr.includes('tentative'), addr);
      t.show(['ip', '-n', 'v6a', '-6', 'route']);
      t.show(['nft', 'list', 'set', 'ip6', 'nsnet', 'subnets']);
      t.check('v6a pings v6b over IPv6', await t.eventually(() => t.inSandbox('v6a', ['ping', '-6', '-c1', '-W1', '2001:db8:6::3']).code === 0));
      let aaaa = { code: -1, out: '' };
      await t.eventually(() => (aaaa = t.inSandbox('v6a', ['dig', '+short', 'AAAA', 'v6b'])).out.trim() === '2001:db8:6::3');
      t.check('dig AAAA v6b answers 2001:db8:6::3', aaaa.out.trim() === '2001:db8:6::3', aaaa.out);
      const both = t.inSandbox('v6a', ['getent', 'ahosts', 'v6b']).out;
      t.check('getent ahosts v6b lists both families', both.includes('2001:db8:6::3') && /172\.\d+\.0\.3/.test(both), both);
      t.check('web2 (mynet, IPv4 only) cannot reach v6a: isolation holds', t.inSandbox('web2', ['ping', '-c1', '-W1', (await t.made()).sandbox('v6a').endpoints[0]!.ip]).code !== 0);
    },
  },
];

export const STEP_COUNT = STEPS.length;

/** Runs `cmd` in a new sandbox, attached, with its output captured to a file; the sandbox goes afterwards (--rm). */
async function spawnOut(t: Tour, req: { network: string; name: string; pid?: string }, cmd: string[]): Promise<string> {
  const file = path.join(t.ctx.dirs.runDir, `${req.name}.out`);
  await sandboxRun(t.ctx, { name: req.name, network: req.network, ...(req.pid && { pid: req.pid }) },
    ['sh', '-c', `exec "$@" > ${file} 2>&1`, 'sh', ...cmd], { rm: true });
  const flags = [`--network ${req.network}`, ...(req.pid ? [`--pid ${req.pid}`] : [])].join(' ');
  const shell = cmd[0] === 'sh' ? `sh -c '${cmd[2]}'` : cmd.join(' ');
  return t.shown(`nsnet run --rm ${flags} ${shell}`, readFileSync(file, 'utf8').trimEnd());
}

export interface TourOptions {
  step?: boolean;
  json?: boolean;
  out: (s: string) => void;
  color: boolean;
  /** Terminal columns to wrap to; undefined: no wrapping. */
  width?: number;
  /** --step: after each step; 'quit' ends the tour there (it still cleans up). */
  waitForEnter: () => Promise<'next' | 'quit'>;
  /** argv that starts `nsnet dns` for this tour's state. */
  dnsArgv: (root: string) => string[];
  /** Where to write an SVG of the topology, after the last step. */
  graphFile?: string;
}

export interface TourResult {
  steps: StepResult[];
  /** Set when the tour ended before its last step. */
  stopped?: Stop;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** After a signal, the longest the removal may take before the process goes anyway (the sandbox takes the rest). */
const STOP_DEADLINE_MS = 30_000;

/** Runs the tour; returns the steps with their checks, and why it stopped early if it did. */
export async function runTour(o: TourOptions): Promise<TourResult> {
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
  const style = { color: o.color, ...(o.width !== undefined && { width: o.width }) };
  const print = (lines: string[]) => o.out(lines.join('\n'));

  // A signal stops the tour between two actions (a prompt waiting for Enter
  // at once); the removal below then runs as at the end. Further signals
  // (Ctrl-C reaches every process of the terminal's group, and the sandbox
  // passes SIGTERM on too) are absorbed until the removal is done.
  let wake = () => {};
  const onSignal = (sig: NodeJS.Signals) => {
    if (tour.stop && tour.stop !== 'quit') return;
    tour.stop = sig as Stop;
    wake();
    setTimeout(() => process.exit(128 + (osSignals[sig] ?? 1)), STOP_DEADLINE_MS).unref();
  };
  for (const sig of SIGNALS) process.on(sig, onSignal);
  try {
    for (const s of STEPS) {
      if (tour.stop) break;
      tour.begin(s);
      if (!o.json) print(renderIntro(s.title, s.explain, style));
      try {
        await s.run(tour);
      } catch (e) {
        if (!(e instanceof Stopped)) tour.check('the step ran', false, (e as Error).message);
      }
      const r = tour.result[tour.result.length - 1]!;
      try {
        r.equivalent = s.equivalent(await tour.made());
      } catch (e) {
        if (!tour.stop) tour.check('the records name what the step made', false, (e as Error).message);
      }
      if (tour.stop) break;
      if (!o.json) print(renderResult(r, style));
      if (o.step && !o.json && s !== STEPS[STEPS.length - 1]) {
        const answer = await Promise.race([o.waitForEnter(), new Promise<'quit'>((res) => (wake = () => res('quit')))]);
        if (answer === 'quit' && !tour.stop) tour.stop = 'quit';
      }
    }
    if (o.graphFile && !tour.stop) {
      const { topology, toSvg } = await import('../graph/topology.js');
      const { usingState } = await import('../docker/networks.js');
      const { graphFacts } = await import('../cli/system.js');
      const { networks, sandboxes } = await usingState(ctx, async (s) => ({ networks: s.networks, sandboxes: await s.sandboxes.all() }));
      writeFileSync(o.graphFile, toSvg(topology(networks, sandboxes, await graphFacts(ctx, networks, sandboxes))));
    }
  } finally {
    await cleanup(ctx, wan, root);
    for (const sig of SIGNALS) process.off(sig, onSignal);
  }
  return { steps: tour.result, ...(tour.stop && { stopped: tour.stop }) };
}

const osSignals: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/**
 * Removes everything the tour made: its sandboxes (and their processes),
 * mynet and v6net, the DNS server (asked to stop, then waited for: the tour must not
 * return while it still runs), the fake WAN, the state directory.
 * Each part is tried whatever happened to the one before.
 */
async function cleanup(ctx: Context, wan: Wan, root: string): Promise<void> {
  const { usingState, networkRemove } = await import('../docker/networks.js');
  const names = await usingState(ctx, async (s) => (await s.sandboxes.all()).map((x) => x.name)).catch(() => [] as string[]);
  if (names.length) await sandboxRemove(ctx, names, { force: true }).catch(() => {});
  for (const n of ['mynet', 'v6net']) await networkRemove(ctx, [n]).catch(() => {});
  const pids = [pidPath(ctx.dirs), supervisorPidPath(ctx.dirs)].map(readPid).filter((p): p is number => p !== undefined);
  await request(ctx.dirs, { op: 'stop' }).catch(() => {});
  await waitGone(pids, 5000);
  await wan.remove().catch(() => {});
  await ctx.host.close();
  rmSync(root, { recursive: true, force: true });
}

function readPid(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const n = Number.parseInt(readFileSync(file, 'utf8'), 10);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** Gone: no such process, or a zombie (ours, waiting to be reaped). */
function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

/** Waits for `pids` to exit; those still there after `ms` are killed. */
async function waitGone(pids: number[], ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (pids.some((p) => !gone(p)) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  for (const p of pids.filter((x) => !gone(x))) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}
