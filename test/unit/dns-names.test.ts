import { describe, expect, test } from 'vitest';
import type { EndpointRecord, NetworkRecord, SandboxRecord, SandboxStatus } from '../../src/docker/types.js';
import { TYPE } from '../../src/dns/message.js';
import { ptrName } from '../helpers/dns-client.js';
import { lookup, rotate } from '../../src/dns/lookup.js';
import { buildIndex, NameIndexer, type NameIndex } from '../../src/dns/names.js';

const netsById = new Map<string, NetworkRecord>();

function network(name: string, n: number, extra: Partial<NetworkRecord> = {}): NetworkRecord {
  const net: NetworkRecord = {
    id: `${n}`.padStart(2, '0').repeat(32),
    name,
    driver: 'bridge',
    created: '2024-01-01T00:00:00Z',
    builtin: false,
    internal: false,
    options: {},
    labels: {},
    subnet: `172.${17 + n}.0.0/16`,
    gateway: `172.${17 + n}.0.1`,
    ...extra,
  };
  netsById.set(net.id, net);
  return net;
}

const bridge = network('bridge', 0, { builtin: true, defaultBridge: true });
const host = network('host', 90, { driver: 'host', builtin: true });
const none = network('none', 91, { driver: 'null', builtin: true });
const mynet = network('mynet', 1);
const other = network('other', 2);
const dotted = network('my.net', 3);
const upper = network('BigNet', 4);

let seq = 0;
function ep(net: NetworkRecord, ip: string, aliases: string[] = []): EndpointRecord {
  return {
    networkId: net.id,
    endpointId: 'e'.repeat(64),
    ifname: 'eth0',
    hostVeth: 'veth0000000',
    ip,
    prefixlen: 16,
    mac: '02:42:00:00:00:00',
    gateway: net.gateway ?? '',
    aliases,
    staticIp: false,
  };
}

function sandbox(name: string, endpoints: EndpointRecord[], extra: Partial<SandboxRecord> = {}): SandboxRecord {
  const id = (++seq).toString(16).padStart(4, '0') + 'abcdef01'.repeat(7) + 'abcd';
  return {
    id,
    name,
    created: '2024-01-01T00:00:00Z',
    status: 'running' as SandboxStatus,
    mode: 'bridge',
    // The network given at create: the first endpoint's.
    networkMode: endpoints[0] ? netsById.get(endpoints[0].networkId)!.name : 'none',
    hostname: id.slice(0, 12),
    endpoints,
    ports: [],
    links: [],
    dns: [],
    dnsSearch: [],
    dnsOptions: [],
    extraHosts: [],
    ...extra,
  };
}

// mynet: db (aliases database, cache), db2 (alias cache), web, linker (--link db:primary)
// other: lonely, web (second endpoint), svc-b
// web is on [mynet, other]; svc names: "svc" on mynet (svc-a) and on other (svc-b)
const db = sandbox('db', [ep(mynet, '172.18.0.2', ['database', 'cache'])]);
const db2 = sandbox('db2', [ep(mynet, '172.18.0.3', ['Cache'])], { hostname: 'replica' });
const web = sandbox('Web', [ep(mynet, '172.18.0.4'), ep(other, '172.19.0.4')], { hostname: 'webhost' });
const lonely = sandbox('lonely', [ep(other, '172.19.0.2')]);
const svcA = sandbox('svc-a', [ep(mynet, '172.18.0.5', ['svc'])]);
const svcB = sandbox('svc-b', [ep(other, '172.19.0.5', ['svc'])]);
const legacy = sandbox('legacy', [ep(bridge, '172.17.0.2')]);
const isolated = sandbox('isolated', [], { mode: 'none', networkMode: 'none' });
const sidecar = sandbox('sidecar', [], { mode: 'container', networkMode: `container:Web`, containerOf: web.id, hostname: web.hostname });
const creating = sandbox('newbie', [ep(mynet, '172.18.0.6')], { status: 'creating' });
const removing = sandbox('goner', [ep(mynet, '172.18.0.7')], { status: 'removing' });
const linker = sandbox('linker', [ep(mynet, '172.18.0.8')], { links: [{ name: 'db', alias: 'Primary' }] });
const dotty = sandbox('dotty', [ep(dotted, '172.20.0.2'), ep(mynet, '172.18.0.9')]);
const big = sandbox('big', [ep(upper, '172.21.0.2')]);
const hostMode = sandbox('hosty', [], { mode: 'host', networkMode: 'host' });

