// --format and --filter on `ps`, `network ls`, `inspect` and `network inspect`
// (src/cli/format.ts, list-context.ts, filter.ts), table-driven with the
// examples of Docker's reference pages (docs.docker.com: docker ps,
// docker network ls, docker inspect, docker network inspect) as cases, over
// records shaped like the ones in those examples.
import { describe, expect, test } from 'vitest';
import { filterNetworks, filterSandboxes, filtersImplyAll, NETWORK_FILTERS, parseFilters, PS_FILTERS } from '../../src/cli/filter.js';
import { inspectFormat, listFormat, renderInspect, renderList } from '../../src/cli/format.js';
import { byNaturalName, goTime, networkContext, NETWORK_FIELD_HEADERS, psContext, PS_FIELD_HEADERS } from '../../src/cli/list-context.js';
import { humanDuration, statusText } from '../../src/docker/sandbox-view.js';
import type { NetworkRecord, SandboxRecord } from '../../src/docker/types.js';

const NOW = Date.parse('2021-03-10T00:20:00Z');
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();
const hex = (p: string) => p.padEnd(64, '0');

const net = (name: string, id: string, more: Partial<NetworkRecord> = {}): NetworkRecord => ({
  id: hex(id), name, driver: 'bridge', created: '2021-03-09T21:41:29.798Z', builtin: false, internal: false, options: {}, labels: {}, ...more,
});
const NETS = [
  net('bridge', '7fca4eb8c647', { builtin: true }),
  net('none', '9f904ee27bf5', { builtin: true, driver: 'null' }),
  net('host', 'cf03ee007fb4', { builtin: true, driver: 'host' }),
  net('foo', '95e74588f40d'),
  net('dev', '63d1ff1f77b0'),
  net('test1', 'db9db329f835', { labels: { usage: 'dev' } }),
  net('test2', 'f6e212da9dfd', { labels: { usage: 'prod' } }),
  net('foobar', '06e7eef0a170'),
];

const sandbox = (name: string, id: string, more: Partial<SandboxRecord> = {}): SandboxRecord => ({
  id: hex(id), name, created: ago(47), status: 'running', mode: 'bridge', networkMode: 'bridge', hostname: name,
  endpoints: [], ports: [], links: [], dns: [], dnsSearch: [], dnsOptions: [], extraHosts: [], command: ['top'], startedAt: ago(45), ...more,
});
const ep = (n: NetworkRecord, ip: string) => ({ networkId: n.id, endpointId: hex('e'), ifname: 'eth0', hostVeth: 'veth1', ip, prefixlen: 16, mac: '02:42:ac:11:00:02', gateway: '', aliases: [], staticIp: false });
const [bridge, , , foo] = NETS as [NetworkRecord, NetworkRecord, NetworkRecord, NetworkRecord];
const ROWS = [
  { sb: sandbox('nostalgic_shockley', '673394ef1d4c', { labels: { color: 'red' }, endpoints: [ep(bridge, '172.17.0.2')] }), status: 'running' as const },
  { sb: sandbox('high_albattani', 'd85756f57265', { labels: { color: 'blue' }, endpoints: [ep(foo, '172.19.0.2')], networkMode: 'foo' }), status: 'running' as const },
  { sb: sandbox('i_am_nostalgic', '715ebfcee040', { created: ago(3), startedAt: ago(1) }), status: 'running' as const },
  { sb: sandbox('desperate_leakey', 'ea09c3c82f6e', { exitCode: 0, finishedAt: ago(14 * 86400), created: ago(15 * 86400), ports: [{ proto: 'tcp', hostIp: '127.0.0.1', hostPort: 5000, containerPort: 5000, ip: '' }] }), status: 'exited' as const },
  { sb: sandbox('grave_kowalevski', 'b3e1c0ed5bfe', { exitCode: 137, finishedAt: ago(5), created: ago(12), command: ['sleep', '1000'] }), status: 'exited' as const },
  { sb: sandbox('tender_torvalds', '48ee228c9464', { mode: 'host', networkMode: 'host' }), status: 'created' as const },
];

