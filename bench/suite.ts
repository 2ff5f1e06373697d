// npm run bench - nsnet against the tools people would pick instead, in one
// run, inside the test sandbox (scripts/sandbox.sh): the machine's own network
// is never touched. Needs `sudo bash scripts/setup.sh --bench`.
//
// Per sandbox, on one user-defined bridge (10.88.0.0/16), every method makes a
// network namespace wired to the bridge with an address and a default route:
//
//   nsnet lib      the library API: + nftables elements, state, and the
//                  embedded DNS server's sockets and DNAT rules (DNS on),
//                  the server being the `nsnet dns` process
//   nsnet lib, in-process DNS   the same, with the DNS server inside the
//                  library's process (src/dns/in-process.ts), as dockerd runs its resolver
//   nsnet cli      `nsnet create --network bench` as a fresh process per
//                  sandbox, from bash (everything above, plus Node's start)
//   bash ip        one `ip` process per step
//   ip -batch      one host batch + one `ip -n NS -batch` per sandbox
//   cni bridge     containernetworking-plugins' bridge + host-local + ipMasq
//   cni bridge+portmap   the reference chain as runtimes ship it (+ portmap, one
//                  published port each), each plugin a process, as libcni runs it
//   nsnet cni      nsnet's CNI plugin as `nsnet cni install` writes it, the same
//                  way: one process per ADD/DEL (docs/bench/cni.md)
//   netavark       netavark 1.4 with aardvark-dns (DNS on)
//
// Other drivers, each beside netavark doing the same and against `nsnet lib`
// (the IPv4 bridge sandbox) in the same run (DRIVER_ROWS, docs/bench/macvlan.md):
//   nsnet lib macvlan    the library on a macvlan network (DNS on) whose parent
//                  is a fake physical port: a veth `ens4` whose other end
//                  sits in a LAN namespace holding the router, 10.88.0.1
//                  (as test/helpers/lan.ts); no bridge, no NAT
//   netavark macvlan     netavark 1.4's macvlan driver on the same parent
//                  (host-local IPAM; netavark has no DNS on macvlan)
//
// for N = 1, 100, 1000 sandboxes, methods in shuffled order per round. Each
// method is checked in the same run (a ping across the bridge; for the two
// with DNS, a name answered), so no method wins by doing less. Then the cost
// of publishing the 1st..1000th port, the CLI's start-up, the DNS
// server against dnsmasq (bench/dns.ts, the DNS issue's benchmark; DNS_BENCH=0
// leaves it out, DNS_ROUNDS and DNS_DURATION size it), and a sandbox added to
// an overlay network on three simulated hosts with etcd against a local
// bridge sandbox on the same host (bench/overlay.ts, docs/bench/overlay.md;
// OVERLAY_BENCH=0 leaves it out, OVERLAY_SAMPLES sizes it; alone:
// `npm run bench:overlay`).
//
// Writes docs/bench/README.md (tables, ratios, goals), docs/bench/per-sandbox.svg
// and docs/bench/results.json.
//
//   NS="1,100,1000" ROUNDS=1 npm run bench
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { openContext, type Context } from '../src/docker/context.js';
import type { NetworkCreateRequest } from '../src/docker/network.js';
import { networkCreate, networkRemove } from '../src/docker/networks.js';
import { sandboxRemove } from '../src/docker/process.js';
import { sandboxCreate } from '../src/docker/sandboxes.js';
import { addElements } from '../src/docker/firewall.js';
import { releaseDns, syncDns } from '../src/dns/control.js';
import { inProcessDns, type InProcessDns } from '../src/dns/in-process.js';
import { netnsList } from '../src/kernel/netns.js';
import { portElements } from '../src/nft/table.js';
import { lineChart } from './chart.js';

if (process.env.NSNET_IN_SANDBOX !== '1') {
  console.error('bench: run through `npm run bench` (inside scripts/sandbox.sh)');
  process.exit(2);
}
// REPORT_ONLY=1: no runs; the report (README.md, per-sandbox.svg) made again from results.json.
const REPORT_ONLY = process.env.REPORT_ONLY === '1';
const saved = REPORT_ONLY ? JSON.parse(readFileSync('docs/bench/results.json', 'utf8')) : undefined;
const NS: number[] = saved?.NS ?? (process.env.NS ?? '1,100,1000').split(',').map(Number);
const ROUNDS: number = saved?.ROUNDS ?? Number(process.env.ROUNDS ?? 1);
const REPO = process.cwd();
const BIN = path.join(REPO, 'bin/nsnet.js');
const CNI = '/usr/lib/cni';
const NETAVARK = '/usr/lib/podman/netavark';
const AARDVARK = '/usr/lib/podman/aardvark-dns';
for (const f of [`${CNI}/bridge`, NETAVARK, AARDVARK, '/usr/sbin/iptables']) {
  try {
    readFileSync(f);
  } catch {
    console.error(`bench: ${f} is missing; run: sudo bash scripts/setup.sh --bench`);
    process.exit(2);
  }
}
delete process.env.NODE_EXTRA_CA_CERTS; // set on this machine only; costs every Node start ~50 ms
await execa('node_modules/.bin/tsc', ['-p', 'tsconfig.build.json']);

const ipOf = (i: number) => `10.88.${(i + 2) >> 8}.${(i + 2) & 255}`;
const name = (i: number) => `bc${i}`;
const med = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[s.length >> 1]! : NaN; };
const p90 = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(s.length * 0.9))] ?? NaN; };

interface Run { setup: number[]; teardown: number[]; /** CNI methods: the plugins' ADD and DEL alone (no ip netns add/del) */ add?: number[]; del?: number[] }
type Method = (n: number, work: string) => Promise<Run>;

