// --ip6 (Docker's static IPv6 address, run/create/network connect): planEndpoint
// against a state held in memory - in the subnet, free, not the gateway, on a
// network with IPv6; a refusal leaves the IPv4 bitmap as it was. No kernel.
import { describe, expect, test } from 'vitest';
import { createExitCode } from '../../src/cli/sandbox.js';
import { planEndpoint, releaseAddress } from '../../src/docker/endpoint.js';
import { inspectSandbox } from '../../src/docker/sandbox-view.js';
import type { NetworkRecord, SandboxRecord, State } from '../../src/docker/types.js';
import { ipv4ToInt } from '../../src/net/ip.js';
import { offset6 } from '../../src/net/ip6.js';

const NET6: NetworkRecord = {
  id: '6'.repeat(64), name: 'dual', driver: 'bridge', created: 'x', builtin: false, internal: false, options: {}, labels: {},
  bridge: 'br-666666666666', subnet: '172.30.0.0/24', gateway: '172.30.0.1', enableIPv6: true, subnet6: '2001:db8:1::/64', gateway6: '2001:db8:1::1',
};
const NET4: NetworkRecord = { ...NET6, id: '4'.repeat(64), name: 'v4only', enableIPv6: false, subnet6: undefined, gateway6: undefined } as NetworkRecord;
delete (NET4 as Partial<NetworkRecord>).subnet6;
delete (NET4 as Partial<NetworkRecord>).gateway6;

const sbRec = (name: string, endpoints: SandboxRecord['endpoints'] = []) =>
  ({ id: name.padEnd(64, '0'), name, created: 'x', status: 'created', mode: 'bridge', networkMode: 'dual', hostname: name, endpoints, ports: [],
    links: [], dns: [], dnsSearch: [], dnsOptions: [], extraHosts: [] }) as unknown as SandboxRecord;

/** A bitmap as State keeps it (address-bits.ts), held in a set. */
const memBits = (bits: Set<number>) => ({
  usedTest: async () => (n: number) => bits.has(n),
  set: async (_id: string, _base: number, _size: number, n: number, used: boolean) => { if (used) bits.add(n); else bits.delete(n); },
});

/**
 * The parts of State that planEndpoint uses: the IPv4 bitmap (a set of numbers, the records' addresses), the IPv6
 * one (offsets in the subnet) and the sandbox records; `reads` counts the scans of the records.
 */
function memState(records: SandboxRecord[]) {
  const bits = new Set<number>(records.flatMap((r) => r.endpoints.map((e) => ipv4ToInt(e.ip))));
  // Only the first 4096 addresses are in the bitmap (offset6 is undefined beyond).
  const bits6 = new Set<number>(records.flatMap((r) => r.endpoints.map((e) => (e.ip6 ? offset6(NET6.subnet6!, e.ip6) : undefined)))
    .filter((x): x is number => x !== undefined));
  const reads = { n: 0 };
  const state = {
    addresses: memBits(bits),
    addresses6: memBits(bits6),
    sandboxes: { all: async () => { reads.n++; return records; } },
    removing: { all: async () => ({ removals: [] }) },
  } as unknown as State;
  return { state, bits, bits6, reads };
}

const holder = sbRec('holder', [{ networkId: NET6.id, endpointId: 'e'.repeat(64), ifname: 'eth0', hostVeth: 'veth1234567', ip: '172.30.0.2',
  prefixlen: 24, mac: '02:42:ac:1e:00:02', gateway: '172.30.0.1', aliases: [], staticIp: false, ip6: '2001:db8:1::2' }]);