const psNames = (filters: string[]) => filterSandboxes(ROWS, parseFilters(filters, PS_FILTERS), NETS).map((r) => r.sb.name);
const netNames = (filters: string[], used: string[] = []) =>
  filterNetworks(NETS, parseFilters(filters, NETWORK_FILTERS), (n) => used.includes(n.name)).map((n) => n.name);

describe('docker ps --filter (the reference page\'s examples)', () => {
  test.each([
    [['label=color'], ['nostalgic_shockley', 'high_albattani']],
    [['label=color=blue'], ['high_albattani']],
    [['name=nostalgic_stallman'], []],
    [['name=nostalgic'], ['nostalgic_shockley', 'i_am_nostalgic']],
    [['name=^i_am'], ['i_am_nostalgic']],
    [['exited=0'], ['desperate_leakey']],
    [['exited=137'], ['grave_kowalevski']],
    [['status=running'], ['nostalgic_shockley', 'high_albattani', 'i_am_nostalgic']],
    [['status=created'], ['tender_torvalds']],
    [['network=foo'], ['high_albattani']],
    [[`network=${hex('95e74588f40d')}`], ['high_albattani']],
    [['network=host'], ['tender_torvalds']],
    [['id=673394ef1d4c'], ['nostalgic_shockley']],
    // same key OR'ed, different keys AND'ed; labels all must hold (Docker's MatchKVList)
    [['status=exited', 'status=created'], ['desperate_leakey', 'grave_kowalevski', 'tender_torvalds']],
    [['status=running', 'name=nostalgic'], ['nostalgic_shockley', 'i_am_nostalgic']],
    [['label=color', 'label=color=red'], ['nostalgic_shockley']],
  ])('%j', (filters, want) => {
    expect(psNames(filters)).toEqual(want);
  });

  test('status= lists stopped sandboxes without -a; exited= does not', () => {
    expect(filtersImplyAll(parseFilters(['status=exited'], PS_FILTERS))).toBe(true);
    expect(filtersImplyAll(parseFilters(['exited=0'], PS_FILTERS))).toBe(false);
  });

  test.each([
    [['foo=bar'], "invalid filter 'foo'"],
    [['status=sleeping'], "invalid filter 'status=sleeping'"],
    [['exited=zero'], "invalid filter 'exited=zero'"],
    [['nameweb'], 'bad format of filter (expected name=value)'],
  ])('error %j', (filters, message) => {
    expect(() => psNames(filters)).toThrow(message);
  });
});

describe('docker network ls --filter (the reference page\'s examples)', () => {
  test.each([
    [['driver=bridge'], ['bridge', 'foo', 'dev', 'test1', 'test2', 'foobar']],
    [[`id=${hex('63d1ff1f77b0')}`], ['dev']],
    [['id=95e74588f40d'], ['foo']],
    [['id=95e'], ['foo']],
    [['label=usage'], ['test1', 'test2']],
    [['label=usage=prod'], ['test2']],
    [['name=foobar'], ['foobar']],
    [['name=foo'], ['foo', 'foobar']],
    [['scope=local'], NETS.map((n) => n.name)],
    [['scope=swarm'], []],
    [['type=custom'], ['foo', 'dev', 'test1', 'test2', 'foobar']],
    [['type=custom', 'type=builtin'], NETS.map((n) => n.name)],
    [['type=builtin', 'driver=bridge'], ['bridge']],
  ])('%j', (filters, want) => {
    expect(netNames(filters)).toEqual(want);
  });

  test('dangling: unused custom networks; dangling=false: the rest', () => {
    expect(netNames(['dangling=true'], ['foo', 'bridge'])).toEqual(['dev', 'test1', 'test2', 'foobar']);
    expect(netNames(['dangling=false'], ['foo', 'bridge'])).toEqual(['bridge', 'none', 'host', 'foo']);
    expect(() => netNames(['dangling=maybe'])).toThrow("invalid filter 'dangling=maybe'");
    expect(() => netNames(['type=other'])).toThrow("invalid filter: 'type'='other'");
  });

  test('sorted by name, digits as numbers (Docker sorts with sortorder.NaturalLess)', () => {
    const names = ['net10', 'bridge', 'net2', 'Net1', 'host', 'none', 'net1'];
    expect(names.map((name) => ({ name })).sort(byNaturalName).map((n) => n.name)).toEqual(['Net1', 'bridge', 'host', 'net1', 'net2', 'net10', 'none']);
  });
});

