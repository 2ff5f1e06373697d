// Three (or more) simulated hosts on one LAN, each running its own nsnet and a
// member of one etcd cluster: the test bed of multi-host overlay networks.
//
//                 lan-<tag>: bridge br0 (the underlay LAN, 198.51.100.0/24)
//     ┌──────────────────┬───────────┴──────┬──────────────────┐
//   host 1             host 2             host 3          the test (sandbox's own namespace)
//   lan0 198.51.100.1  lan0 198.51.100.2  lan0 198.51.100.3  ul-<tag> 198.51.100.254
//   etcd h1            etcd h2            etcd h3
//   :2379 client, :2380 peer, data in the host's /var/lib/etcd (a tmpfs of its own)
//
// A host is a CniNode (runtimes.ts): a network namespace and a mount namespace
// with tmpfs over /run (so /run/netns and /run/nsnet), /var/lib (so
// /var/lib/nsnet) and /etc/netns - three nsnet instances side by side, none
// seeing another's state. The test's own namespace is on the LAN too
// (198.51.100.254), so a test can read the store directly.
import { execa, type ResultPromise } from 'execa';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CniNode } from './runtimes.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const NSNET = path.join(ROOT, 'bin/nsnet.js');
export const ETCD = '/usr/bin/etcd';
export const ETCDCTL = '/usr/bin/etcdctl';

export const UNDERLAY = {
  subnet: '198.51.100.0/24',
  prefixlen: 24,
  host: (i: number) => `198.51.100.${i}`,
  /** The test process's own address on the LAN. */
  test: '198.51.100.254',
} as const;

/** Why the cluster cannot run here, or null. */
export function clusterMissing(): string | null {
  const missing = [[ETCD, 'etcd-server'], [ETCDCTL, 'etcd-client']].filter(([f]) => !existsSync(f!)).map(([, p]) => p);
  return missing.length ? `needs ${missing.join(', ')} (run: sudo bash scripts/setup.sh --test)` : null;
}

export interface ClusterHost {
  /** 1-based. */
  index: number;
  node: CniNode;
  /** The underlay address (etcd member, VXLAN endpoint). */
  address: string;
  /** The etcd member's name (h1, h2, ...). */
  member: string;
  /** The running etcd member, or undefined when stopped. */
  etcd?: ResultPromise;
}

type RunOpts = { reject?: boolean; timeout?: number; env?: Record<string, string>; input?: string };

export class Cluster {
  private constructor(
    readonly tag: string,
    readonly lan: string,
    readonly hosts: ClusterHost[],
  ) {}

  /** `etcd://198.51.100.1:2379,198.51.100.2:2379,...`: every member, as a user would configure it. */
  get storeUrl(): string {
    return `etcd://${this.hosts.map((h) => `${h.address}:2379`).join(',')}`;
  }

  /**
   * Makes the LAN and the hosts (no etcd yet: startEtcd). On failure, whatever was made is removed.
   * `pluginDir`: the hosts' /opt/cni/bin (default: the reference plugins).
   */
  static async make(tag: string, n = 3, o: { pluginDir?: string } = {}): Promise<Cluster> {
    const lan = `lan-${tag}`;
    const ip = (...a: string[]) => execa('ip', a);
    await ip('netns', 'add', lan);
    const c = new Cluster(tag, lan, []);
    try {
      await ip('-n', lan, 'link', 'set', 'lo', 'up');
      await ip('-n', lan, 'link', 'add', 'br0', 'type', 'bridge');
      await ip('-n', lan, 'link', 'set', 'br0', 'up');
      // The test's own leg on the LAN.
      await ip('link', 'add', `ul-${tag}`.slice(0, 15), 'type', 'veth', 'peer', 'name', 'test0', 'netns', lan);
      await ip('-n', lan, 'link', 'set', 'test0', 'master', 'br0', 'up');
      await ip('addr', 'add', `${UNDERLAY.test}/${UNDERLAY.prefixlen}`, 'dev', `ul-${tag}`.slice(0, 15));
      await ip('link', 'set', `ul-${tag}`.slice(0, 15), 'up');
      for (let i = 1; i <= n; i++) {
        const node = await CniNode.make(`${tag}${i}`, o.pluginDir ?? '/usr/lib/cni', { tmpfs: ['/etc/netns'] });
        const h: ClusterHost = { index: i, node, address: UNDERLAY.host(i), member: `h${i}` };
        c.hosts.push(h);
        await ip('-n', lan, 'link', 'add', `h${i}`, 'type', 'veth', 'peer', 'name', 'lan0', 'netns', node.name);
        await ip('-n', lan, 'link', 'set', `h${i}`, 'master', 'br0', 'up');
        await ip('-n', node.name, 'addr', 'add', `${h.address}/${UNDERLAY.prefixlen}`, 'dev', 'lan0');
        await ip('-n', node.name, 'link', 'set', 'lan0', 'up');
        await node.exec(['mkdir', '-p', '/var/lib/nsnet', '/run/nsnet', '/var/lib/etcd']);
      }
      return c;
    } catch (e) {
      await c.stop();
      throw e;
    }
  }