const networks = [bridge, host, none, mynet, other, dotted, upper];
const sandboxes = [db, db2, web, lonely, svcA, svcB, legacy, isolated, sidecar, creating, removing, linker, dotty, big, hostMode];
const index: NameIndex = buildIndex(networks, sandboxes);

const a = (from: SandboxRecord, name: string, type: number = TYPE.A) => lookup(index, from.id, name, type);
const answer = (...ips: string[]) => ({ kind: 'answer', ips });
const FORWARD = { kind: 'forward' };
const NODATA = { kind: 'nodata' };

describe('names on a shared network', () => {
  test('the sandbox name, any case, with or without the trailing dot', () => {
    expect(a(web, 'db')).toEqual(answer('172.18.0.2'));
    expect(a(web, 'DB')).toEqual(answer('172.18.0.2'));
    expect(a(web, 'db.')).toEqual(answer('172.18.0.2'));
    expect(a(db, 'web')).toEqual(answer('172.18.0.4')); // registered as "Web", lower-cased
  });

  test('aliases, hostname and short id', () => {
    expect(a(web, 'database')).toEqual(answer('172.18.0.2'));
    expect(a(web, 'replica')).toEqual(answer('172.18.0.3'));
    expect(a(db, 'webhost')).toEqual(answer('172.18.0.4'));
    expect(a(web, db.id.slice(0, 12))).toEqual(answer('172.18.0.2'));
    expect(a(web, db.id)).toEqual(FORWARD); // only the 12-character form
  });

  test('one alias on several sandboxes: all their addresses', () => {
    expect(a(web, 'cache')).toEqual(answer('172.18.0.2', '172.18.0.3'));
  });

  test('a sandbox resolves its own names', () => {
    expect(a(db, 'db')).toEqual(answer('172.18.0.2'));
  });

  test('name.network, for joined networks only', () => {
    expect(a(web, 'db.mynet')).toEqual(answer('172.18.0.2'));
    expect(a(web, 'DB.MyNet.')).toEqual(answer('172.18.0.2'));
    expect(a(web, 'cache.mynet')).toEqual(answer('172.18.0.2', '172.18.0.3'));
    expect(a(db, 'web.other')).toEqual(FORWARD); // db isn't on other
    expect(a(lonely, 'web.other')).toEqual(answer('172.19.0.4'));
    expect(a(web, 'db.other')).toEqual(FORWARD); // db isn't on other
    expect(a(web, 'mynet')).toEqual(FORWARD);
  });

  test('network names with dots and capitals', () => {
    expect(a(dotty, 'dotty.my.net')).toEqual(answer('172.20.0.2'));
    expect(a(dotty, 'dotty.mynet')).toEqual(answer('172.18.0.9'));
    expect(a(big, 'big.bignet')).toEqual(answer('172.21.0.2'));
  });

  test('a name on two joined networks answers from the first in endpoint order', () => {
    expect(a(web, 'svc')).toEqual(answer('172.18.0.5'));
    expect(a(web, 'svc.other')).toEqual(answer('172.19.0.5'));
    expect(a(lonely, 'svc')).toEqual(answer('172.19.0.5'));
    expect(a(lonely, 'web')).toEqual(answer('172.19.0.4')); // web's address on the network they share
  });
});

describe('isolation', () => {
  test('a sandbox on another network does not see the name', () => {
    expect(a(lonely, 'db')).toEqual(FORWARD);
    expect(a(lonely, 'db.mynet')).toEqual(FORWARD);
    expect(a(lonely, 'cache')).toEqual(FORWARD);
  });

  test('the default bridge, none and host have no embedded names', () => {
    expect(a(legacy, 'db')).toEqual(FORWARD);
    expect(a(db, 'legacy')).toEqual(FORWARD);
    expect(a(isolated, 'db')).toEqual(FORWARD);
    expect(a(hostMode, 'db')).toEqual(FORWARD);
    expect(a(db, 'isolated')).toEqual(FORWARD);
    expect(lookup(index, 'no-such-sandbox', 'db', TYPE.A)).toEqual(FORWARD);
  });

  test('--link aliases are seen only by the sandbox that made them', () => {
    expect(a(linker, 'primary')).toEqual(answer('172.18.0.2'));
    expect(a(linker, 'PRIMARY.mynet')).toEqual(answer('172.18.0.2'));
    expect(a(web, 'primary')).toEqual(FORWARD);
  });
});