describe('docker network ls --format', () => {
  const three = [net('bridge', 'afaaab448eb2', { builtin: true }), net('host', 'd1584f8dc718', { driver: 'host', builtin: true }), net('none', '391df270dc66', { driver: 'null', builtin: true })];
  const ls = (format: string, nets = three) => {
    const f = listFormat(format);
    if (f.kind === 'default') throw new Error('default');
    return renderList(f, nets.map((n) => networkContext(n, false)), NETWORK_FIELD_HEADERS);
  };

  test('"{{.ID}}: {{.Driver}}"', () => {
    expect(ls('{{.ID}}: {{.Driver}}')).toBe('afaaab448eb2: bridge\nd1584f8dc718: host\n391df270dc66: null');
  });

  test('json: Docker\'s keys, all strings, sorted', () => {
    expect(ls('json', [net('bridge', 'f33ba176dd8e', { builtin: true })])).toBe(
      '{"CreatedAt":"2021-03-09 21:41:29.798 +0000 UTC","Driver":"bridge","ID":"f33ba176dd8e","IPv6":"false","Internal":"false","Labels":"","Name":"bridge","Scope":"local"}',
    );
    expect(ls('{{json .}}', three)).toBe(ls('json', three));
  });

  test('table TEMPLATE: titles from the field names, aligned as Docker\'s tabwriter', () => {
    expect(ls('table {{.ID}}\\t{{.Name}}\\t{{.Driver}}\\t{{.Scope}}')).toBe([
      'NETWORK ID     NAME      DRIVER    SCOPE',
      'afaaab448eb2   bridge    bridge    local',
      'd1584f8dc718   host      host      local',
      '391df270dc66   none      null      local',
    ].join('\n'));
    expect(ls('table {{.Name}}\t{{.IPv6}}\t{{.Internal}}\t{{.Label "usage"}}', [net('test2', 'f6e212da9dfd', { labels: { usage: 'prod' } })]))
      .toBe('NAME      IPV6      INTERNAL\ntest2     false     false      prod');
  });

  test('a wrong template fails before any output, with Go\'s words', () => {
    expect(() => listFormat('{{.Name')).toThrow('template parsing error: template: :1: unclosed action');
    expect(() => ls('{{.Nope}}')).toThrow("template parsing error: template: :1:2: executing \"\" at <.Nope>: can't evaluate field Nope in type network row");
  });
});

