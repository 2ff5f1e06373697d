// Real CNI clients for the tests - containerd + ctr, Podman, and libcni itself
// (a small Go driver) - each running on a fake "node" inside the test sandbox.
//
// A node is a network namespace (cn-<tag>) plus a mount namespace of its own,
// held by one `sleep` process: tmpfs over /run, /var/lib, /var/tmp, /opt and
// /etc/cni, so every file a runtime writes (containerd's and Podman's state,
// libcni's result cache in /var/lib/cni, host-local's reservations, netns bind
// mounts in /run/netns) and the paths ctr insists on (the first file of
// /etc/cni/net.d, plugins in /opt/cni/bin) are the node's alone: nothing
// reaches the machine's disk, and test files running at once cannot see each
// other's. Commands for the node run with `nsenter -t HOLDER -m -n`; files are
// written through /proc/HOLDER/root. stop() kills every process left in the
// node's mount namespace (runtimes, shims, conmon), then the holder, then
// deletes the netns: the namespace's mounts and links go with them.
//
// The plugin chain is a parameter (Chain): the reference plugins today, nsnet
// later, with the same tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { linkGet, linkSet, netnsAdd, netnsDel, type Netns } from '../../src/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CACHE = path.join(ROOT, '.cache');

// ---------------------------------------------------------------------------
// Plugin chains

export interface ChainOptions {
  /** The network's name (the conflist's `name`; Podman's --network). */
  name: string;
  bridge: string;
  subnet: string;
}

/** A CNI plugin chain under test: its conflist and where its plugins live. */
export interface Chain {
  name: string;
  /** Directories searched for the plugins (CNI_PATH; the first is bound over /opt/cni/bin for ctr). */
  pluginDirs: string[];
  /** What the chain can do beyond the reference plugins (tests of the rest are skipped, visibly). */
  features: {
    /** Containers resolve each other by name (Podman's `aliases` capability, DNS at 127.0.0.11). */
    dnsByName: boolean;
    /** CNI 1.1's GC and STATUS. */
    gcStatus: boolean;
  };
  /** Where the chain's IPAM keeps one file per reserved address, on the node (checked empty after removal). */
  ipamDir?(network: string): string;
  /** Run once before the tests (installing the plugin). */
  prepare?(): Promise<void>;
  conflist(o: ChainOptions): Record<string, unknown>;
}

/** containernetworking-plugins 1.1.1 (Debian): bridge + host-local + portmap, CNI 1.0.0 (its newest). */
export const referenceChain: Chain = {
  name: 'reference',
  pluginDirs: ['/usr/lib/cni'],
  features: { dnsByName: false, gcStatus: false },
  ipamDir: (network) => `/var/lib/cni/networks/${network}`,
  conflist: (o) => ({
    cniVersion: '1.0.0',
    name: o.name,
    plugins: [
      {
        type: 'bridge',
        bridge: o.bridge,
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: o.subnet }]], routes: [{ dst: '0.0.0.0/0' }] },
      },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
    ],
  }),
};

/**
 * nsnet as the only plugin: `nsnet cni install --bin-dir` into .cache/cni-bin (bound over the node's
 * /opt/cni/bin, where ctr looks), with the reference plugins beside it for delegated IPAM and chaining.
 */
const NSNET_BIN_DIR = path.join(CACHE, 'cni-bin');
export const nsnetChain: Chain = {
  name: 'nsnet',
  pluginDirs: [NSNET_BIN_DIR, '/usr/lib/cni'],
  features: { dnsByName: true, gcStatus: true },
  async prepare() {
    mkdirSync(NSNET_BIN_DIR, { recursive: true });
    await execa('node', [path.join(ROOT, 'bin/nsnet.js'), 'cni', 'install', '--bin-dir', NSNET_BIN_DIR]);
  },
  conflist: (o) => ({
    cniVersion: '1.0.0',
    name: o.name,
    plugins: [
      {
        type: 'nsnet',
        bridge: o.bridge,
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: { type: 'nsnet', subnet: o.subnet },
        capabilities: { portMappings: true, ips: true, mac: true, aliases: true },
      },
    ],
  }),
};