describe('lifecycle and modes', () => {
  test('container: mode: its name points at the owner, and it sees what the owner sees', () => {
    expect(a(db, 'sidecar')).toEqual(answer('172.18.0.4'));
    expect(a(lonely, 'sidecar')).toEqual(answer('172.19.0.4'));
    expect(a(lonely, 'sidecar.other')).toEqual(answer('172.19.0.4'));
    expect(a(sidecar, 'db')).toEqual(answer('172.18.0.2'));
    expect(a(sidecar, 'lonely')).toEqual(answer('172.19.0.2'));
    expect(a(sidecar, ptrName('172.18.0.4'), TYPE.PTR)).toEqual({ kind: 'ptr', name: 'Web.mynet' });
  });

  test('sandboxes being created resolve; sandboxes being removed do not', () => {
    expect(a(web, 'newbie')).toEqual(answer('172.18.0.6'));
    expect(a(web, 'goner')).toEqual(FORWARD);
    expect(a(web, ptrName('172.18.0.7'), TYPE.PTR)).toEqual(FORWARD);
  });

  test('a rebuilt index follows the state', () => {
    const moved = { ...lonely, endpoints: [...lonely.endpoints, ep(mynet, '172.18.0.10')] };
    const idx = buildIndex(networks, [db, moved]);
    expect(lookup(idx, moved.id, 'db', TYPE.A)).toEqual(answer('172.18.0.2'));
    expect(lookup(idx, db.id, 'lonely', TYPE.A)).toEqual(answer('172.18.0.10'));
  });
});

describe('types', () => {
  test('AAAA (IPv4-only network) and other types for a known name: NODATA', () => {
    for (const t of [TYPE.AAAA, TYPE.MX, TYPE.TXT, TYPE.SRV, TYPE.CNAME, TYPE.NS, TYPE.SOA]) {
      expect(a(web, 'db', t)).toEqual(NODATA);
    }
    expect(a(web, 'db.mynet', TYPE.AAAA)).toEqual(NODATA);
    expect(a(web, 'db', TYPE.PTR)).toEqual(NODATA); // PTR of a name that isn't an arpa name
  });

  test('ANY gets the A records', () => {
    expect(a(web, 'cache', TYPE.ANY)).toEqual(answer('172.18.0.2', '172.18.0.3'));
  });

  test('unknown names of any kind are forwarded, single labels too', () => {
    expect(a(web, 'example.com')).toEqual(FORWARD);
    expect(a(web, 'nosuchname')).toEqual(FORWARD);
    expect(a(web, 'example.com', TYPE.AAAA)).toEqual(FORWARD);
    expect(a(web, '')).toEqual(FORWARD);
    expect(a(web, '.')).toEqual(FORWARD);
  });
});

describe('PTR', () => {
  test('an address on a joined network: <first name>.<network>', () => {
    expect(a(web, ptrName('172.18.0.2'), TYPE.PTR)).toEqual({ kind: 'ptr', name: 'db.mynet' });
    expect(a(web, '2.0.18.172.IN-ADDR.ARPA.', TYPE.PTR)).toEqual({ kind: 'ptr', name: 'db.mynet' });
    expect(a(web, ptrName('172.18.0.3'), TYPE.PTR)).toEqual({ kind: 'ptr', name: 'db2.mynet' });
    expect(a(lonely, ptrName('172.19.0.4'), TYPE.PTR)).toEqual({ kind: 'ptr', name: 'Web.other' });
  });

  test('addresses elsewhere or unknown are forwarded', () => {
    expect(a(lonely, ptrName('172.18.0.2'), TYPE.PTR)).toEqual(FORWARD); // not on mynet
    expect(a(web, ptrName('172.17.0.2'), TYPE.PTR)).toEqual(FORWARD); // default bridge
    expect(a(web, ptrName('8.8.8.8'), TYPE.PTR)).toEqual(FORWARD);
    expect(a(web, '18.172.in-addr.arpa', TYPE.PTR)).toEqual(FORWARD);
    expect(a(web, ptrName('fd00::1'), TYPE.PTR)).toEqual(FORWARD);
  });

  test('an A query for an arpa name is just a name', () => {
    expect(a(web, ptrName('172.18.0.2'), TYPE.A)).toEqual(FORWARD);
  });
});