  /** etcd's flags for member `h`: this cluster's members, short raft timers (a LAN of veths), data on the host's tmpfs. */
  private etcdArgs(h: ClusterHost): string[] {
    const peers = this.hosts.map((x) => `${x.member}=http://${x.address}:2380`).join(',');
    return [
      '--name', h.member,
      '--data-dir', `/var/lib/etcd/${h.member}`,
      '--listen-client-urls', `http://${h.address}:2379,http://127.0.0.1:2379`,
      '--advertise-client-urls', `http://${h.address}:2379`,
      '--listen-peer-urls', `http://${h.address}:2380`,
      '--initial-advertise-peer-urls', `http://${h.address}:2380`,
      '--initial-cluster', peers,
      '--initial-cluster-token', `nsnet-${this.tag}`,
      '--initial-cluster-state', 'new',
      '--heartbeat-interval', '50',
      '--election-timeout', '500',
      '--log-level', 'warn',
    ];
  }

  /** Starts the members (all by default; a stopped one comes back with its data) and waits until they serve with a leader. */
  async startEtcd(which: ClusterHost[] = this.hosts): Promise<void> {
    for (const h of which) {
      if (h.etcd) continue;
      const p = h.node.spawn([ETCD, ...this.etcdArgs(h)]);
      h.etcd = p;
      void p.finally(() => {
        if (h.etcd === p) h.etcd = undefined;
      });
    }
    await Promise.all(which.map((h) => this.waitHealthy(h)));
  }

  /** Until member `h` answers `endpoint health` (a committed read: it has a leader). */
  async waitHealthy(h: ClusterHost, ms = 30_000): Promise<void> {
    const end = Date.now() + ms;
    let last = '';
    while (Date.now() < end) {
      if (!h.etcd) throw new Error(`etcd member ${h.member} exited while starting: ${last}`);
      const r = await h.node.exec([ETCDCTL, '--endpoints', `http://${h.address}:2379`, '--dial-timeout', '1s', '--command-timeout', '2s', 'endpoint', 'health'], { reject: false, env: { ETCDCTL_API: '3' } });
      if (r.exitCode === 0) return;
      last = `${String(r.stdout)} ${String(r.stderr)}`.trim();
      await new Promise((res) => setTimeout(res, 200));
    }
    throw new Error(`etcd member ${h.member} not healthy after ${ms} ms: ${last}`);
  }

  /** Stops one member (SIGTERM, as an operator would), and waits for it to exit. */
  async stopEtcd(h: ClusterHost): Promise<void> {
    const p = h.etcd;
    if (!p) return;
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    await p.catch(() => {});
    clearTimeout(t);
    h.etcd = undefined;
  }

  async stopAllEtcd(): Promise<void> {
    await Promise.all(this.hosts.map((h) => this.stopEtcd(h)));
  }

  /** etcdctl on host `h` (v3 API, against every member): `etcdctl(h, 'get', '--prefix', '/nsnet/')`. */
  etcdctl(h: ClusterHost, ...args: string[]) {
    const endpoints = this.hosts.map((x) => `http://${x.address}:2379`).join(',');
    return h.node.exec([ETCDCTL, '--endpoints', endpoints, ...args], { env: { ETCDCTL_API: '3' }, reject: false });
  }

  /**
   * nsnet on host `h`, with the host's own state (its /var/lib/nsnet, /run/nsnet, /etc/netns) and,
   * unless `store: false`, the cluster store in NSNET_CLUSTER_STORE.
   */
  nsnet(h: ClusterHost, args: string[], o: RunOpts & { store?: boolean } = {}) {
    const env: Record<string, string> = {
      NSNET_DATA_DIR: '/var/lib/nsnet', NSNET_RUN_DIR: '/run/nsnet', NSNET_ETC_NETNS: '/etc/netns',
      ...(o.store !== false && { NSNET_CLUSTER_STORE: this.storeUrl }),
      ...o.env,
    };
    return h.node.exec([process.execPath, NSNET, ...args], { reject: o.reject ?? false, timeout: o.timeout ?? 60_000, env, ...(o.input !== undefined && { input: o.input }) });
  }

  /** A node program on host `h` (a helper script, with the host's environment). */
  node(h: ClusterHost, args: string[], o: RunOpts = {}) {
    return h.node.exec([process.execPath, ...args], { reject: o.reject ?? false, timeout: o.timeout ?? 60_000, ...(o.env && { env: o.env }), ...(o.input !== undefined && { input: o.input }) });
  }

  /** Kills every member and process of the hosts, removes them and the LAN. Safe to call twice. */
  async stop(): Promise<void> {
    for (const h of this.hosts) h.etcd?.kill('SIGKILL');
    for (const h of this.hosts.splice(0)) await h.node.stop();
    await execa('ip', ['link', 'del', `ul-${this.tag}`.slice(0, 15)]).catch(() => {});
    await execa('ip', ['netns', 'del', this.lan]).catch(() => {});
  }
}