/** Why the runtimes cannot run here (a program or package missing), or null. */
export function runtimesMissing(): string | null {
  const need: [string, string][] = [
    ['/usr/bin/podman', 'podman'],
    ['/usr/bin/containerd', 'containerd'],
    ['/usr/bin/ctr', 'containerd'],
    ['/usr/sbin/runc', 'runc'],
    ['/bin/busybox', 'busybox-static'],
    ['/usr/bin/go', 'golang-go'],
    ['/usr/share/gocode/src/github.com/containernetworking/cni/libcni', 'golang-github-appc-cni-dev'],
    ['/usr/lib/cni/bridge', 'containernetworking-plugins'],
    ['/etc/cni', 'podman'],
  ];
  const missing = [...new Set(need.filter(([f]) => !existsSync(f)).map(([, pkg]) => pkg))];
  return missing.length ? `needs ${missing.join(', ')} (run: sudo bash scripts/setup.sh)` : null;
}

// ---------------------------------------------------------------------------
// The node

type ExecOpts = { reject?: boolean; timeout?: number; input?: string; env?: Record<string, string> };

export class CniNode {
  /** Processes this node started in the background (containerd, `ctr run`): stopped by stop(). */
  private readonly bg = new Set<ChildProcess>();

  private constructor(
    readonly ns: Netns,
    readonly tag: string,
    private readonly holder: ChildProcess,
    readonly pid: number,
  ) {}

  get name(): string {
    return this.ns.name!;
  }

  /** The cgroup every container of this node goes under (runc with cgroupfs, in each hierarchy): removed by stop(). */
  get cgroup(): string {
    return `/nsnet-cni-${this.tag}`;
  }

  /** Makes a node: netns cn-<tag> with lo up, and its private mounts (plugins of `pluginDir` on /opt/cni/bin). */
  static async make(tag: string, pluginDir: string): Promise<CniNode> {
    if (!existsSync('/etc/cni')) throw new Error('/etc/cni is missing (a mount point for the node): sudo bash scripts/setup.sh');
    const ns = await netnsAdd(`cn-${tag}`);
    try {
      await linkSet(ns, await linkGet(ns, 'lo'), { up: true });
      const script = [
        'set -e',
        'mount -t tmpfs -o mode=755 cni-node-run /run',
        'mkdir -p /run/netns /run/lock',
        'for d in /var/lib /var/tmp /opt /etc/cni; do mount -t tmpfs -o mode=755 cni-node "$d"; done',
        'mkdir -p /etc/cni/net.d /opt/cni/bin /var/lib/cni /var/tmp/podman',
        'mount --bind "$1" /opt/cni/bin',
        'echo ready',
        'exec sleep infinity',
      ].join('\n');
      const holder = spawn(
        'nsenter',
        [`--net=/run/netns/${ns.name}`, '--', 'unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'cni-node', pluginDir],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let err = '';
      holder.stderr!.on('data', (d) => (err += d));
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.on('data', (d) => String(d).includes('ready') && resolve());
        holder.on('exit', (code) => reject(new Error(`cni node ${ns.name}: set-up failed (exit ${code}): ${err.trim()}`)));
      });
      return new CniNode(ns, tag, holder, holder.pid!);
    } catch (e) {
      await netnsDel(ns).catch(() => {});
      throw e;
    }
  }

  /** A path of the node's file system, seen from the test process. */
  path(p: string): string {
    return `/proc/${this.pid}/root${p}`;
  }

  write(p: string, text: string): void {
    mkdirSync(path.dirname(this.path(p)), { recursive: true });
    writeFileSync(this.path(p), text);
  }

  /** The command prefix that runs a program on the node (CniRuntime's `wrap`: plugins run as the node's runtime runs them). */
  get enter(): string[] {
    return ['/usr/bin/nsenter', '-t', String(this.pid), '-m', '-n', '--'];
  }

  /** Runs a command on the node (its network and mount namespaces). */
  exec(cmd: string[], o: ExecOpts = {}) {
    return execa('nsenter', ['-t', String(this.pid), '-m', '-n', '--', ...cmd], {
      reject: o.reject ?? true,
      timeout: o.timeout ?? 30_000,
      env: o.env,
      ...(o.input !== undefined ? { input: o.input } : { stdin: 'ignore' as const }),
    });
  }

  /** Starts a long-running command on the node; stop() ends it if the test did not. */
  spawn(cmd: string[], env?: Record<string, string>): ResultPromise {
    const p = execa('nsenter', ['-t', String(this.pid), '-m', '-n', '--', ...cmd], { reject: false, stdin: 'ignore', env });
    const child = p as unknown as ChildProcess;
    this.bg.add(child);
    void p.finally(() => this.bg.delete(child));
    return p;
  }

  /** Writes a chain's conflist as the node's first (and only) file in /etc/cni/net.d; returns its node path. */
  writeConflist(list: Record<string, unknown>): string {
    const p = `/etc/cni/net.d/10-${String(list.name)}.conflist`;
    this.write(p, JSON.stringify(list, null, 2) + '\n');
    return p;
  }