describe('the index', () => {
  test('answers are shared and frozen: callers rotate copies', () => {
    const r = a(web, 'cache');
    if (r.kind !== 'answer') throw new Error('expected an answer');
    expect(Object.isFrozen(r.ips)).toBe(true);
    expect(() => r.ips.push('1.2.3.4')).toThrow();
    expect(rotate(r.ips, 1)).toEqual(['172.18.0.3', '172.18.0.2']);
    expect(a(web, 'cache')).toEqual(answer('172.18.0.2', '172.18.0.3'));
  });

  test('lookups are fast', () => {
    // Many sandboxes: a lookup is a few map reads, whatever the size of the state.
    // Not a timed test: the same lookups on a state 100 times smaller, in the same run, cost about the same.
    const nets = Array.from({ length: 20 }, (_, i) => network(`net${i}`, 10 + i));
    const state = (n: number) => Array.from({ length: n }, (_, i) => sandbox(`c${i}`, [ep(nets[i % 20]!, `10.${i % 20}.${i >> 8}.${i & 255}`, [`svc${i % 7}`])]));
    const time = (sbs: ReturnType<typeof state>, name: string) => {
      const idx = buildIndex(nets, sbs);
      const from = sbs[0]!.id;
      const t = performance.now();
      for (let i = 0; i < 100_000; i++) lookup(idx, from, i % 2 ? name : 'svc3.net0', TYPE.A);
      return performance.now() - t;
    };
    const big = state(2000);
    expect(lookup(buildIndex(nets, big), big[0]!.id, 'c1980', TYPE.A)).toEqual(answer('10.0.7.188'));
    time(state(20), 'c19'); // warm up the JIT on the small one first
    const small = Math.min(time(state(20), 'c19'), time(state(20), 'c19'));
    const large = Math.min(time(big, 'c1980'), time(big, 'c1980'));
    expect(large / small).toBeLessThan(4);
  });
});

describe('rotate', () => {
  const ips = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];
  test.each([
    [0, ['10.0.0.1', '10.0.0.2', '10.0.0.3']],
    [1, ['10.0.0.2', '10.0.0.3', '10.0.0.1']],
    [2, ['10.0.0.3', '10.0.0.1', '10.0.0.2']],
    [3, ['10.0.0.1', '10.0.0.2', '10.0.0.3']],
    [-1, ['10.0.0.3', '10.0.0.1', '10.0.0.2']],
    [3 * 2 ** 40 + 1, ['10.0.0.2', '10.0.0.3', '10.0.0.1']],
  ])('counter %d', (counter, expected) => {
    expect(rotate(ips, counter)).toEqual(expected);
  });
  test('every address comes first equally often, and the input is untouched', () => {
    const firsts = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const f = rotate(ips, i)[0]!;
      firsts.set(f, (firsts.get(f) ?? 0) + 1);
    }
    expect([...firsts.values()]).toEqual([100, 100, 100]);
    expect(ips).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    expect(rotate([], 5)).toEqual([]);
    expect(rotate(['10.0.0.1'], 5)).toEqual(['10.0.0.1']);
  });
});