async function bash(script: string, env: Record<string, string> = {}): Promise<string> {
  return (await execa('bash', ['-e'], { input: script, env, maxBuffer: 64 << 20 })).stdout;
}
function spans(out: string, tag: string): number[] {
  return out.split('\n').filter((l) => l.startsWith(`${tag} `)).map((l) => {
    const [a, b] = l.split(' ').slice(1).map(Number);
    return (b! - a!) * 1000;
  });
}
async function waitClean(): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    const veths = JSON.parse((await execa('ip', ['-j', 'link', 'show', 'type', 'veth'])).stdout || '[]') as unknown[];
    if (!veths.length && !(await netnsList()).length) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 500));
}
async function check(method: string, n: number, dns?: { server: string }): Promise<void> {
  const last = n - 1;
  if (n > 1) {
    const r = await execa('ip', ['netns', 'exec', name(0), 'ping', '-c1', '-W1', ipOf(last)], { reject: false });
    if (r.exitCode !== 0) throw new Error(`${method}: ${name(0)} cannot ping ${ipOf(last)}`);
  }
  if (dns) {
    // aardvark-dns is started by netavark in the background: give any server a few seconds.
    let got = '';
    for (let i = 0; i < 10 && got !== ipOf(last); i++) {
      got = (await execa('ip', ['netns', 'exec', name(0), 'dig', '+short', '+time=1', '+tries=1', `@${dns.server}`, name(last)], { reject: false })).stdout.trim();
      if (got !== ipOf(last)) await new Promise((r) => setTimeout(r, 300));
    }
    if (got !== ipOf(last)) throw new Error(`${method}: DNS answered ${JSON.stringify(got)} for ${name(last)}, expected ${ipOf(last)}`);
  }
}

// ---- nsnet ---------------------------------------------------------------------

const BRIDGE_NET: NetworkCreateRequest = { name: 'bench', subnet: '10.88.0.0/16' };
async function nsnetContext(work: string, o: { inProcess?: boolean; network?: NetworkCreateRequest } = {}): Promise<{ ctx: Context; root: string; local?: InProcessDns }> {
  const root = work;
  writeFileSync(path.join(root, 'resolv.conf'), 'nameserver 203.0.113.53\n');
  process.env.NSNET_RESOLV_CONF = path.join(root, 'resolv.conf');
  const dirs = { dataDir: path.join(root, 'lib'), runDir: path.join(root, 'run') };
  const argv = [BIN, '--root', root, 'dns'];
  const ctx = await openContext({
    dirs, etcNetns: path.join(root, 'etc'), warn: () => {},
    ...(!o.inProcess && { dns: { sync: (start, ids) => syncDns(dirs, { start, argv, env: process.env, ...(ids && { ids }) }), release: (ids) => releaseDns(dirs, ids) } }),
  });
  const local = o.inProcess ? await inProcessDns(ctx) : undefined;
  await networkCreate(ctx, o.network ?? BRIDGE_NET);
  return { ctx, root, ...(local && { local }) };
}
async function stopDns(root: string): Promise<number | undefined> {
  try {
    const pid = Number(readFileSync(path.join(root, 'run/dns.pid'), 'utf8'));
    const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    process.kill(pid, 'SIGTERM');
    return rss;
  } catch {
    return undefined;
  }
}
const dnsRss = new Map<number, number>();

const nsnetLibrary = (inProcess: boolean, label: string, o: { network?: NetworkCreateRequest; check?: typeof check } = {}): Method => async (n, work) => {
  const { ctx, root, local } = await nsnetContext(work, { inProcess, ...(o.network && { network: o.network }) });
  const setup: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await sandboxCreate(ctx, { name: name(i), network: 'bench' });
    setup.push(performance.now() - t);
  }
  await (o.check ?? check)(label, n, { server: '127.0.0.11' });
  const teardown: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await sandboxRemove(ctx, [name(i)], { force: true });
    teardown.push(performance.now() - t);
  }
  if (local) await local.stop();
  const rss = local ? undefined : await stopDns(root);
  if (rss && n >= 1000) dnsRss.set(n, rss);
  await networkRemove(ctx, ['bench']); // a bridge network's bridge holds 10.88.0.1, which the next method needs
  await ctx.host.close();
  return { setup, teardown };
};
const nsnetLib = nsnetLibrary(false, 'nsnet lib');
const nsnetLibInProcess = nsnetLibrary(true, 'nsnet lib, in-process DNS');

const nsnetCli: Method = async (n, work) => {
  const { ctx, root } = await nsnetContext(work);
  await ctx.host.close();
  const env = { NSNET_RESOLV_CONF: path.join(root, 'resolv.conf'), NSNET_ETC_NETNS: path.join(root, 'etc') };
  const N = `node ${BIN} --root ${root}`;
  const lines = [];
  for (let i = 0; i < n; i++) lines.push(`s=$EPOCHREALTIME; ${N} create --name ${name(i)} --network bench >/dev/null; echo "up $s $EPOCHREALTIME"`);
  const up = await bash(lines.join('\n'), env);
  await check('nsnet cli', n, { server: '127.0.0.11' });
  const down = await bash(Array.from({ length: n }, (_, i) => `s=$EPOCHREALTIME; ${N} rm -f ${name(i)} >/dev/null; echo "down $s $EPOCHREALTIME"`).join('\n'), env);
  await stopDns(root);
  await bash(`${N} network rm bench >/dev/null`, env);
  return { setup: spans(up, 'up'), teardown: spans(down, 'down') };
};

// ---- iproute2 ------------------------------------------------------------------

const BRIDGE_UP = 'ip link add br88 type bridge && ip addr add 10.88.0.1/16 dev br88 && ip link set br88 up && sysctl -qw net.ipv4.ip_forward=1';
const BRIDGE_DOWN = 'ip link del br88';

const bashIp: Method = async (n) => {
  await bash(BRIDGE_UP);
  const lines = [];
  for (let i = 0; i < n; i++) {
    const ns = name(i);
    lines.push(`s=$EPOCHREALTIME`, `ip netns add ${ns}`, `ip -n ${ns} link set lo up`,
      `ip link add vh${i} master br88 up type veth peer name eth0 netns ${ns}`,
      `ip -n ${ns} addr add ${ipOf(i)}/16 dev eth0`, `ip -n ${ns} link set eth0 up`,
      `ip -n ${ns} route add default via 10.88.0.1`, `echo "up $s $EPOCHREALTIME"`);
  }
  const up = await bash(lines.join('\n'));
  await check('bash ip', n);
  const down = await bash(Array.from({ length: n }, (_, i) => `s=$EPOCHREALTIME; ip netns del ${name(i)}; echo "down $s $EPOCHREALTIME"`).join('\n'));
  await waitClean();
  await bash(BRIDGE_DOWN);
  return { setup: spans(up, 'up'), teardown: spans(down, 'down') };
};