describe('--ip6', () => {
  test('a free address of the subnet is the endpoint\'s, canonical, marked static; the next lowest-free one skips it', async () => {
    const { state } = memState([holder]);
    const e = await planEndpoint(state, sbRec('web'), NET6, { ip6: '2001:DB8:1:0::0:3' });
    expect([e.ip6, e.staticIp6, e.ip]).toEqual(['2001:db8:1::3', true, '172.30.0.3']);
    // Claimed in the same locked section: the next sandbox gets ::4, not ::3 (::2 is holder's).
    const next = await planEndpoint(state, sbRec('db'), NET6, {});
    expect([next.ip6, next.staticIp6]).toEqual(['2001:db8:1::4', undefined]);
  });

  test.each([
    ['2001:db8:1::2', /address 2001:db8:1::2 already in use/],
    ['2001:db8:2::5', /invalid address 2001:db8:2::5: not a host address of subnet 2001:db8:1::\/64/],
    ['2001:db8:1::1', /is the gateway of subnet/],
    ['2001:db8:1::', /not a host address/],
    ['172.30.0.9', /is not an IPv6 address/],
  ])('%s is refused (%s), and no IPv4 address is claimed', async (ip6, message) => {
    const { state, bits } = memState([holder]);
    await expect(planEndpoint(state, sbRec('web'), NET6, { ip6 })).rejects.toThrow(message);
    expect([...bits]).toEqual([ipv4ToInt('172.30.0.2')]); // holder's only
  });

  test('claims are bits of the IPv6 bitmap: no scan of the records, whatever their number; release gives the bit back', async () => {
    const { state, bits6, reads } = memState([holder]);
    const a = await planEndpoint(state, sbRec('a'), NET6, {});
    const b = await planEndpoint(state, sbRec('b'), NET6, { ip6: '2001:db8:1::9' });
    expect([a.ip6, b.ip6, reads.n]).toEqual(['2001:db8:1::3', '2001:db8:1::9', 0]);
    expect([...bits6].sort((x, y) => x - y)).toEqual([2, 3, 9]);
    await releaseAddress(state, NET6, a);
    expect(bits6.has(3)).toBe(false);
    expect((await planEndpoint(state, sbRec('c'), NET6, {})).ip6).toBe('2001:db8:1::3');
  });

  test('a static address beyond the bitmap\'s first 4096 is checked against the records (and this section\'s claims)', async () => {
    const far = sbRec('far', [{ ...holder.endpoints[0]!, ip: '172.30.0.9', ip6: '2001:db8:1::1:0:5' }]);
    const { state, bits6, reads } = memState([holder, far]);
    await expect(planEndpoint(state, sbRec('web'), NET6, { ip6: '2001:db8:1::1:0:5' })).rejects.toThrow('address 2001:db8:1::1:0:5 already in use');
    const e = await planEndpoint(state, sbRec('web'), NET6, { ip6: '2001:db8:1::1:0:6' });
    expect(e.ip6).toBe('2001:db8:1::1:0:6');
    await expect(planEndpoint(state, sbRec('db'), NET6, { ip6: '2001:db8:1::1:0:6' })).rejects.toThrow('already in use');
    expect(reads.n).toBe(3);
    expect([...bits6].every((i) => i < 4096)).toBe(true); // nothing outside the bitmap
  });

  test('a network without IPv6, and the default bridge, refuse it by name', async () => {
    const { state, bits } = memState([]);
    await expect(planEndpoint(state, sbRec('web'), NET4, { ip6: '2001:db8:1::9' }))
      .rejects.toThrow('invalid --ip6 2001:db8:1::9: network v4only has no IPv6 (it was not created with --ipv6)');
    await expect(planEndpoint(state, sbRec('web'), { ...NET6, defaultBridge: true }, { ip6: '2001:db8:1::9' }))
      .rejects.toThrow('user specified IP address is supported on user defined networks only');
    expect(bits.size).toBe(0);
  });

  test('a value that is no IPv6 address is refused before anything else, as Docker\'s client does (exit 125)', () => {
    const base = { aliases: [], links: [], publish: [], publishAll: false, expose: [], labels: {} };
    expect(createExitCode({ ...base, ip6: '10.0.0.1' })).toBe(125);
    expect(createExitCode({ ...base, ip6: 'zz::1::2' })).toBe(125);
    expect(createExitCode({ ...base, network: 'dual', ip6: '2001:db8:1::2' })).toBe(1); // taken: the daemon's refusal
  });

  test('inspect: IPAMConfig shows the static IPv6 address (and the IPv4 one only if it was asked for too)', async () => {
    const { state } = memState([]);
    const e = await planEndpoint(state, sbRec('web'), NET6, { ip6: '2001:db8:1::7' });
    const view = (ep: typeof e) => (inspectSandbox({ ...sbRec('web'), endpoints: [ep] }, undefined, [NET6], 'created',
      { resolvConf: '', hosts: '', hostname: '' } as never) as any).NetworkSettings.Networks.dual;
    expect(view(e).IPAMConfig).toEqual({ IPv6Address: '2001:db8:1::7' });
    expect(view({ ...e, staticIp: true }).IPAMConfig).toEqual({ IPv4Address: e.ip, IPv6Address: '2001:db8:1::7' });
    expect(view({ ...e, staticIp6: undefined }).IPAMConfig).toBeNull();
  });
});