  /** Pids of the processes in this node's mount namespace (the holder included). */
  processes(): number[] {
    const mine = readlinkSync(`/proc/${this.pid}/ns/mnt`);
    const out: number[] = [];
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        if (readlinkSync(`/proc/${d}/ns/mnt`) === mine) out.push(Number(d));
      } catch {
        // gone meanwhile
      }
    }
    return out;
  }

  /** Ends every process of the node, then the node itself. Safe to call twice. */
  async stop(): Promise<void> {
    for (const c of this.bg) c.kill('SIGTERM');
    await Promise.all([...this.bg].map((c) => waitExit(c, 5000)));
    if (this.holder.exitCode === null && this.holder.signalCode === null) {
      for (const pid of this.processes()) if (pid !== this.pid) kill(pid, 'SIGKILL');
      this.holder.kill('SIGKILL');
      await waitExit(this.holder, 5000);
    }
    removeCgroups(this.cgroup);
    await netnsDel(this.ns).catch(() => {});
  }
}

/** Removes an (empty) cgroup tree from every mounted hierarchy, deepest first (cgroup v1 and v2). */
function removeCgroups(rel: string): void {
  const roots: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    const type = f[f.indexOf('-') + 1];
    if (type === 'cgroup' || type === 'cgroup2') roots.push(f[4]!);
  }
  const rmTree = (dir: string): void => {
    let entries: string[] = [];
    try {
      entries = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      return;
    }
    for (const e of entries) rmTree(path.join(dir, e));
    try {
      rmdirSync(dir);
    } catch {
      // not empty yet (a process still in it) or gone: nothing more to do here
    }
  };
  for (const r of roots) rmTree(path.join(r, rel));
}

function kill(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

function waitExit(c: ChildProcess, ms: number): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      c.kill('SIGKILL');
      resolve();
    }, ms);
    c.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