const ipBatch: Method = async (n) => {
  await bash(BRIDGE_UP);
  const host = [...Array.from({ length: n }, (_, i) => `netns add ${name(i)}`),
    ...Array.from({ length: n }, (_, i) => `link add vh${i} master br88 up type veth peer name eth0 netns ${name(i)}`)].join('\n');
  const lines = ['T0=$EPOCHREALTIME', `ip -batch - <<'EOF'\n${host}\nEOF`, 'H=$EPOCHREALTIME'];
  for (let i = 0; i < n; i++) {
    lines.push('s=$EPOCHREALTIME', `ip -n ${name(i)} -batch - <<'EOF'\nlink set lo up\naddr add ${ipOf(i)}/16 dev eth0\nlink set eth0 up\nroute add default via 10.88.0.1\nEOF`, 'echo "up $s $EPOCHREALTIME"');
  }
  lines.push('echo "host $T0 $H"');
  const out = await bash(lines.join('\n'));
  const hostShare = spans(out, 'host')[0]! / n;
  await check('ip -batch', n);
  const down = await bash(`s=$EPOCHREALTIME\nip -batch - <<'EOF'\n${Array.from({ length: n }, (_, i) => `netns del ${name(i)}`).join('\n')}\nEOF\necho "down $s $EPOCHREALTIME"`);
  await waitClean();
  await bash(BRIDGE_DOWN);
  return { setup: spans(out, 'up').map((x) => x + hostShare), teardown: Array(n).fill(spans(down, 'down')[0]! / n) };
};

// ---- CNI -----------------------------------------------------------------------

const cniBridge: Method = async (n, work) => {
  const conf = path.join(work, 'cni.json');
  writeFileSync(conf, JSON.stringify({
    cniVersion: '1.0.0', name: 'bench', type: 'bridge', bridge: 'cni88', isGateway: true, ipMasq: true,
    ipam: { type: 'host-local', ranges: [[{ subnet: '10.88.0.0/16', gateway: '10.88.0.1' }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: path.join(work, 'cni-ipam') },
  }));
  const run = (cmd: string, i: number) =>
    `CNI_COMMAND=${cmd} CNI_CONTAINERID=benchctr${i} CNI_NETNS=/run/netns/${name(i)} CNI_IFNAME=eth0 CNI_PATH=${CNI} ${CNI}/bridge < ${conf} >/dev/null`;
  const up = await bash(Array.from({ length: n }, (_, i) => `s=$EPOCHREALTIME; ip netns add ${name(i)}; ${run('ADD', i)}; echo "up $s $EPOCHREALTIME"`).join('\n'));
  await check('cni bridge', n);
  const down = await bash(Array.from({ length: n }, (_, i) => `s=$EPOCHREALTIME; ${run('DEL', i)}; ip netns del ${name(i)}; echo "down $s $EPOCHREALTIME"`).join('\n'));
  await waitClean();
  await bash('ip link del cni88 || true');
  return { setup: spans(up, 'up'), teardown: spans(down, 'down') };
};

// ---- CNI chains, run as a runtime runs them -----------------------------------
// libcni's way (containerd, Podman 4, CRI-O): one process per plugin of the
// conflist, found by its `type` in CNI_PATH; the env is the CNI_* variables
// (over the runtime's own env: here PATH and nsnet's state directories only);
// stdin is the plugin's configuration with the list's name and cniVersion,
// the runtimeConfig of the capabilities it declares and, after the first
// plugin, the result so far as prevResult. DEL runs the list in reverse, each
// plugin given the cached result of the ADD. Each process is started from
// this one (spawnSync) and timed here, as a runtime's would be.

type Conflist = { cniVersion: string; name: string; plugins: Record<string, unknown>[] };

function pluginConf(list: Conflist, p: Record<string, unknown>, runtimeConfig: Record<string, unknown>, prevResult: unknown): string {
  const caps = (p['capabilities'] ?? {}) as Record<string, boolean>;
  const rc = Object.fromEntries(Object.entries(runtimeConfig).filter(([k]) => caps[k]));
  const { capabilities: _, ...rest } = p;
  return JSON.stringify({ ...rest, cniVersion: list.cniVersion, name: list.name, ...(Object.keys(rc).length && { runtimeConfig: rc }), ...(prevResult !== undefined && { prevResult }) });
}

/** One command through the whole list; ADD returns the final result (the runtime caches it for DEL). */
function runChain(list: Conflist, cmd: 'ADD' | 'DEL', env: Record<string, string>, runtimeConfig: Record<string, unknown>, cached?: unknown): unknown {
  const dirs = env.CNI_PATH!.split(':');
  const order = cmd === 'ADD' ? list.plugins : [...list.plugins].reverse();
  let prev: unknown = cmd === 'DEL' ? cached : undefined;
  for (const p of order) {
    const type = String(p['type']);
    const exe = dirs.map((d) => path.join(d, type)).find((f) => { try { return statSync(f).isFile(); } catch { return false; } });
    if (!exe) throw new Error(`CNI: no plugin ${type} in ${env.CNI_PATH}`);
    const r = spawnSync(exe, [], { input: pluginConf(list, p, runtimeConfig, prev), env: { ...env, CNI_COMMAND: cmd }, encoding: 'utf8', maxBuffer: 16 << 20 });
    if (r.status !== 0) throw new Error(`CNI ${cmd} ${type} (${env.CNI_CONTAINERID}) exited ${r.status ?? r.signal}: ${r.stdout} ${r.stderr}`);
    if (cmd === 'ADD') prev = JSON.parse(r.stdout);
  }
  return prev;
}

/** Per sandbox: `ip netns add` + the list's ADD (setup), the list's DEL + `ip netns del` (teardown); add/del: the list alone. */
async function cniChain(label: string, list: Conflist, n: number, baseEnv: Record<string, string>, dns?: { server: string }): Promise<Run> {
  const setup: number[] = [];
  const teardown: number[] = [];
  const add: number[] = [];
  const del: number[] = [];
  const results: unknown[] = [];
  const envOf = (i: number) => ({ ...baseEnv, CNI_CONTAINERID: `benchctr${i}`, CNI_NETNS: `/run/netns/${name(i)}`, CNI_IFNAME: 'eth0' });
  // What Podman passes: one published port per container, its name as an alias.
  const rcOf = (i: number) => ({ portMappings: [{ hostPort: 20000 + i, containerPort: 80, protocol: 'tcp', hostIP: '' }], aliases: { [list.name]: [name(i)] } });
  const ip = (...args: string[]) => {
    const r = spawnSync('ip', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  };
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    ip('netns', 'add', name(i));
    const a = performance.now();
    results.push(runChain(list, 'ADD', envOf(i), rcOf(i)));
    const e = performance.now();
    setup.push(e - t);
    add.push(e - a);
  }
  await check(label, n, dns);
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    runChain(list, 'DEL', envOf(i), rcOf(i), results[i]);
    const d = performance.now();
    ip('netns', 'del', name(i));
    teardown.push(performance.now() - t);
    del.push(d - t);
  }
  return { setup, teardown, add, del };
}

const PATH_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };

