// A fake machine for CLI tests: its own "host" network namespace, its own
// nsnet state directory and /etc/netns directory. The CLI runs with
// `nsenter --net=` into that namespace (not `ip netns exec`, whose private
// mount namespace would swallow the namespaces nsnet creates), so to nsnet
// the test namespace *is* the host. Several test files can run at once.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type Result } from 'execa';
import { linkGet, linkSet, netnsAdd, netnsDel, netnsList, type Netns } from '../../src/index.js';
import { alive } from './kernel.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/nsnet.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class TestHost {
  readonly root: string;
  readonly etc: string;
  /** Sandbox names this test used: removed at cleanup even if the CLI failed. */
  readonly names = new Set<string>();

  private constructor(readonly ns: Netns, readonly tag: string) {
    this.root = mkdtempSync(path.join(tmpdir(), `nsnet-${tag}-`));
    this.etc = path.join(this.root, 'etc-netns');
    // The "host's" resolv.conf: the fake WAN's DNS server (test/helpers/wan.ts), never the machine's own.
    this.resolvConf = path.join(this.root, 'resolv.conf');
    writeFileSync(this.resolvConf, 'search example.test\nnameserver 203.0.113.53\n');
  }

  readonly resolvConf: string;

  get name(): string {
    return this.ns.name!;
  }

  static async make(tag: string): Promise<TestHost> {
    const ns = await netnsAdd(`h-${tag}`);
    await linkSet(ns, await linkGet(ns, 'lo'), { up: true });
    return new TestHost(ns, tag);
  }

  /** A sandbox name unique to this test (netns names are global). */
  sb(base: string): string {
    const n = `${base}-${this.tag}`;
    this.names.add(n);
    return n;
  }

  /** Runs `nsnet ARGS...` as this host. */
  async nsnet(args: string[], o: { input?: string; timeout?: number; env?: Record<string, string>; umask?: string } = {}): Promise<CliResult> {
    const cmd = ['nsenter', `--net=/run/netns/${this.name}`, '--', 'node', BIN, '--root', this.root, ...args];
    // `umask`: run under that umask (what the processes nsnet starts inherit too).
    const [file, ...argv] = o.umask ? ['sh', '-c', `umask ${o.umask} && exec "$@"`, 'sh', ...cmd] : cmd;
    const r: Result = await execa(file!, argv, {
      reject: false,
      env: { NSNET_ETC_NETNS: this.etc, NSNET_RESOLV_CONF: this.resolvConf, NODE_EXTRA_CA_CERTS: '', ...o.env },
      timeout: o.timeout ?? 20_000,
      ...(o.input !== undefined ? { input: o.input } : { stdin: 'ignore' }),
    });
    return { code: r.exitCode ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  }

  /** Like nsnet(), but fails the test on a non-zero exit. */
  async ok(args: string[]): Promise<string> {
    const r = await this.nsnet(args);
    if (r.code !== 0) throw new Error(`nsnet ${args.join(' ')} -> exit ${r.code}\n${r.stderr}`);
    return r.stdout.trim();
  }

  /** Runs a command in this host namespace (the oracle side: ip, nft, curl, ping). */
  run(cmd: string[], o: { reject?: boolean; timeout?: number } = {}) {
    return execa('nsenter', [`--net=/run/netns/${this.name}`, '--', ...cmd], { reject: o.reject ?? false, timeout: o.timeout ?? 10_000 });
  }

  /** The pid of this host's DNS server, as its pid file says (it may be dead). */
  dnsPid(): number | undefined {
    return this.pidFile('dns.pid');
  }

  /** The pid of this host's DNS supervisor, as its pid file says (it may be dead). */
  supervisorPid(): number | undefined {
    return this.pidFile('dns-supervisor.pid');
  }

  private pidFile(name: string): number | undefined {
    try {
      return Number(readFileSync(path.join(this.root, 'run', name), 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * This host's live DNS server, standby and supervisor processes: their command line names this
   * host's --root (`nsnet dns (supervisor) --root R` once titled, `node .../nsnet.js --root R dns` before).
   */
  procs(): { pid: number; args: string }[] {
    const mine: { pid: number; args: string }[] = [];
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const args = readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
        if (!args.includes(`--root ${this.root} `) && !args.endsWith(`--root ${this.root}`)) continue;
        if (/^nsnet dns\b/.test(args) || /nsnet\.js .*\bdns( |$)/.test(args)) mine.push({ pid: Number(d), args });
      } catch {
        // gone meanwhile
      }
    }
    return mine;
  }

  /**
   * Stops this host's DNS server and its supervisor and waits until both are
   * gone. SIGTERM goes to the supervisor if there is one (a clean stop of
   * both), else to the server; SIGKILL goes to both (supervisor first).
   */
  async stopDns(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const live = this.procs().map((p) => p.pid);
    const sup = live.find((pid) => pid === this.supervisorPid());
    const targets = signal === 'SIGKILL' ? [sup, ...live.filter((p) => p !== sup)] : [sup ?? live.find((pid) => pid === this.dnsPid())];
    const killed = new Set<number>();
    const kill = (pid: number | undefined) => {
      if (pid === undefined) return;
      killed.add(pid);
      try {
        process.kill(pid, signal);
      } catch {
        // gone already
      }
    };
    for (const pid of targets) kill(pid);
    for (let i = 0; i < 250; i++) {
      // SIGKILL: every server of this host, also one its supervisor started between the first look
      // and its own death (a restart's new standby), which would otherwise serve on.
      if (signal === 'SIGKILL') for (const p of this.procs()) if (!killed.has(p.pid)) kill(p.pid);
      if (![...killed, ...live].some(alive)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    // A clean stop may take longer on a loaded machine (the callers check what is left); a kill may not.
    if (signal === 'SIGKILL') throw new Error(`stopDns(SIGKILL): still running after 5 s: ${[...killed, ...live].filter(alive).join(', ')}`);
  }

  async cleanup(): Promise<void> {
    const ids = (await this.nsnet(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
    if (ids.length) await this.nsnet(['rm', '-f', ...ids]);
    await this.stopDns();
    for (const n of await netnsList()) if (this.names.has(n)) await netnsDel(n).catch(() => {});
    await netnsDel(this.ns).catch(() => {});
    rmSync(this.root, { recursive: true, force: true });
  }
}