async function until<T>(what: string, ms: number, f: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---------------------------------------------------------------------------
// The image: busybox-static, built offline by scripts/cni-image.sh (cached in .cache/)

export async function busyboxImage(): Promise<{ tar: string; name: string }> {
  const r = await execa('bash', [path.join(ROOT, 'scripts/cni-image.sh')]);
  const [tar, name] = r.stdout.trim().split('\n');
  return { tar: tar!, name: name! };
}

// ---------------------------------------------------------------------------
// containerd + ctr

export interface CtrTask {
  id: string;
  /** The task's init pid (its /proc/PID/ns/net is the pod's network namespace). */
  pid: number;
  /** ms from `ctr run` to the task running (CNI ADD included when --cni). */
  ms: number;
}

/**
 * containerd 1.6 on a node: state on the node's tmpfs, only the task/runtime
 * plugins that ctr needs (CRI is disabled: it would want its own CNI set-up).
 */
export class Containerd {
  private readonly runs = new Map<string, ResultPromise>();
  readonly sock = '/run/containerd/containerd.sock';

  private constructor(readonly node: CniNode, private readonly daemon: ResultPromise, readonly image: string) {}

  static async start(node: CniNode, image: { tar: string; name: string }): Promise<Containerd> {
    node.write(
      '/run/containerd-test/config.toml',
      [
        'version = 2',
        'root = "/var/lib/containerd"',
        'state = "/run/containerd"',
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
        '[plugins."io.containerd.internal.v1.opt"]',
        '  path = "/var/lib/containerd-opt"',
        '',
      ].join('\n'),
    );
    const daemon = node.spawn(['containerd', '--config', '/run/containerd-test/config.toml', '--address', '/run/containerd/containerd.sock', '--log-level', 'warn']);
    const c = new Containerd(node, daemon, image.name);
    await until('containerd to answer', 20_000, async () => ((await c.ctr(['version'], { reject: false })).exitCode === 0 ? true : undefined));
    await c.ctr(['images', 'import', image.tar], { timeout: 60_000 });
    return c;
  }

  ctr(args: string[], o: ExecOpts = {}) {
    return this.node.exec(['ctr', '--address', this.sock, ...args], o);
  }

  /**
   * `ctr run --rm` in the background (not -d: only a foreground `ctr run --rm --cni`
   * sends DEL when the task ends; a detached one removed with task rm / container rm
   * gets no DEL at all). `withNs`: join that network namespace (a pod's second
   * container) instead of making one.
   */
  async run(id: string, cmd: string[], o: { cni?: boolean; withNs?: string } = {}): Promise<CtrTask> {
    const t0 = performance.now();
    const args = ['ctr', '--address', this.sock, 'run', '--rm', '--cgroup', `${this.node.cgroup}/${id}`];
    if (o.cni) args.push('--cni');
    if (o.withNs) args.push('--with-ns', `network:${o.withNs}`);
    const p = this.node.spawn([...args, this.image, id, ...cmd]);
    this.runs.set(id, p);
    const pid = await until(`ctr task ${id} to run`, 30_000, async () => {
      if ((p as unknown as ChildProcess).exitCode !== null) {
        const r = await p;
        throw new Error(`ctr run ${id} exited ${r.exitCode}: ${String(r.stderr).trim()}`);
      }
      const ls = await this.ctr(['task', 'ls'], { reject: false });
      const line = String(ls.stdout).split('\n').find((l) => l.split(/\s+/)[0] === id && /RUNNING/.test(l));
      return line ? Number(line.split(/\s+/)[1]) : undefined;
    });
    return { id, pid, ms: performance.now() - t0 };
  }

  /** Kills a task and waits for its `ctr run --rm` to remove it (and, with --cni, to send DEL). */
  async rm(id: string): Promise<{ ms: number }> {
    const t0 = performance.now();
    await this.ctr(['task', 'kill', '-s', 'SIGKILL', id], { reject: false });
    const p = this.runs.get(id);
    if (p) {
      await Promise.race([p, new Promise((r) => setTimeout(r, 20_000))]);
      this.runs.delete(id);
    }
    // A run that did not clean up (killed, timed out): remove what is left.
    await this.ctr(['task', 'rm', '-f', id], { reject: false });
    await this.ctr(['container', 'rm', id], { reject: false });
    return { ms: performance.now() - t0 };
  }

  async stop(): Promise<void> {
    for (const id of [...this.runs.keys()]) await this.rm(id).catch(() => {});
    (this.daemon as unknown as ChildProcess).kill('SIGTERM');
    await Promise.race([this.daemon, new Promise((r) => setTimeout(r, 5000))]);
  }
}

// ---------------------------------------------------------------------------
// Podman

/** Podman 4 with network_backend "cni" on a node: runc, cgroupfs, vfs, state on the node's tmpfs. */
export class Podman {
  private constructor(readonly node: CniNode, readonly image: string) {}

  static readonly CONF = '/run/podman-test/containers.conf';

  static async start(node: CniNode, chain: Chain, image: { tar: string; name: string }): Promise<Podman> {
    node.write(
      Podman.CONF,
      [
        '[network]',
        'network_backend = "cni"',
        `cni_plugin_dirs = ${JSON.stringify(chain.pluginDirs)}`,
        'network_config_dir = "/etc/cni/net.d"',
        '[engine]',
        'runtime = "runc"',
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        'events_logfile_path = "/run/podman-test/events.log"',
        'tmp_dir = "/run/podman-test/tmp"',
        'image_copy_tmp_dir = "/var/tmp/podman"',
        '',
      ].join('\n'),
    );
    const p = new Podman(node, image.name);
    await p.podman(['load', '-q', '-i', image.tar], { timeout: 60_000 });
    return p;
  }

  podman(args: string[], o: ExecOpts = {}) {
    const base = ['podman', '--root', '/var/lib/containers/storage', '--runroot', '/run/containers/storage', '--storage-driver', 'vfs'];
    return this.node.exec([...base, ...args], { ...o, env: { CONTAINERS_CONF: Podman.CONF, ...o.env } });
  }

  /** `podman run -d --name NAME OPTS... IMAGE CMD...`; returns the container id and the ms it took. */
  async run(name: string, opts: string[], cmd: string[]): Promise<{ id: string; ms: number }> {
    const t0 = performance.now();
    const r = await this.podman(['run', '-d', '--cgroup-parent', this.node.cgroup, '--name', name, ...opts, this.image, ...cmd], { reject: false });
    if (r.exitCode !== 0) throw new Error(`podman run ${name} -> exit ${r.exitCode}: ${String(r.stderr).trim()}`);
    return { id: String(r.stdout).trim(), ms: performance.now() - t0 };
  }

  /** `podman rm -f -t 0` (busybox as PID 1 ignores SIGTERM: no 10 s wait). */
  async rm(...names: string[]): Promise<{ ms: number }> {
    const t0 = performance.now();
    await this.podman(['rm', '-f', '-t', '0', ...names]);
    return { ms: performance.now() - t0 };
  }

  async stop(): Promise<void> {
    await this.podman(['rm', '-a', '-f', '-t', '0'], { reject: false });
  }
}

// ---------------------------------------------------------------------------
// libcni: test/cni-driver (Go), built offline into .cache/

const DRIVER_SRC = path.join(ROOT, 'test/cni-driver/main.go');
const DRIVER_BIN = path.join(CACHE, 'cni-driver');

/** Builds the driver when missing or older than its source (Debian's golang-go + golang-github-appc-cni-dev). */
export async function buildCniDriver(): Promise<string> {
  if (existsSync(DRIVER_BIN) && statSync(DRIVER_BIN).mtimeMs >= statSync(DRIVER_SRC).mtimeMs) return DRIVER_BIN;
  if (!existsSync('/usr/share/gocode/src/github.com/containernetworking/cni/libcni')) {
    throw new Error('libcni source missing: sudo bash scripts/setup.sh (golang-github-appc-cni-dev)');
  }
  mkdirSync(CACHE, { recursive: true });
  await execa('go', ['build', '-o', DRIVER_BIN, '.'], {
    cwd: path.dirname(DRIVER_SRC),
    env: { GOPATH: '/usr/share/gocode', GO111MODULE: 'off', GOPROXY: 'off', GOFLAGS: '', GOCACHE: path.join(CACHE, 'go-build') },
    timeout: 300_000,
  });
  return DRIVER_BIN;
}

export interface DriverRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The libcni call alone, as the driver timed it. */
  ms: number;
  /** The result (add), the version map (version) or the plugin's error JSON, when stdout had one. */
  json?: any;
}