// The reference chain as runtimes ship it (test/helpers/runtimes.ts referenceChain):
// bridge + host-local + ipMasq, then portmap for the portMappings capability.
const cniBridgePortmap: Method = async (n, work) => {
  const list: Conflist = {
    cniVersion: '1.0.0', name: 'bench',
    plugins: [
      { type: 'bridge', bridge: 'cni88', isGateway: true, ipMasq: true, hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: '10.88.0.0/16', gateway: '10.88.0.1' }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: path.join(work, 'cni-ipam') } },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
    ],
  };
  const run = await cniChain('cni bridge+portmap', list, n, { ...PATH_ENV, CNI_PATH: CNI });
  await waitClean();
  await bash('ip link del cni88 || true');
  return run;
};

// nsnet's plugin, installed by `nsnet cni install` as a runtime would find it:
// the native nsnet-cni, which forwards each call to the resident nsnet process
// (the DNS server the first ADD starts) and runs the Node plugin only when
// nothing serves it (dist/cni/nsnet-cni.cjs when built: `npm run build`; else
// the unbundled dist/cli/cni-plugin.js): here the first ADD.
// The same network: bridge, ipMasq, portMappings (and aliases, which nsnet
// answers through 127.0.0.11: checked). The state under the work directory.
const nsnetCniPlugin: Method = async (n, work) => {
  const bin = path.join(work, 'bin');
  await execa('node', [BIN, 'cni', 'install', '--bin-dir', bin]);
  writeFileSync(path.join(work, 'resolv.conf'), 'nameserver 203.0.113.53\n');
  const list: Conflist = {
    cniVersion: '1.0.0', name: 'bench',
    plugins: [{ type: 'nsnet', bridge: 'ns88', isGateway: true, ipMasq: true, hairpinMode: true,
      ipam: { type: 'nsnet', subnet: '10.88.0.0/16', gateway: '10.88.0.1' }, capabilities: { portMappings: true, aliases: true } }],
  };
  const env = {
    ...PATH_ENV, CNI_PATH: `${bin}:${CNI}`, NSNET_DATA_DIR: path.join(work, 'lib'), NSNET_RUN_DIR: path.join(work, 'run'),
    NSNET_RESOLV_CONF: path.join(work, 'resolv.conf'), ...(process.env.NSNET_CNI_TRACE && { NSNET_CNI_TRACE: process.env.NSNET_CNI_TRACE }),
  };
  const run = await cniChain('nsnet cni', list, n, env, { server: '127.0.0.11' });
  await stopDns(work);
  await execa('node', [BIN, '--root', work, 'network', 'rm', 'bench']);
  return run;
};

// ---- netavark + aardvark-dns -------------------------------------------------------

// One factory for netavark's bridge rows: IPv4 (`netavark+aardvark`) and dual stack.
const netavarkBridge = (label: string, dual: boolean): Method => async (n, work) => {
  const cfg = path.join(work, 'netavark');
  mkdirSync(cfg, { recursive: true });
  const netId = 'b'.repeat(64);
  const subnets = [{ gateway: '10.88.0.1', subnet: '10.88.0.0/16' }, ...(dual ? [{ gateway: DUAL_NET.gateway6!, subnet: DUAL_NET.subnet6! }] : [])];
  const json = (i: number) => JSON.stringify({
    container_id: `${String(i).padStart(8, '0')}${'c'.repeat(56)}`, container_name: name(i),
    networks: { bench: { interface_name: 'eth0', static_ips: [ipOf(i), ...(dual ? [ip6Of(i)] : [])] } },
    network_info: { bench: { dns_enabled: true, driver: 'bridge', id: netId, internal: false, ipv6_enabled: dual, name: 'bench', network_interface: 'nv88', subnets } },
  });
  for (let i = 0; i < n; i++) writeFileSync(path.join(work, `ctr${i}.json`), json(i));
  const cmd = (verb: string, i: number) => `NETAVARK_FW=iptables ${NETAVARK} --config ${cfg} -a ${AARDVARK} ${verb} /run/netns/${name(i)} < ${work}/ctr${i}.json >/dev/null`;
  const up = await bash(Array.from({ length: n }, (_, i) => `s=$EPOCHREALTIME; ip netns add ${name(i)}; ${cmd('setup', i)}; echo "up $s $EPOCHREALTIME"`).join('\n'));
  await (dual ? checkDual : check)(label, n, { server: '10.88.0.1' });
  const down = await bash(Array.from({ length: n }, (_, i) => `s=$EPOCHREALTIME; ${cmd('teardown', i)}; ip netns del ${name(i)}; echo "down $s $EPOCHREALTIME"`).join('\n'));
  await waitClean();
  return { setup: spans(up, 'up'), teardown: spans(down, 'down') };
};
const netavark = netavarkBridge('netavark', false);

// ---- dual stack: the bridge with --ipv6 (issue 15) ------------------------------------
// Sandbox i gets 2001:db8:88::<i+2> (nsnet: lowest free after the gateway ::1; netavark: given).

