// Names for the host (com.nsnet.network.host_dns, docs/dns.md), the pure
// parts: the option, the firewall's host_dns element and input rule, the
// host's view in the names index, and what it says of names it doesn't know.
import { describe, expect, test } from 'vitest';
import { firewallContent } from '../../src/docker/firewall.js';
import { HOST_DNS_OPTION, KNOWN_OPTIONS, planNetwork } from '../../src/docker/network.js';
import type { NetworkRecord, SandboxRecord, State } from '../../src/docker/types.js';
import { TYPE, RCODE } from '../../src/dns/message.js';
import { lookup } from '../../src/dns/lookup.js';
import { hostDnsNetwork, hostViewId, NameIndexer } from '../../src/dns/names.js';
import { hostMiss } from '../../src/dns/queries.js';
import { networkElements, skeleton } from '../../src/nft/table.js';

const state = (networks: Partial<NetworkRecord>[] = []) => ({ networks }) as unknown as State;
const plan = (options: Record<string, string>) => planNetwork({ name: 'mynet', subnet: '172.18.0.0/16', options }, state(), []);

const net = (over: Partial<NetworkRecord>): NetworkRecord => ({
  id: 'a'.repeat(64), name: 'mynet', driver: 'bridge', created: '', builtin: false, internal: false, options: {}, labels: {},
  bridge: 'br-aaaaaaaaaaaa', subnet: '172.18.0.0/16', gateway: '172.18.0.1', ...over,
});
const sandbox = (id: string, name: string, networkId: string, ip: string, aliases: string[] = []): SandboxRecord => ({
  id: id.repeat(64), name, created: '', status: 'running', mode: 'bridge', networkMode: 'mynet', hostname: name,
  endpoints: [{ networkId, ip, aliases, hostVeth: 'veth0', ifname: 'eth0' }], ports: [], links: [],
} as unknown as SandboxRecord);

describe('com.nsnet.network.host_dns', () => {
  test('off by default; true/1 turn it on, false/0 leave it off; anything else is refused; no warning', () => {
    expect(KNOWN_OPTIONS).toContain(HOST_DNS_OPTION);
    expect(plan({}).network.hostDns).toBeUndefined();
    for (const v of ['true', 'TRUE', '1', 't']) expect(plan({ [HOST_DNS_OPTION]: v }).network.hostDns).toBe(true);
    for (const v of ['false', '0']) expect(plan({ [HOST_DNS_OPTION]: v }).network.hostDns).toBeUndefined();
    expect(() => plan({ [HOST_DNS_OPTION]: 'maybe' })).toThrow(/invalid value for com\.nsnet\.network\.host_dns: "maybe"/);
    expect(plan({ [HOST_DNS_OPTION]: 'true' }).warnings).toEqual([]);
    // Kept in the options too, as Docker shows them in network inspect.
    expect(plan({ [HOST_DNS_OPTION]: 'true' }).network.options[HOST_DNS_OPTION]).toBe('true');
  });

  test('only user-defined bridges with a gateway listen for the host', () => {
    expect(hostDnsNetwork(net({ hostDns: true }))).toBe(true);
    expect(hostDnsNetwork(net({}))).toBe(false);
    expect(hostDnsNetwork(net({ hostDns: true, driver: 'macvlan' }))).toBe(false); // its gateway is a router, not the host
    expect(hostDnsNetwork(net({ hostDns: true, defaultBridge: true, builtin: true }))).toBe(false);
  });
});

describe('the firewall keeps the listener to the host', () => {
  test('the gateway is a host_dns element of the network, only with the option', () => {
    const [on, off] = firewallContent([net({ hostDns: true }), net({ id: 'b'.repeat(64), bridge: 'br-b', subnet: '172.19.0.0/16', gateway: '172.19.0.1' })], []).networks;
    expect(on!.hostDns).toBe('172.18.0.1');
    expect(off!.hostDns).toBeUndefined();
    expect(networkElements('add', on!)).toContain('add element ip nsnet host_dns { 172.18.0.1 }\n');
    expect(networkElements('delete', on!)).toContain('delete element ip nsnet host_dns { 172.18.0.1 }\n');
    expect(networkElements('add', off!)).not.toContain('host_dns');
  });

  test('input drops port 53 to those addresses unless it came from the host itself (lo)', () => {
    const s = skeleton();
    expect(s).toContain('set host_dns { type ipv4_addr; }');
    expect(s).toMatch(/chain input \{\n\t\ttype filter hook input priority filter; policy accept;\n\t\tip daddr @host_dns meta l4proto \{ tcp, udp \} th dport 53 iifname != "lo" drop\n\t\}/);
  });
});

describe("the host's view", () => {
  const on = net({ hostDns: true });
  const other = net({ id: 'b'.repeat(64), name: 'other', bridge: 'br-b', subnet: '172.19.0.0/16', gateway: '172.19.0.1' });
  const web = sandbox('1', 'web', on.id, '172.18.0.2', ['www']);
  const x = sandbox('2', 'x', other.id, '172.19.0.2');

  test('answers the network names, name.network and aliases; nothing of other networks; follows changes', () => {
    const names = new NameIndexer();
    const known = new Map([web, x].map((s) => [s.id, s]));
    names.update([on, other], known);
    const ask = (q: string, t: number = TYPE.A) => lookup(names.index, hostViewId(on.id), q, t);
    expect(ask('web')).toEqual({ kind: 'answer', ips: ['172.18.0.2'] });
    expect(ask('WEB.MyNet.')).toEqual({ kind: 'answer', ips: ['172.18.0.2'] });
    expect(ask('www.mynet')).toEqual({ kind: 'answer', ips: ['172.18.0.2'] });
    expect(ask('2.0.18.172.in-addr.arpa', TYPE.PTR)).toEqual({ kind: 'ptr', name: 'web.mynet' });
    expect(ask('x')).toEqual({ kind: 'forward' });
    expect(ask('x.other')).toEqual({ kind: 'forward' });
    expect(names.index.views.has(hostViewId(other.id))).toBe(false);
    // A sandbox joins: the host sees it with the next sync, without rebuilding the networks.
    const db = sandbox('3', 'db', on.id, '172.18.0.3');
    known.set(db.id, db);
    names.update([on, other], known, [db.id]);
    expect(ask('db.mynet')).toEqual({ kind: 'answer', ips: ['172.18.0.3'] });
    // The option gone (a state without it): no view, so nothing is answered for the host.
    names.update([{ ...on, hostDns: false }, other], known, []);
    expect(names.index.views.has(hostViewId(on.id))).toBe(false);
  });

  test('a name it does not know: NXDOMAIN in its zone (or a single label), REFUSED elsewhere', () => {
    expect(hostMiss('nope', 'mynet')).toBe(RCODE.NXDOMAIN);
    expect(hostMiss('nope.MYNET.', 'mynet')).toBe(RCODE.NXDOMAIN);
    expect(hostMiss('mynet', 'mynet')).toBe(RCODE.NXDOMAIN);
    expect(hostMiss('example.org', 'mynet')).toBe(RCODE.REFUSED);
    expect(hostMiss('x.other', 'mynet')).toBe(RCODE.REFUSED);
    expect(hostMiss('', 'mynet')).toBe(RCODE.REFUSED);
  });
});
