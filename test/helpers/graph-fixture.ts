// Records for `nsnet graph` without a kernel: a busy host with 30 sandboxes on
// two networks, plus --network host, none and container: ones, published
// ports, the uplink and the DNS server's ports. Used by the layout's unit test,
// the Chromium test and scripts/graph-pngs.sh (docs/graph/30-sandboxes.png).
import type { NetworkRecord, SandboxRecord } from '../../src/docker/types.js';
import type { HostFacts } from '../../src/graph/topology.js';

export const net = (id: string, name: string, bridge: string, subnet: string, extra: Partial<NetworkRecord> = {}): NetworkRecord => ({
  id, name, driver: 'bridge', created: '', builtin: false, internal: false, options: {}, labels: {}, bridge, subnet,
  gateway: subnet.replace(/0\/\d+$/, '1'), ...extra,
});

const hex = (n: number, len: number) => n.toString(16).padStart(len, '0');

export const sb = (name: string, networkId: string, ip: string, extra: Partial<SandboxRecord> = {}): SandboxRecord => {
  const n = Number(ip.split('.').pop() ?? 0) + networkId.length * 256;
  return {
    id: Buffer.from(name).toString('hex').padEnd(64, '0').slice(0, 64), name, created: '', status: 'running', mode: 'bridge', networkMode: networkId, hostname: name,
    netns: `nsnet-${name}`,
    endpoints: ip ? [{ networkId, endpointId: 'e', ifname: 'eth0', hostVeth: `veth${hex(n * 2654435761 >>> 4, 7).slice(0, 7)}`, ip, prefixlen: 16,
      mac: `02:42:ac:${hex(Number(ip.split('.')[1]), 2)}:00:${hex(Number(ip.split('.')[3]), 2)}`, gateway: '', aliases: [], staticIp: false }] : [],
    ports: [], links: [], dns: [], dnsSearch: [], dnsOptions: [], extraHosts: [], ...extra,
  };
};

/** 12 on the default bridge, 18 on mynet; web-1 and api-1 publish ports; a host, a none and two container: sandboxes. */
export function busyHost(): { networks: NetworkRecord[]; sandboxes: SandboxRecord[]; facts: HostFacts } {
  const networks = [
    net('n0', 'bridge', 'nsnet0', '172.17.0.0/16', { builtin: true, defaultBridge: true }),
    net('n1', 'mynet', 'br-5f0c2e6a91d4', '172.18.0.0/16', { icc: false }),
  ];
  const sandboxes: SandboxRecord[] = [];
  for (let i = 1; i <= 12; i++) sandboxes.push(sb(`web-${i}`, 'n0', `172.17.0.${i + 1}`));
  for (let i = 1; i <= 18; i++) sandboxes.push(sb(`api-${i}`, 'n1', `172.18.0.${i + 1}`));
  const web1 = sandboxes[0]!, api1 = sandboxes[12]!;
  web1.ports = [{ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, ip: '172.17.0.2' }];
  api1.ports = [
    { proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8443, containerPort: 443, ip: '172.18.0.2' },
    { proto: 'udp', hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53, ip: '172.18.0.2' },
  ];
  sandboxes.push(
    { ...sb('monitor', 'host', ''), mode: 'host', networkMode: 'host', netns: undefined } as SandboxRecord,
    { ...sb('batch', 'none', ''), mode: 'none', networkMode: 'none' },
    { ...sb('web-1-sidecar', 'c', ''), mode: 'container', networkMode: 'container:web-1', containerOf: web1.id, netns: undefined } as SandboxRecord,
    { ...sb('api-1-debug', 'c', ''), mode: 'container', networkMode: 'container:api-1', containerOf: api1.id, netns: undefined } as SandboxRecord,
  );
  const dns: HostFacts['dns'] = {};
  sandboxes.filter((s) => s.endpoints[0]?.networkId === 'n1').forEach((s, i) => { dns[s.id] = { udp: 40000 + 2 * i, tcp: 40001 + 2 * i }; });
  return { networks, sandboxes, facts: { uplink: { ifname: 'eth0', address: '192.0.2.10', prefixlen: 24, gateway: '192.0.2.1' }, dns } };
}