const ip6Of = (i: number) => `2001:db8:88::${(i + 2).toString(16)}`;
const DUAL_NET: NetworkCreateRequest = { ...BRIDGE_NET, ipv6: true, subnet6: '2001:db8:88::/64', gateway6: '2001:db8:88::1' };
/** check(), and the first sandbox reaches the last over IPv6. */
async function checkDual(method: string, n: number, dns?: { server: string }): Promise<void> {
  await check(method, n, dns);
  const r = await execa('ip', ['netns', 'exec', name(0), 'ping', '-6', '-c1', '-W1', ip6Of(n - 1)], { reject: false });
  if (r.exitCode !== 0) throw new Error(`${method}: ${name(0)} cannot ping ${ip6Of(n - 1)}`);
}
const nsnetLibDual = nsnetLibrary(false, 'nsnet lib dual-stack', { network: DUAL_NET, check: checkDual });
const netavarkDual = netavarkBridge('netavark dual-stack', true);

// ---- macvlan: sandboxes on a fake physical LAN ---------------------------------------
// The parent is `ens4`, one end of a veth whose other end is eth0 in the LAN
// namespace `bench-lan`, which holds the router's address 10.88.0.1/16 (the
// bridge methods' gateway, so the sandboxes' addresses are the same). Made
// before and removed after each run, so waitClean() finds nothing between runs.

const LAN_NS = 'bench-lan';
const PARENT = 'ens4';
async function withLan<T>(body: () => Promise<T>): Promise<T> {
  await bash([`ip netns add ${LAN_NS}`, `ip link add ${PARENT} type veth peer name eth0 netns ${LAN_NS}`, `ip link set ${PARENT} up`,
    `ip -n ${LAN_NS} link set lo up`, `ip -n ${LAN_NS} addr add 10.88.0.1/16 dev eth0`, `ip -n ${LAN_NS} link set eth0 up`].join('\n'));
  try {
    return await body();
  } finally {
    await bash(`ip netns del ${LAN_NS}`);
  }
}
/** check(), and the first and the last sandbox reach the LAN's router through the parent. */
async function checkLan(method: string, n: number, dns?: { server: string }): Promise<void> {
  await check(method, n, dns);
  for (const i of new Set([0, n - 1])) {
    const r = await execa('ip', ['netns', 'exec', name(i), 'ping', '-c1', '-W1', '10.88.0.1'], { reject: false });
    if (r.exitCode !== 0) throw new Error(`${method}: ${name(i)} cannot ping the LAN's router 10.88.0.1`);
  }
}

const MACVLAN_NET: NetworkCreateRequest = { name: 'bench', driver: 'macvlan', subnet: '10.88.0.0/16', gateway: '10.88.0.1', options: { parent: PARENT, macvlan_mode: 'bridge' } };
const nsnetLibMacvlanRun = nsnetLibrary(false, 'nsnet lib macvlan', { network: MACVLAN_NET, check: checkLan });
const nsnetLibMacvlan: Method = (n, work) => withLan(() => nsnetLibMacvlanRun(n, work));

// netavark's macvlan driver, as Podman 4 runs it (`podman network create -d macvlan -o parent=ens4`):
// host-local IPAM with the address given, mode in options; Podman turns DNS off on macvlan networks.
const netavarkMacvlan: Method = (n, work) => withLan(async () => {
  const cfg = path.join(work, 'netavark');
  mkdirSync(cfg, { recursive: true });
  const json = (i: number) => JSON.stringify({
    container_id: `${String(i).padStart(8, '0')}${'c'.repeat(56)}`, container_name: name(i),
    networks: { bench: { interface_name: 'eth0', static_ips: [ipOf(i)] } },
    network_info: { bench: { dns_enabled: false, driver: 'macvlan', id: 'm'.repeat(64), internal: false, ipv6_enabled: false, name: 'bench',
      network_interface: PARENT, options: { mode: 'bridge' }, subnets: [{ gateway: '10.88.0.1', subnet: '10.88.0.0/16' }], ipam_options: { driver: 'host-local' } } },
  });
  for (let i = 0; i < n; i++) writeFileSync(path.join(work, `ctr${i}.json`), json(i));
  const cmd = (verb: string, i: number) => `NETAVARK_FW=iptables ${NETAVARK} --config ${cfg} -a ${AARDVARK} ${verb} /run/netns/${name(i)} < ${work}/ctr${i}.json >/dev/null`;
  const up = await bash(Array.from({ length: n }, (_, i) => `s=$EPOCHREALTIME; ip netns add ${name(i)}; ${cmd('setup', i)}; echo "up $s $EPOCHREALTIME"`).join('\n'));
  await checkLan('netavark macvlan', n);
  const down = await bash(Array.from({ length: n }, (_, i) => `s=$EPOCHREALTIME; ${cmd('teardown', i)}; ip netns del ${name(i)}; echo "down $s $EPOCHREALTIME"`).join('\n'));
  // No waitClean() here: the LAN's veth is still there; the run loop waits once the LAN is gone.
  return { setup: spans(up, 'up'), teardown: spans(down, 'down') };
});

// Drivers other than the IPv4 bridge: each nsnet row against `nsnet lib` (the bridge) and
// beside its netavark row, in the same run. Goal (issue 15): within 1.2x of the bridge
// sandbox, flat to the largest N. A row whose methods are not in ALL_METHODS is left out.
const DRIVER_ROWS: { row: string; nsnet: string; peer: string }[] = [
  { row: 'macvlan', nsnet: 'nsnet lib macvlan', peer: 'netavark macvlan' },
  // A bridge network with --ipv6 (one subnet per family); netavark with ipv6_enabled and two subnets.
  { row: 'dual-stack', nsnet: 'nsnet lib dual-stack', peer: 'netavark dual-stack' },
];

const ALL_METHODS: Record<string, Method> = {
  'nsnet lib': nsnetLib, 'nsnet lib, in-process DNS': nsnetLibInProcess, 'nsnet cli': nsnetCli, 'bash ip': bashIp, 'ip -batch': ipBatch, 'cni bridge': cniBridge,
  'cni bridge+portmap': cniBridgePortmap, 'nsnet cni': nsnetCniPlugin, 'netavark+aardvark': netavark,
  'nsnet lib macvlan': nsnetLibMacvlan, 'netavark macvlan': netavarkMacvlan,
  'nsnet lib dual-stack': nsnetLibDual, 'netavark dual-stack': netavarkDual,
};
// METHODS="nsnet lib,netavark+aardvark" runs a subset.
const METHODS = Object.fromEntries(Object.entries(ALL_METHODS).filter(([m]) => !process.env.METHODS || process.env.METHODS.split(',').includes(m)));