describe('NameIndexer: kept up to date change by change, the same answers as built anew', () => {
  const all = sandboxes;
  const queries = [...new Set(all.flatMap((s) => [s.name, s.hostname, s.id.slice(0, 12), ...s.endpoints.flatMap((e) => [...e.aliases, `${s.name}.mynet`, `${s.name}.other`])]))]
    .concat(['primary', 'svc', 'cache', '2.0.18.172.in-addr.arpa', '4.0.19.172.in-addr.arpa', '3.0.18.172.in-addr.arpa']);
  const answers = (idx: NameIndex) => all.flatMap((from) => queries.map((q) => {
    const r = lookup(idx, from.id, q, q.endsWith('.arpa') ? TYPE.PTR : TYPE.A);
    return r.kind === 'answer' ? { kind: r.kind, ips: [...r.ips].sort() } : r;
  }));

  test('random adds, removals and changes (container: owners too)', () => {
    let rnd = 42;
    const random = () => ((rnd = (rnd * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const x = new NameIndexer();
    const known = new Map<string, SandboxRecord>();
    x.update(networks, known);
    for (let step = 0; step < 300; step++) {
      const sb = all[Math.floor(random() * all.length)]!;
      const r = random();
      if (r < 0.4) known.delete(sb.id);
      else if (r < 0.8) known.set(sb.id, sb);
      else known.set(sb.id, { ...sb, status: random() < 0.5 ? 'removing' : 'running', hostname: `h${step}` });
      x.update(networks, known, [sb.id]);
      expect(answers(x.index), `step ${step}`).toEqual(answers(buildIndex(networks, [...known.values()])));
    }
  });
});

describe('dual stack (AAAA, ip6.arpa)', () => {
  const v6net = network('v6net', 5, { enableIPv6: true, subnet6: '2001:db8:5::/64', gateway6: '2001:db8:5::1' });
  const six = (ip: string, ip6: string, aliases: string[] = []) => ({ ...ep(v6net, ip, aliases), ip6 });
  const s1 = sandbox('s1', [six('172.22.0.2', '2001:db8:5::2', ['alias1'])]);
  const s2 = sandbox('s2', [six('172.22.0.3', '2001:db8:5::3', ['alias1'])]);
  const v4 = sandbox('v4only', [ep(v6net, '172.22.0.4')]);
  const all = [...networks, v6net];

  test('AAAA answers with the IPv6 addresses, A still with the IPv4 ones', () => {
    const idx = buildIndex(all, [s1, s2, v4]);
    expect(lookup(idx, s1.id, 's2', TYPE.AAAA)).toEqual(answer('2001:db8:5::3'));
    expect(lookup(idx, s1.id, 's2', TYPE.A)).toEqual(answer('172.22.0.3'));
    expect(lookup(idx, s1.id, 'alias1', TYPE.AAAA)).toEqual(answer('2001:db8:5::2', '2001:db8:5::3'));
    expect(lookup(idx, s1.id, 's2.v6net', TYPE.AAAA)).toEqual(answer('2001:db8:5::3'));
    // A name with no IPv6 address: NOERROR, no data; an unknown one goes upstream.
    expect(lookup(idx, s1.id, 'v4only', TYPE.AAAA)).toEqual(NODATA);
    expect(lookup(idx, s1.id, 'nosuch', TYPE.AAAA)).toEqual(FORWARD);
  });

  test('PTR under ip6.arpa', () => {
    const idx = buildIndex(all, [s1, s2]);
    expect(lookup(idx, s1.id, ptrName('2001:db8:5::3'), TYPE.PTR)).toEqual({ kind: 'ptr', name: 's2.v6net' });
    expect(lookup(idx, s1.id, ptrName('2001:db8:5::9'), TYPE.PTR)).toEqual(FORWARD);
  });

  test('kept up to date change by change: a removed sandbox\'s IPv6 names go', () => {
    const x = new NameIndexer();
    const known = new Map([s1, s2].map((s) => [s.id, s]));
    x.update(all, known);
    expect(lookup(x.index, s1.id, 's2', TYPE.AAAA)).toEqual(answer('2001:db8:5::3'));
    known.delete(s2.id);
    x.update(all, known, [s2.id]);
    expect(lookup(x.index, s1.id, 's2', TYPE.AAAA)).toEqual(FORWARD);
    expect(lookup(x.index, s1.id, 'alias1', TYPE.AAAA)).toEqual(answer('2001:db8:5::2'));
    expect(lookup(x.index, s1.id, ptrName('2001:db8:5::3'), TYPE.PTR)).toEqual(FORWARD);
  });
});