/** Runs the libcni driver on a node: `command` for container `id` in `netns`, with the conflist at node path `conflist`. */
export async function cniDriver(
  node: CniNode,
  chain: Chain,
  command: 'add' | 'check' | 'del' | 'validate' | 'version' | 'gc' | 'status',
  o: { conflist: string; id?: string; netns?: string; ifname?: string; cap?: object; args?: string; valid?: object[] },
): Promise<DriverRun> {
  const argv = [DRIVER_BIN, '-conflist', o.conflist, '-path', chain.pluginDirs.join(':'), '-cache', '/var/lib/cni'];
  if (o.id) argv.push('-id', o.id);
  if (o.netns) argv.push('-netns', o.netns);
  if (o.ifname) argv.push('-ifname', o.ifname);
  if (o.cap) argv.push('-cap', JSON.stringify(o.cap));
  if (o.args) argv.push('-args', o.args);
  if (o.valid) argv.push('-valid', JSON.stringify(o.valid));
  const r = await node.exec([...argv, command], { reject: false, env: {} });
  const stderr = String(r.stderr);
  const ms = Number(/elapsed_ms ([\d.]+)/.exec(stderr)?.[1] ?? NaN);
  const stdout = String(r.stdout).trim();
  let json: any;
  try {
    json = stdout ? JSON.parse(stdout) : undefined;
  } catch {
    json = undefined;
  }
  return { code: r.exitCode ?? -1, stdout, stderr, ms, json };
}

// ---------------------------------------------------------------------------
// Oracles

/** The node's links, by name (`ip -j link`). */
export async function nodeLinks(node: CniNode): Promise<string[]> {
  const r = await node.exec(['ip', '-j', 'link', 'show']);
  return (JSON.parse(String(r.stdout) || '[]') as { ifname: string }[]).map((l) => l.ifname);
}

/** Named network namespaces on the node (Podman's netns-<uuid>). */
export function nodeNetns(node: CniNode): string[] {
  try {
    return readdirSync(node.path('/run/netns'));
  } catch {
    return [];
  }
}

/** The addresses a chain's IPAM still reserves on the node (its ipamDir must exist: it was used). */
export function ipamReservations(node: CniNode, chain: Chain, network: string): string[] {
  if (!chain.ipamDir) return [];
  return readdirSync(node.path(chain.ipamDir(network))).filter((f) => /^[\d.]+$|:/.test(f));
}

/** The node's nftables ruleset as text (the reference plugins write it through iptables-nft). */
export async function nodeRuleset(node: CniNode): Promise<string> {
  return String((await node.exec(['nft', 'list', 'ruleset'])).stdout);
}

/** One HTTP/1.0 GET with busybox nc from inside a container (busybox wget crashes on NSS when static). */
export const NC_GET = (ip: string, port: number) => ['sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${ip} ${port}`];

/** The body of an HTTP response, trimmed. */
export function body(resp: string): string {
  const i = resp.indexOf('\r\n\r\n');
  return i < 0 ? '' : resp.slice(i + 4).trim();
}