// ---- run -----------------------------------------------------------------------

const results: Record<string, Record<number, Run[]>> = saved?.results ?? Object.fromEntries(Object.keys(METHODS).map((m) => [m, {}]));
if (saved) for (const m of Object.keys(METHODS)) if (!results[m]) delete METHODS[m];
if (!REPORT_ONLY) await waitClean();
for (const n of REPORT_ONLY ? [] : NS) {
  const rounds = n === 1 ? Math.max(ROUNDS, 10) : ROUNDS;
  for (let r = 0; r < rounds; r++) {
    for (const m of Object.keys(METHODS).sort(() => Math.random() - 0.5)) {
      const work = mkdtempSync(`/run/nsnet-bench-${m.replace(/\W+/g, '')}-`);
      const run = await METHODS[m]!(n, work);
      await waitClean();
      (results[m]![n] ??= []).push(run);
      process.stderr.write(`  N=${String(n).padEnd(5)} round ${r + 1}/${rounds} ${m.padEnd(18)} setup p50 ${med(run.setup).toFixed(2)} ms, teardown p50 ${med(run.teardown).toFixed(2)} ms\n`);
    }
  }
}

// Published ports: the k-th port's element add, on one sandbox, through nsnet's firewall layer.
const portTimes: number[] = saved?.portTimes ?? [];
if (!REPORT_ONLY) {
  const work = mkdtempSync('/run/nsnet-bench-ports-');
  const { ctx, root } = await nsnetContext(work);
  await sandboxCreate(ctx, { name: 'ports', network: 'bench' });
  for (let k = 0; k < 1000; k++) {
    const t = performance.now();
    await addElements(ctx, portElements('add', [{ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 20000 + k, ip: '10.88.0.2', port: 1000 + k }]), 'bench');
    portTimes.push(performance.now() - t);
  }
  await sandboxRemove(ctx, ['ports'], { force: true });
  await stopDns(root);
  await networkRemove(ctx, ['bench']);
  await ctx.host.close();
  await waitClean();
}

// The DNS server against dnsmasq: bench/dns.ts in the same run (it prints its own table and goals).
let dnsReport: string | undefined = saved?.dnsReport;
if (!REPORT_ONLY && process.env.DNS_BENCH !== '0') {
  process.stderr.write('  DNS server against dnsmasq (bench/dns.ts)\n');
  const r = await execa('node_modules/.bin/tsx', ['bench/dns.ts'], {
    env: { ROUNDS: process.env.DNS_ROUNDS ?? '3', DURATION: process.env.DNS_DURATION ?? '5' }, stderr: 'inherit',
  });
  dnsReport = r.stdout.trim();
  await waitClean();
}

// Overlay networks (issue 17): bench/overlay.ts in the same run (three simulated hosts and an etcd
// cluster of its own, all removed when it ends; it prints its own table and goals).
let overlayReport: string | undefined = saved?.overlayReport;
if (!REPORT_ONLY && process.env.OVERLAY_BENCH !== '0') {
  process.stderr.write('  overlay networks on three hosts (bench/overlay.ts)\n');
  const r = await execa('node_modules/.bin/tsx', ['bench/overlay.ts'], {
    env: { BUILT: '1', SAMPLES: process.env.OVERLAY_SAMPLES ?? '20' }, stderr: 'inherit',
  });
  overlayReport = r.stdout.trim();
  await waitClean();
}

// CLI start-up, against Node's own.
async function startup(cmd: string, times = 20): Promise<number> {
  const out = await bash(Array.from({ length: times }, () => `s=$EPOCHREALTIME; ${cmd} >/dev/null; echo "t $s $EPOCHREALTIME"`).join('\n'));
  return med(spans(out, 't'));
}
const nodeStart: number = saved?.nodeStart ?? await startup('node -e 0');
const versionStart: number = saved?.versionStart ?? await startup(`node ${BIN} --version`);
if (saved) for (const [n, mb] of Object.entries(saved.dnsRss as Record<string, number>)) dnsRss.set(Number(n), mb);

// ---- report --------------------------------------------------------------------