describe('docker ps --format', () => {
  const ps = (format: string, rows = ROWS) => {
    const f = listFormat(format);
    if (f.kind === 'default') throw new Error('default');
    return renderList(f, rows.map((r) => psContext(r.sb, r.status, NETS, { noTrunc: false, now: NOW })), PS_FIELD_HEADERS);
  };

  test('"{{.ID}}: {{.Command}}"', () => {
    expect(ps('{{.ID}}: {{.Command}}', ROWS.slice(3, 5))).toBe('ea09c3c82f6e: "top"\nb3e1c0ed5bfe: "sleep 1000"');
  });

  test('"table {{.ID}}\\t{{.Labels}}"', () => {
    expect(ps('table {{.ID}}\\t{{.Labels}}', ROWS.slice(0, 3))).toBe([
      'CONTAINER ID   LABELS',
      '673394ef1d4c   color=red',
      'd85756f57265   color=blue',
      '715ebfcee040',
    ].join('\n'));
  });

  test('"{{.Names}}\\t{{.Status}}": Docker\'s status words', () => {
    expect(ps('{{.Names}}\\t{{.Status}}\\t{{.RunningFor}}\\t{{.State}}')).toBe([
      'nostalgic_shockley\tUp 45 seconds\t47 seconds ago\trunning',
      'high_albattani\tUp 45 seconds\t47 seconds ago\trunning',
      'i_am_nostalgic\tUp 1 second\t3 seconds ago\trunning',
      'desperate_leakey\tExited (0) 2 weeks ago\t2 weeks ago\texited',
      'grave_kowalevski\tExited (137) 5 seconds ago\t12 seconds ago\texited',
      'tender_torvalds\tCreated\t47 seconds ago\tcreated',
    ].join('\n'));
  });

  test('the other placeholders', () => {
    expect(ps('{{.Ports}}|{{.Networks}}|{{.Image}}|{{.Size}}|{{.Mounts}}|{{.Label "color"}}|{{join .IPAddresses ", "}}', [ROWS[0]!, ROWS[3]!, ROWS[5]!])).toBe([
      '|bridge||0B||red|bridge/172.17.0.2',
      '127.0.0.1:5000->5000/tcp|||0B|||',
      '|host||0B|||',
    ].join('\n'));
    expect(ps('table {{.ID}}\\t{{join .IPAddresses ", "}}', ROWS.slice(0, 2))).toBe(
      'CONTAINER ID   IP ADDRESSES\n673394ef1d4c   bridge/172.17.0.2\nd85756f57265   foo/172.19.0.2',
    );
  });

  test('json: Docker\'s keys, sorted', () => {
    expect(JSON.parse(ps('json', ROWS.slice(4, 5)))).toEqual({
      Command: '"sleep 1000"', CreatedAt: goTime(ago(12), false), ID: 'b3e1c0ed5bfe', IPAddresses: [], Image: '', Labels: '', LocalVolumes: '0', Mounts: '',
      Names: 'grave_kowalevski', Networks: '', Ports: '', RunningFor: '12 seconds ago', Size: '0B', State: 'exited', Status: 'Exited (137) 5 seconds ago',
    });
    expect(goTime('2021-03-10T00:15:05.000Z', false)).toBe('2021-03-10 00:15:05 +0000 UTC');
  });
});

describe('docker inspect -f / docker network inspect -f', () => {
  test.each([
    ['{{.NetworkSettings.IPAddress}}', '172.17.0.2'],
    ['{{.ID}} {{.Id}}', 'abc abc'], // Docker's Go struct says ID, its JSON Id: both work
    ['{{json .Config}}', '{"Labels":{}}'],
  ])('%s', (tpl, want) => {
    expect(renderInspect(inspectFormat(tpl)!, [{ Id: 'abc', Config: { Labels: {} }, NetworkSettings: { IPAddress: '172.17.0.2' } }])).toBe(want);
  });

  test('"{{.ID}}" of a network, one line per object; "json" and nothing mean the JSON array', () => {
    expect(renderInspect(inspectFormat('{{.ID}}')!, [{ Name: 'net1', Id: '8c0b4110ae93' }, { Name: 'net2', Id: '7b369448dccb' }])).toBe('8c0b4110ae93\n7b369448dccb');
    expect(inspectFormat('json')).toBeUndefined();
    expect(inspectFormat(undefined)).toBeUndefined();
  });
});

describe("Docker's durations (units.HumanDuration)", () => {
  test.each([
    [0.5, 'Less than a second'], [1, '1 second'], [59, '59 seconds'], [60, 'About a minute'], [119, 'About a minute'], [120, '2 minutes'],
    [3599, '59 minutes'], [3600, 'About an hour'], [5400, '2 hours'], [47 * 3600, '47 hours'], [48 * 3600, '2 days'],
    [14 * 86400, '2 weeks'], [60 * 86400, '2 months'], [800 * 86400, '2 years'],
  ])('%d s: %s', (s, want) => {
    expect(humanDuration(s * 1000)).toBe(want);
  });

  test('status words', () => {
    expect(statusText(ROWS[0]!.sb, 'running', NOW)).toBe('Up 45 seconds');
    expect(statusText(ROWS[3]!.sb, 'exited', NOW)).toBe('Exited (0) 2 weeks ago');
    expect(statusText(ROWS[5]!.sb, 'created', NOW)).toBe('Created');
    expect(statusText(ROWS[5]!.sb, 'removing', NOW)).toBe('Removal In Progress');
  });
});