const all = (m: string, n: number, k: 'setup' | 'teardown') => (results[m]?.[n] ?? []).flatMap((r) => r[k]);
const largest = Math.max(...NS);
const rows: string[] = [];
for (const n of NS) {
  rows.push(`\n### N = ${n}\n`, '| method | setup p50 ms | setup p90 ms | teardown p50 ms | setup ÷ nsnet lib | teardown ÷ nsnet lib |', '|---|---:|---:|---:|---:|---:|');
  const libS = med(all('nsnet lib', n, 'setup'));
  const libT = med(all('nsnet lib', n, 'teardown'));
  for (const m of Object.keys(METHODS)) {
    const s = all(m, n, 'setup');
    const t = all(m, n, 'teardown');
    rows.push(`| ${m} | ${med(s).toFixed(2)} | ${p90(s).toFixed(2)} | ${med(t).toFixed(2)} | ${(med(s) / libS).toFixed(1)}x | ${(med(t) / libT).toFixed(1)}x |`);
  }
}
const lib = all('nsnet lib', largest, 'setup');
const flat = (xs: number[]) => med(xs.slice(-10)) / med(xs.slice(5, 15));
const libSetup = med(all('nsnet lib', largest >= 100 ? 100 : largest, 'setup'));
// Each goal: what was measured, whether it is met, and if not, by how much it misses.
const atMost = (v: number, goal: number, unit: string) => (v <= goal ? '' : `over by ${(v - goal).toFixed(2)}${unit} (${(v / goal).toFixed(2)}x the goal)`);
const atLeast = (v: number, goal: number) => (v >= goal ? '' : `short by ${(goal / v).toFixed(2)}x (${v.toFixed(2)}x of ${goal}x)`);
const nv = (k: 'setup' | 'teardown') => med(all('netavark+aardvark', 100, k));
const libDown = med(all('nsnet lib', 100, 'teardown'));
// The library with the DNS server in its own process, where that method ran.
const IN = 'nsnet lib, in-process DNS';
const inSetup = results[IN]?.[100] ? med(all(IN, 100, 'setup')) : undefined;
const inDown = results[IN]?.[100] ? med(all(IN, 100, 'teardown')) : undefined;
const cli = med(all('nsnet cli', 100, 'setup'));
const goals: [string, string, string][] = [
  ['1. library path, full sandbox with DNS, median', `${libSetup.toFixed(2)} ms (N=100)`, atMost(libSetup, 3, ' ms')],
  ['   ... vs netavark+aardvark (>= 12x)', `${(nv('setup') / libSetup).toFixed(1)}x`, atLeast(nv('setup') / libSetup, 12)],
  ['   ... vs ip -batch (>= 1.8x)', `${(med(all('ip -batch', 100, 'setup')) / libSetup).toFixed(2)}x`, atLeast(med(all('ip -batch', 100, 'setup')) / libSetup, 1.8)],
  ...(inSetup !== undefined ? [
    ['   in-process DNS: median', `${inSetup.toFixed(2)} ms (N=100)`, atMost(inSetup, 3, ' ms')],
    ['   in-process DNS: vs netavark+aardvark (>= 12x)', `${(nv('setup') / inSetup).toFixed(1)}x`, atLeast(nv('setup') / inSetup, 12)],
    ['   in-process DNS: vs ip -batch (>= 1.8x)', `${(med(all('ip -batch', 100, 'setup')) / inSetup).toFixed(2)}x`, atLeast(med(all('ip -batch', 100, 'setup')) / inSetup, 1.8)],
  ] as [string, string, string][] : []),
  [`2. flat: last 10 ÷ 10th sandbox (N=${largest}, <= 1.3)`, `${flat(lib).toFixed(2)}`, atMost(flat(lib), 1.3, '')],
  ['   flat: 1000th ÷ 10th published port (<= 1.3)', `${flat(portTimes).toFixed(2)} (${med(portTimes.slice(5, 15)).toFixed(2)} -> ${med(portTimes.slice(-10)).toFixed(2)} ms)`, atMost(flat(portTimes), 1.3, '')],
  ['3. teardown per sandbox (<= 1 ms)', `${libDown.toFixed(2)} ms`, atMost(libDown, 1, ' ms')],
  ['   ... vs netavark (>= 30x)', `${(nv('teardown') / libDown).toFixed(1)}x`, atLeast(nv('teardown') / libDown, 30)],
  ...(inDown !== undefined ? [['   in-process DNS: teardown', `${inDown.toFixed(2)} ms, ${(nv('teardown') / inDown).toFixed(1)}x netavark`, atMost(inDown, 1, ' ms')]] as [string, string, string][] : []),
  ['4. CLI create <= node start + 15 ms', `${cli.toFixed(1)} ms vs node ${nodeStart.toFixed(1)} ms (+${(cli - nodeStart).toFixed(1)})`, atMost(cli, nodeStart + 15, ' ms')],
  ['   ... and no slower than netavark', `${(cli / nv('setup')).toFixed(2)}x netavark`, atMost(cli, nv('setup'), ' ms')],
  [`5. DNS server RSS at N=${largest} (< 100 MB)`, dnsRss.has(largest) ? `${dnsRss.get(largest)!.toFixed(0)} MB` : 'not measured (N < 1000)',
    dnsRss.has(largest) ? atMost(dnsRss.get(largest)!, 100, ' MB') : 'not measured'],
];
// nsnet as a CNI plugin against the reference chain and netavark (issue 14): the plugins' ADD and DEL alone,
// and each method's whole setup/teardown (netns add/del included) against netavark's.
const REF = 'cni bridge+portmap';
const cniRows: string[] = [];
if (METHODS['nsnet cni'] && METHODS[REF]) {
  const plug = (m: string, n: number, k: 'add' | 'del') => (results[m]?.[n] ?? []).flatMap((r) => r[k] ?? []);
  for (const n of NS) {
    const ns = (k: 'add' | 'del') => med(plug('nsnet cni', n, k));
    const ref = (k: 'add' | 'del') => med(plug(REF, n, k));
    cniRows.push(`\n### N = ${n}\n`, '| method | ADD p50 ms | ADD p90 ms | DEL p50 ms | DEL p90 ms | setup p50 ms | teardown p50 ms |', '|---|---:|---:|---:|---:|---:|---:|');
    for (const m of ['nsnet cni', REF, 'cni bridge', 'netavark+aardvark'].filter((x) => results[x]?.[n])) {
      const [a, d] = [plug(m, n, 'add'), plug(m, n, 'del')];
      const f = (x: number) => (Number.isNaN(x) ? '' : x.toFixed(2));
      cniRows.push(`| ${m} | ${f(med(a))} | ${f(p90(a))} | ${f(med(d))} | ${f(p90(d))} | ${med(all(m, n, 'setup')).toFixed(2)} | ${med(all(m, n, 'teardown')).toFixed(2)} |`);
    }
    const nvS = med(all('netavark+aardvark', n, 'setup'));
    const nvT = med(all('netavark+aardvark', n, 'teardown'));
    cniRows.push('', `- ADD: reference chain ÷ nsnet cni = ${(ref('add') / ns('add')).toFixed(2)}x (goal >= 1: ${ref('add') >= ns('add') ? 'met' : '**not met**'})`,
      `- DEL: reference chain ÷ nsnet cni = ${(ref('del') / ns('del')).toFixed(2)}x (goal >= 5: ${ref('del') >= 5 * ns('del') ? 'met' : '**not met**'})`,
      ...(results['netavark+aardvark']?.[n] ? [`- netavark setup ÷ nsnet cni setup = ${(nvS / med(all('nsnet cni', n, 'setup'))).toFixed(2)}x; netavark teardown ÷ nsnet cni teardown = ${(nvT / med(all('nsnet cni', n, 'teardown'))).toFixed(2)}x`] : []));
  }
}
// Other drivers (DRIVER_ROWS): against the bridge sandbox and beside netavark, where they ran.
/** Growth with N: the last 100 sandboxes' median ÷ that of sandboxes 6-105, per round; the median over rounds. */
const growth = (m: string, n: number) => med((results[m]?.[n] ?? []).filter((r) => r.setup.length >= 200).map((r) => med(r.setup.slice(-100)) / med(r.setup.slice(5, 105))));
const driverRows: string[] = [];
for (const d of DRIVER_ROWS.filter((x) => results[x.nsnet])) {
  const f = (x: number) => (Number.isNaN(x) ? 'n/a' : x.toFixed(2));
  driverRows.push(`\n### ${d.row}\n`, `| N | ${d.nsnet} setup p50 ms | ÷ nsnet lib (bridge) | teardown p50 ms | ÷ nsnet lib (bridge) | ${d.peer} setup p50 ms | teardown p50 ms | ${d.peer} ÷ ${d.nsnet}, setup |`,
    '|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const n of NS.filter((x) => results[d.nsnet]![x])) {
    const [s, t] = [med(all(d.nsnet, n, 'setup')), med(all(d.nsnet, n, 'teardown'))];
    const [bs, bt] = [med(all('nsnet lib', n, 'setup')), med(all('nsnet lib', n, 'teardown'))];
    const [ps, pt] = [med(all(d.peer, n, 'setup')), med(all(d.peer, n, 'teardown'))];
    driverRows.push(`| ${n} | ${f(s)} | ${f(s / bs)}x | ${f(t)} | ${f(t / bt)}x | ${f(ps)} | ${f(pt)} | ${f(ps / s)}x |`);
  }
  const ratios = NS.filter((x) => x >= 100).map((x) => [x, med(all(d.nsnet, x, 'setup')) / med(all('nsnet lib', x, 'setup'))] as const);
  const worst = Math.max(...ratios.map(([, r]) => r));
  const [flatD, flatB] = [flat(all(d.nsnet, largest, 'setup')), flat(all('nsnet lib', largest, 'setup'))];
  const [growD, growB] = [growth(d.nsnet, largest), growth('nsnet lib', largest)];
  driverRows.push('', `- setup ÷ the bridge sandbox's: ${ratios.map(([x, r]) => `${f(r)}x at N=${x}`).join(', ')} (goal <= 1.2: ${!ratios.length || Number.isNaN(worst) ? 'not measured' : worst <= 1.2 ? 'met' : '**not met**'})`,
    `- flat: last 100 ÷ sandboxes 6-105 at N=${largest}, median over rounds: ${f(growD)} (the bridge's in the same run: ${f(growB)}; goal <= 1.3: ${largest < 1000 || Number.isNaN(growD) ? 'not measured at 1000' : growD <= 1.3 ? 'met' : '**not met**'})`,
    `- the suite's goal-2 measure, last 10 ÷ 10th: ${f(flatD)} (bridge ${f(flatB)}): ten samples each, at the mercy of the machine's load`);
}
const report = [
  '# Benchmarks: nsnet against ip, CNI and netavark',
  '',
  `Generated by \`npm run bench\` (NS=${NS.join(',')}, ROUNDS=${ROUNDS}) on ${new Date().toISOString().slice(0, 10)}: ${(await execa('uname', ['-r'])).stdout}, Node ${process.version}, 2 vCPUs.`,
  'Per sandbox on one bridge; medians of per-sandbox times. See bench/suite.ts for what each method runs.',
  ...rows,
  '',
  ...(driverRows.length ? ['## Other drivers', '', 'Per sandbox, against the IPv4 bridge sandbox (`nsnet lib`) and beside netavark doing the same, in the same run. What runs: [macvlan.md](macvlan.md).', ...driverRows, ''] : []),
  ...(overlayReport ? ['## Overlay networks', '', 'A sandbox added to an overlay network (three simulated hosts, a three-member etcd cluster) on host 1, until the command returns and until hosts 2 and 3 hold its FDB and neighbour entries, against a local bridge sandbox on the same host, interleaved in the same run; `nsnet create` as users run it. Method and where the time goes: [overlay.md](overlay.md).', '', overlayReport, ''] : []),
  ...(cniRows.length ? ['## nsnet as a CNI plugin', '', `A process per plugin per ADD/DEL, as libcni runs a conflist; the reference chain is ${REF} (bridge + host-local + portmap). What runs, and where a DEL's time goes: [cni.md](cni.md).`, ...cniRows, ''] : []),
  '## Goals',
  '',
  '| goal | measured | |',
  '|---|---|---|',
  ...goals.map(([g, v, miss]) => `| ${g} | ${v} | ${miss ? `**not met**: ${miss}` : 'met'} |`),
  '',
  `CLI start-up: \`node -e 0\` ${nodeStart.toFixed(1)} ms, \`nsnet --version\` ${versionStart.toFixed(1)} ms, \`nsnet create\` ${med(all('nsnet cli', 100, 'setup')).toFixed(1)} ms (N=100 median).`,
  '',
  '![per-sandbox setup time](per-sandbox.svg)',
  '',
  ...(dnsReport ? ['## The DNS server against dnsmasq', '', 'bench/dns.ts, in the same run (setup and analysis: [dns.md](dns.md)):', '', dnsReport.replace(/^bench:dns\s+/, '').replace(/^goal:/gm, '- goal:'), ''] : []),
  'Where the time goes, and what is left: [analysis.md](analysis.md).',
  '',
];
writeFileSync('docs/bench/README.md', report.join('\n'));
writeFileSync('docs/bench/per-sandbox.svg', lineChart({
  title: 'Setup time per sandbox', xLabel: 'sandboxes on the bridge (N)', yLabel: 'ms per sandbox (median)',
  series: Object.keys(METHODS).map((m) => ({ name: m, points: NS.map((n) => ({ x: n, y: med(all(m, n, 'setup')) })) })),
}));
writeFileSync('docs/bench/results.json', JSON.stringify({ NS, ROUNDS, results, portTimes, nodeStart, versionStart, dnsRss: Object.fromEntries(dnsRss), ...(dnsReport && { dnsReport }), ...(overlayReport && { overlayReport }) }));
console.log(report.join('\n'));
