// The shapes of nsnet's output against Docker 20.10's documented output for
// the same scenario: header lines and column order, the keys and value types
// of inspect's JSON (compared recursively), the lines of `port`. Each case
// quotes Docker's output as the reference page on docs.docker.com shows it
// (or, where a page shows none, as Docker 20.10 prints it, said so), then
// builds the same scenario from sandbox and network records and renders it
// with nsnet's own pure functions.
import { describe, expect, test } from 'vitest';
import { composeStatuses } from '../../src/cli/compose.js';
import { filterNetworks, NETWORK_FILTERS, parseFilters } from '../../src/cli/filter.js';
import { inspectFormat, listFormat, renderInspect, renderList } from '../../src/cli/format.js';
import {
  byNaturalName, COMPOSE_PS_FIELD_HEADERS, COMPOSE_PS_TABLE, composePsContext, networkContext, NETWORK_FIELD_HEADERS, NETWORK_LS_HEADERS,
  networkLsRow, psContext, PS_FIELD_HEADERS,
} from '../../src/cli/list-context.js';
import { table } from '../../src/cli/output.js';
import { portLines } from '../../src/cli/port.js';
import { inspectNetwork } from '../../src/docker/network.js';
import { bindingHostIps, displayablePorts, parseExpose } from '../../src/docker/ports.js';
import { apiPorts, inspectSandbox, portMap, psRow, PS_HEADERS } from '../../src/docker/sandbox-view.js';
import type { EndpointRecord, NetworkRecord, SandboxRecord } from '../../src/docker/types.js';

// ---- comparing shapes --------------------------------------------------------

type Kind = 'string' | 'number' | 'boolean' | 'array' | 'object' | 'null';
const kind = (v: unknown): Kind => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'object' ? 'object' : (typeof v as Kind));

/**
 * Where two JSON values differ in shape: keys Docker has that nsnet lacks
 * (`missing`), keys nsnet adds (`extra`), and values of another type
 * (`types`). Go's nil slices, maps and pointers marshal as null, so null
 * matches a list or an object (Docker prints `"Links": null` or a list, by
 * the data). Under `maps` (paths whose keys are data: network names, port
 * keys, labels, ids) the keys are not compared, the values' shapes are.
 */
function shapeDiff(docker: unknown, ours: unknown, maps: readonly string[] = [], path = ''): { missing: string[]; extra: string[]; types: string[] } {
  const out = { missing: [] as string[], extra: [] as string[], types: [] as string[] };
  const [a, b] = [kind(docker), kind(ours)];
  if (a !== b) {
    const nullable = (x: Kind, y: Kind) => x === 'null' && (y === 'array' || y === 'object');
    if (!nullable(a, b) && !nullable(b, a)) out.types.push(`${path || '.'}: Docker ${a}, nsnet ${b}`);
    return out;
  }
  const merge = (d: ReturnType<typeof shapeDiff>) => {
    out.missing.push(...d.missing);
    out.extra.push(...d.extra);
    out.types.push(...d.types);
  };
  if (a === 'array') {
    const [x, y] = [(docker as unknown[])[0], (ours as unknown[])[0]];
    if (x !== undefined && y !== undefined) merge(shapeDiff(x, y, maps, `${path}[]`));
    return out;
  }
  if (a !== 'object') return out;
  const [d, o] = [docker as Record<string, unknown>, ours as Record<string, unknown>];
  if (maps.includes(path)) {
    const first = (m: Record<string, unknown>) => Object.values(m).find((v) => v !== null) ?? Object.values(m)[0];
    const [x, y] = [first(d), first(o)];
    if (x !== undefined && y !== undefined) merge(shapeDiff(x, y, maps, `${path}.*`));
    return out;
  }
  for (const k of Object.keys(d)) {
    const p = path ? `${path}.${k}` : k;
    if (!(k in o)) out.missing.push(p);
    else merge(shapeDiff(d[k], o[k], maps, p));
  }
  for (const k of Object.keys(o)) if (!(k in d)) out.extra.push(path ? `${path}.${k}` : k);
  return out;
}

/** A table's columns as a person reads them: cells split at runs of 2+ spaces (Docker's tabwriter pads with 3). */
const columns = (line: string) => line.trim().split(/ {2,}/);

// ---- the scenario: records as nsnet keeps them --------------------------------

const NOW = Date.parse('2021-03-10T00:20:00Z');
const at = (secondsAgo: number) => new Date(NOW - secondsAgo * 1000).toISOString();
const hex = (p: string) => p.padEnd(64, '0');

const net = (name: string, id: string, more: Partial<NetworkRecord> = {}): NetworkRecord => ({
  id: hex(id), name, driver: 'bridge', created: '2021-03-09T21:41:29.798Z', builtin: false, internal: false, options: {}, labels: {}, ...more,
});
const BRIDGE = net('bridge', 'b2b1a2cba717', {
  builtin: true, defaultBridge: true, bridge: 'nsnet0', subnet: '172.17.0.0/16', gateway: '172.17.0.1',
  options: {
    'com.docker.network.bridge.default_bridge': 'true', 'com.docker.network.bridge.enable_icc': 'true',
    'com.docker.network.bridge.enable_ip_masquerade': 'true', 'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
    'com.docker.network.bridge.name': 'nsnet0', 'com.docker.network.driver.mtu': '1500',
  },
});
const SIMPLE = net('simple-network', '69568e6336d8', { subnet: '172.22.0.0/16', gateway: '172.22.0.1', bridge: 'br-69568e6336d8' });
const NETS = [
  BRIDGE,
  net('none', '9f904ee27bf5', { builtin: true, driver: 'null' }),
  net('host', 'cf03ee007fb4', { builtin: true, driver: 'host' }),
  net('test1', 'db9db329f835'),
  net('test2', 'f6e212da9dfd'),
  SIMPLE,
];

const ep = (n: NetworkRecord, ip: string, more: Partial<EndpointRecord> = {}): EndpointRecord => ({
  networkId: n.id, endpointId: hex('5ac7d6d3aafa'), ifname: 'eth0', hostVeth: 'veth0a1b2c3', ip, prefixlen: 16,
  mac: `02:42:ac:11:00:0${ip.slice(-1)}`, gateway: n.gateway!, aliases: [], staticIp: false, ...more,
});
const sandbox = (name: string, id: string, more: Partial<SandboxRecord> = {}): SandboxRecord => ({
  id: hex(id), name, created: at(5), status: 'running', mode: 'bridge', networkMode: 'bridge', hostname: id.slice(0, 12), netns: name,
  endpoints: [], ports: [], links: [], dns: [], dnsSearch: [], dnsOptions: [], extraHosts: [], command: ['top'], startedAt: at(4), pid: 4242, ...more,
});
const PATHS = (sb: SandboxRecord) => ({ etcNetns: '/etc/netns', logPath: `/run/nsnet/logs/${sb.id}.log` });

// `docker run -d --expose=8080 busybox top` and `docker run -d --publish=80 busybox top` (docker ps, "publish and expose").
const EXPOSED = sandbox('dreamy_mccarthy', '9833437217a5', { endpoints: [ep(BRIDGE, '172.17.0.3')], exposed: parseExpose('8080') });
const PUBLISHED = sandbox('admiring_roentgen', 'fc7e477723b7', {
  created: at(50), startedAt: at(50), endpoints: [ep(BRIDGE, '172.17.0.2')], exposed: ['80/tcp'],
  ports: [{ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 32768, containerPort: 80, ip: '172.17.0.2' }],
});

describe('docker ps', () => {
  // https://docs.docker.com/engine/reference/commandline/ps/#publish-and-expose (Docker 20.10):
  const DOCKER = [
    'CONTAINER ID   IMAGE     COMMAND   CREATED          STATUS          PORTS                   NAMES',
    '9833437217a5   busybox   "top"     5 seconds ago    Up 4 seconds    8080/tcp                dreamy_mccarthy',
    'fc7e477723b7   busybox   "top"     50 seconds ago   Up 50 seconds   0.0.0.0:32768->80/tcp   admiring_roentgen',
  ].join('\n');

  test('the default table: Docker\'s columns in Docker\'s order, the network where Docker has the image', () => {
    const ours = table([EXPOSED, PUBLISHED].map((sb) => psRow(sb, 'running', false, NOW)), PS_HEADERS);
    // Same text but for that one column ("busybox" and "bridge" are as wide: the table lines up the same).
    expect(ours).toBe(DOCKER.replace('IMAGE  ', 'NETWORK').replace(/busybox/g, 'bridge '));
    const [dockerHeader, ourHeader] = [columns(DOCKER.split('\n')[0]!), columns(ours.split('\n')[0]!)];
    expect(ourHeader.map((h, i) => (h === dockerHeader[i] ? h : `${dockerHeader[i]}->${h}`))).toEqual(
      ['CONTAINER ID', 'IMAGE->NETWORK', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'],
    );
  });

  // https://docs.docker.com/engine/reference/commandline/ps/#formatting
  const render = (format: string, rows: SandboxRecord[]) => {
    const f = listFormat(format);
    if (f.kind === 'default') throw new Error('a template was expected');
    return renderList(f, rows.map((sb) => psContext(sb, sb.status, NETS, { noTrunc: false, now: NOW })), PS_FIELD_HEADERS);
  };
  const labelled = [
    sandbox('a', 'a87ecb4f327c', { labels: { 'com.docker.swarm.node': 'ubuntu', 'com.docker.swarm.storage': 'ssd' } }),
    sandbox('b', '01946d9d34d8'),
    sandbox('c', 'c1d3b0166030', { labels: { 'com.docker.swarm.cpu': '6', 'com.docker.swarm.node': 'debian' } }),
  ];

  test('--format "table {{.ID}}\\t{{.Labels}}"', () => {
    const docker = [
      'CONTAINER ID        LABELS',
      'a87ecb4f327c        com.docker.swarm.node=ubuntu,com.docker.swarm.storage=ssd',
      '01946d9d34d8',
      'c1d3b0166030        com.docker.swarm.node=debian,com.docker.swarm.cpu=6',
    ];
    const ours = render('table {{.ID}}\\t{{.Labels}}', labelled).split('\n');
    expect(ours.map(columns)).toEqual(docker.map(columns).map((cells) => cells.map((c) => c.split(',').sort().join(','))));
  });

  test('--format "{{.ID}}: {{.Command}}"', () => {
    // The page shows `a87ecb4f327c: /bin/sh -c #(nop) MA`, from before .Command was quoted (strconv.Quote, Docker 1.13+).
    const docker = ['a87ecb4f327c: /bin/sh -c #(nop) MA', '01946d9d34d8: /bin/sh -c #(nop) MA'];
    const ours = render('{{.ID}}: {{.Command}}', [sandbox('a', 'a87ecb4f327c', { command: ['/bin/sh', '-c', '#(nop) MAINTAINER me'] }), labelled[1]!]).split('\n');
    const shape = /^[0-9a-f]{12}: \S.*$/;
    for (const line of [...docker, ...ours]) expect(line).toMatch(shape);
    expect(ours).toEqual(['a87ecb4f327c: "/bin/sh -c #(nop) M…"', '01946d9d34d8: "top"']); // Ellipsis(cmd, 20): 19 characters and "…"
  });

  test('{{json .}}: Docker 20.10\'s keys and types (the page shows none; this is 20.10\'s ContainerContext marshalled)', () => {
    const docker = {
      Command: '"top"', CreatedAt: '2021-03-10 00:19:10 +0000 UTC', ID: '9833437217a5', Image: 'busybox', Labels: '', LocalVolumes: '0', Mounts: '',
      Names: 'dreamy_mccarthy', Networks: 'bridge', Ports: '8080/tcp', RunningFor: '5 seconds ago', Size: '0B', State: 'running', Status: 'Up 4 seconds',
    };
    const ours = JSON.parse(render('{{json .}}', [EXPOSED]));
    expect(shapeDiff(docker, ours)).toEqual({ missing: [], extra: ['IPAddresses'], types: [] });
    expect(ours).toMatchObject({ ...docker, Image: '', CreatedAt: '2021-03-10 00:19:55 +0000 UTC' });
  });

  test('every placeholder Docker\'s `table` knows has Docker\'s title', () => {
    const docker: Record<string, string> = {
      ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', CreatedAt: 'CREATED AT', RunningFor: 'CREATED', Ports: 'PORTS', State: 'STATE',
      Status: 'STATUS', Size: 'SIZE', Names: 'NAMES', Labels: 'LABELS', Mounts: 'MOUNTS', Networks: 'NETWORKS', LocalVolumes: 'LOCAL VOLUMES',
    };
    for (const [field, title] of Object.entries(docker)) {
      expect(render(`table {{.${field}}}`, [])).toBe(title);
    }
    expect(render('table {{.ID}}\\t{{.Label "com.docker.swarm.node"}}', labelled.slice(0, 1))).toBe('CONTAINER ID\na87ecb4f327c   ubuntu');
  });

  test('PORTS as docker/cli\'s DisplayablePorts: ranges only where host and sandbox ports are equal, exposed ones bare', () => {
    const p = (IP: string, PrivatePort: number, PublicPort: number, Type = 'tcp') => ({ IP, PrivatePort, PublicPort, Type });
    // docker ps page: `3300-3310/tcp` for `--expose 3300-3310`.
    expect(displayablePorts(parseExpose('3300-3310').map((k) => p('', Number(k.split('/')[0]), 0)))).toBe('3300-3310/tcp');
    expect(displayablePorts([p('0.0.0.0', 80, 8080)])).toBe('0.0.0.0:8080->80/tcp');
    expect(displayablePorts([p('0.0.0.0', 80, 80), p('0.0.0.0', 81, 81)])).toBe('0.0.0.0:80-81->80-81/tcp');
    // -p 8000-8001:80-81: two mappings, as 20.10 prints them (a range is folded only when host port == sandbox port).
    expect(displayablePorts([p('0.0.0.0', 81, 8001), p('0.0.0.0', 80, 8000)])).toBe('0.0.0.0:8000->80/tcp, 0.0.0.0:8001->81/tcp');
    // A group cut short is printed first, then the open groups in the order they began: Docker's own order.
    expect(displayablePorts([p('', 80, 0), p('', 81, 0), p('', 83, 0), p('', 53, 0, 'udp')])).toBe('80-81/tcp, 53/udp, 83/tcp');
    // With an IPv6 side (only when the sandbox answers there): 20.10 prints the address bare.
    expect(displayablePorts([p('0.0.0.0', 80, 8080), p('::', 80, 8080)])).toBe('0.0.0.0:8080->80/tcp, :::8080->80/tcp');
  });

  test('status words: Docker\'s container State.String()', () => {
    const row = (sb: SandboxRecord, status: SandboxRecord['status']) => psRow(sb, status, false, NOW)[4];
    expect(row(sandbox('x', '1', { startedAt: at(0.2) }), 'running')).toBe('Up Less than a second');
    expect(row(sandbox('x', '1', { startedAt: at(120) }), 'running')).toBe('Up 2 minutes');
    expect(row(sandbox('x', '1', { exitCode: 0, finishedAt: at(120) }), 'exited')).toBe('Exited (0) 2 minutes ago');
    expect(row(sandbox('x', '1'), 'created')).toBe('Created');
    expect(row(sandbox('x', '1'), 'creating')).toBe('Created');
    expect(row(sandbox('x', '1'), 'removing')).toBe('Removal In Progress');
  });
});

describe('docker inspect', () => {
  // What Docker 20.10 prints for `docker run -d -p 8080:80 --expose 443 --name web busybox top` (the inspect
  // page shows no whole object: this is one, abridged where noted). Keys are in Docker's order.
  const DOCKER = {
    Id: hex('4c01db0b339c'), Created: '2021-03-10T00:19:55.123456789Z', Path: 'top', Args: [],
    State: {
      Status: 'running', Running: true, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 4242, ExitCode: 0, Error: '',
      StartedAt: '2021-03-10T00:19:56.234567891Z', FinishedAt: '0001-01-01T00:00:00Z',
    },
    Image: 'sha256:a9d583973f65a19b3bbd7a4312b4e2c27712c44c0ed8b94e9a38cc73b7565b48',
    ResolvConfPath: '/var/lib/docker/containers/4c01/resolv.conf', HostnamePath: '/var/lib/docker/containers/4c01/hostname',
    HostsPath: '/var/lib/docker/containers/4c01/hosts', LogPath: '/var/lib/docker/containers/4c01/4c01-json.log',
    Name: '/web', RestartCount: 0, Driver: 'overlay2', Platform: 'linux', MountLabel: '', ProcessLabel: '', AppArmorProfile: 'docker-default', ExecIDs: null,
    HostConfig: {
      Binds: null, ContainerIDFile: '', LogConfig: { Type: 'json-file', Config: {} }, NetworkMode: 'default',
      PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] }, RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, AutoRemove: false,
      VolumeDriver: '', VolumesFrom: null, CapAdd: null, CapDrop: null, CgroupnsMode: 'private', Dns: [], DnsOptions: [], DnsSearch: [], ExtraHosts: null,
      GroupAdd: null, IpcMode: 'private', Cgroup: '', Links: null, OomScoreAdj: 0, PidMode: '', Privileged: false, PublishAllPorts: false,
      ReadonlyRootfs: false, SecurityOpt: null, UTSMode: '', UsernsMode: '', ShmSize: 67108864, Runtime: 'runc', Isolation: '',
      CpuShares: 0, Memory: 0, // ... and the other resource limits
    },
    GraphDriver: { Data: { MergedDir: '/var/lib/docker/overlay2/x/merged' }, Name: 'overlay2' },
    Mounts: [],
    Config: {
      Hostname: '4c01db0b339c', Domainname: '', User: '', AttachStdin: false, AttachStdout: false, AttachStderr: false,
      ExposedPorts: { '443/tcp': {}, '80/tcp': {} }, Tty: false, OpenStdin: false, StdinOnce: false,
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['top'], Image: 'busybox', Volumes: null,
      WorkingDir: '', Entrypoint: null, OnBuild: null, Labels: {},
    },
    NetworkSettings: {
      Bridge: '', SandboxID: hex('0d3b6f47a3f8'), HairpinMode: false, LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0,
      Ports: { '443/tcp': null, '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }, { HostIp: '::', HostPort: '8080' }] },
      SandboxKey: '/var/run/docker/netns/0d3b6f47a3f8', SecondaryIPAddresses: null, SecondaryIPv6Addresses: null,
      EndpointID: hex('5ac7d6d3aafa'), Gateway: '172.17.0.1', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, IPAddress: '172.17.0.2',
      IPPrefixLen: 16, IPv6Gateway: '', MacAddress: '02:42:ac:11:00:02',
      Networks: {
        bridge: {
          IPAMConfig: null, Links: null, Aliases: null, NetworkID: BRIDGE.id, EndpointID: hex('5ac7d6d3aafa'), Gateway: '172.17.0.1',
          IPAddress: '172.17.0.2', IPPrefixLen: 16, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, MacAddress: '02:42:ac:11:00:02', DriverOpts: null,
        },
      },
    },
  };
  const WEB = sandbox('web', '4c01db0b339c', {
    created: at(5), endpoints: [ep(BRIDGE, '172.17.0.2')], exposed: ['443/tcp', '80/tcp'],
    ports: [{ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, ip: '172.17.0.2' }],
  });
  const ours = inspectSandbox(WEB, WEB, NETS, 'running', PATHS(WEB));
  // Keys with no counterpart in a sandbox: it has no image, no storage driver, no cgroup limits, no terminal settings kept.
  const NOT_IN_A_SANDBOX = [
    'HostConfig.Binds', 'HostConfig.ContainerIDFile', 'HostConfig.LogConfig', 'HostConfig.VolumeDriver', 'HostConfig.VolumesFrom',
    'HostConfig.CapAdd', 'HostConfig.CapDrop', 'HostConfig.CgroupnsMode', 'HostConfig.GroupAdd', 'HostConfig.IpcMode', 'HostConfig.Cgroup',
    'HostConfig.OomScoreAdj', 'HostConfig.Privileged', 'HostConfig.ReadonlyRootfs', 'HostConfig.SecurityOpt', 'HostConfig.UTSMode',
    'HostConfig.UsernsMode', 'HostConfig.ShmSize', 'HostConfig.Runtime', 'HostConfig.Isolation', 'HostConfig.CpuShares', 'HostConfig.Memory',
    'GraphDriver', 'Config.AttachStdin', 'Config.AttachStdout', 'Config.AttachStderr', 'Config.Tty', 'Config.OpenStdin', 'Config.StdinOnce',
    'Config.Volumes', 'Config.OnBuild',
  ];
  const MAPS = ['HostConfig.PortBindings', 'Config.ExposedPorts', 'Config.Labels', 'NetworkSettings.Ports', 'NetworkSettings.Networks'];

  test('the keys and value types scripts read, recursively; what is left out is listed', () => {
    expect(shapeDiff(DOCKER, ours, MAPS)).toEqual({ missing: NOT_IN_A_SANDBOX, extra: [], types: [] });
    expect(Object.keys(ours)).toEqual(Object.keys(DOCKER).filter((k) => !NOT_IN_A_SANDBOX.includes(k)));
  });

  test('the same for a sandbox on a user-defined network, and for an exited one', () => {
    const onSimple = sandbox('db', 'd85756f57265', { networkMode: 'simple-network', endpoints: [ep(SIMPLE, '172.22.0.2', { aliases: ['db'] })] });
    const user = inspectSandbox(onSimple, onSimple, NETS, 'exited', PATHS(onSimple)) as typeof DOCKER;
    const dockerUser = { ...DOCKER, NetworkSettings: { ...DOCKER.NetworkSettings, Networks: { 'simple-network': { ...DOCKER.NetworkSettings.Networks.bridge, Aliases: ['db', 'd85756f57265'] } } } };
    const diff = shapeDiff(dockerUser, user, MAPS);
    expect({ ...diff, missing: diff.missing.sort() }).toEqual({ missing: [...NOT_IN_A_SANDBOX, 'Config.ExposedPorts'].sort(), extra: [], types: [] }); // no port exposed: omitted, as Docker's omitempty
    // Docker fills the top-level addresses from the default bridge only.
    expect(user.NetworkSettings).toMatchObject({ IPAddress: '', Gateway: '', Bridge: '' });
    expect(user.NetworkSettings.Ports).toEqual({});
    expect(user.State).toMatchObject({ Status: 'exited', Running: false, Pid: 0 });
  });

  // https://docs.docker.com/engine/reference/commandline/inspect/#examples
  test.each([
    ["{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", '172.17.0.2'],
    ["{{range .NetworkSettings.Networks}}{{.MacAddress}}{{end}}", '02:42:ac:11:00:02'],
    ['{{.LogPath}}', `/run/nsnet/logs/${WEB.id}.log`],
    ['{{.NetworkSettings.IPAddress}}', '172.17.0.2'],
    ['{{range $p, $conf := .NetworkSettings.Ports}} {{$p}} -> {{(index $conf 0).HostPort}} {{end}}', null], // 443/tcp has no binding: index fails, as on Docker
    ['{{json .NetworkSettings.Ports}}', '{"443/tcp":null,"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"}]}'],
  ])('-f %s', (tpl, want) => {
    const run = () => renderInspect(inspectFormat(tpl)!, [ours]);
    if (want === null) expect(run).toThrow(/error calling index/);
    else expect(run()).toBe(want);
  });

  test("-f '{{range $p, $conf := .NetworkSettings.Ports}} {{$p}} -> {{(index $conf 0).HostPort}} {{end}}' on published ports", () => {
    const published = inspectSandbox({ ...WEB, exposed: ['80/tcp'] }, WEB, NETS, 'running', PATHS(WEB));
    // Docker: " 80/tcp -> 8080 " (its IPv6 side comes second in the list: index 0 is the same either way).
    expect(renderInspect(inspectFormat('{{range $p, $conf := .NetworkSettings.Ports}} {{$p}} -> {{(index $conf 0).HostPort}} {{end}}')!, [published])).toBe(' 80/tcp -> 8080 ');
  });

  test('{{json .Config}}: Docker\'s Config keys (those a sandbox has)', () => {
    const config = JSON.parse(renderInspect(inspectFormat('{{json .Config}}')!, [ours]));
    expect(shapeDiff(DOCKER.Config, config, ['ExposedPorts', 'Labels']).missing).toEqual(NOT_IN_A_SANDBOX.filter((k) => k.startsWith('Config.')).map((k) => k.slice('Config.'.length)));
    expect(config).toMatchObject({ Hostname: '4c01db0b339c', Cmd: ['top'], ExposedPorts: { '443/tcp': {}, '80/tcp': {} }, Image: '' });
  });

  test('NetworkSettings.Ports lists "::" only for a sandbox that answers on IPv6 (nftables DNAT, no proxy on [::])', () => {
    expect(bindingHostIps('0.0.0.0', false)).toEqual(['0.0.0.0']);
    expect(bindingHostIps('0.0.0.0', true)).toEqual(['0.0.0.0', '::']);
    expect(bindingHostIps('127.0.0.1', true)).toEqual(['127.0.0.1']);
    // The binding's own ip6 (the ip6 DNAT it has) says so.
    const dual = { ...WEB, endpoints: [ep(BRIDGE, '172.17.0.2', { ip6: 'fd00::2' })], ports: WEB.ports.map((p) => ({ ...p, ip6: 'fd00::2' })) };
    expect(portMap(dual)['80/tcp']).toEqual(DOCKER.NetworkSettings.Ports['80/tcp']);
    expect(portMap(WEB)['80/tcp']).toEqual([{ HostIp: '0.0.0.0', HostPort: '8080' }]);
    expect(apiPorts(WEB).map((p) => p.IP)).toEqual(['', '0.0.0.0']); // 443 exposed only, 80 bound
    // A "::" binding (-p [::]:8080:80) is listed as it is.
    expect(portMap({ ...dual, ports: [{ ...dual.ports[0]!, hostIp: '::' }] })['80/tcp']).toEqual([{ HostIp: '::', HostPort: '8080' }]);
  });
});

describe('docker network ls', () => {
  const sorted = [...NETS].sort(byNaturalName);
  const ls = (nets: NetworkRecord[]) => table(nets.map((n) => networkLsRow(n, false)), NETWORK_LS_HEADERS);

  // https://docs.docker.com/engine/reference/commandline/network_ls/ (Docker 20.10's padding)
  test('the default table: NETWORK ID, NAME, DRIVER, SCOPE', () => {
    const docker = [
      'NETWORK ID     NAME      DRIVER    SCOPE',
      '7fca4eb8c647   bridge    bridge    local',
      '9f904ee27bf5   none      null      local',
      'cf03ee007fb4   host      host      local',
    ];
    const ours = ls(NETS.slice(0, 3)).split('\n');
    // Line for line the same, once the ids (random on both) are Docker's.
    expect(ours.map((l, i) => (i === 0 ? l : docker[i]!.slice(0, 12) + l.slice(12)))).toEqual(docker);
  });

  test('--format "{{.ID}}: {{.Driver}}"', () => {
    const docker = ['afaaab448eb2: bridge', 'd1584f8dc718: host', '391df270dc66: null'];
    const f = listFormat('{{.ID}}: {{.Driver}}');
    if (f.kind === 'default') throw new Error('a template was expected');
    const ours = renderList(f, sorted.filter((n) => n.builtin).map((n) => networkContext(n, false)), NETWORK_FIELD_HEADERS).split('\n');
    for (const line of [...docker, ...ours]) expect(line).toMatch(/^[0-9a-f]{12}: (bridge|host|null)$/);
    expect(ours.map((l) => l.split(': ')[1])).toEqual(['bridge', 'host', 'null']);
  });

  test.each([
    // https://docs.docker.com/engine/reference/commandline/network_ls/#driver
    [['driver=bridge'], [], ['NETWORK ID          NAME                DRIVER              SCOPE', 'db9db329f835        test1               bridge              local', 'f6e212da9dfd        test2               bridge              local'], ['bridge', 'simple-network', 'test1', 'test2']],
    // https://docs.docker.com/engine/reference/commandline/network_ls/#dangling
    [['dangling=true'], ['bridge', 'simple-network'], ['NETWORK ID          NAME                DRIVER              SCOPE', '0656a3a3f4cd        foo                 bridge              local'], ['test1', 'test2']],
  ])('--filter %j', (filters, used, docker, names) => {
    const shown = filterNetworks(sorted, parseFilters(filters, NETWORK_FILTERS), (n) => used.includes(n.name));
    expect(shown.map((n) => n.name)).toEqual(names);
    const ours = ls(shown).split('\n');
    expect(columns(ours[0]!)).toEqual(columns(docker[0]!));
    for (const line of ours.slice(1)) expect(columns(line)).toEqual([expect.stringMatching(/^[0-9a-f]{12}$/), expect.any(String), 'bridge', 'local']);
  });
});

describe('docker network inspect', () => {
  // https://docs.docker.com/engine/reference/commandline/network_inspect/ and network_create (Docker 20.10): a
  // user-defined bridge network with one container attached.
  const DOCKER = {
    Name: 'simple-network', Id: SIMPLE.id, Created: '2021-03-09T21:41:29.798163387Z', Scope: 'local', Driver: 'bridge', EnableIPv6: false,
    IPAM: { Driver: 'default', Options: {}, Config: [{ Subnet: '172.22.0.0/16', Gateway: '172.22.0.1' }] },
    Internal: false, Attachable: false, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false,
    Containers: {
      [hex('39b69226f9d7')]: { Name: 'mad_mclean', EndpointID: hex('5ac7d6d3aafa'), MacAddress: '02:42:ac:16:00:02', IPv4Address: '172.22.0.2/16', IPv6Address: '' },
    },
    Options: {}, Labels: {},
  };
  const member = sandbox('mad_mclean', '39b69226f9d7', { networkMode: 'simple-network', endpoints: [ep(SIMPLE, '172.22.0.2')] });

  test('the key set and value types, recursively', () => {
    const ours = inspectNetwork(SIMPLE, [member]) as typeof DOCKER;
    expect(shapeDiff(DOCKER, ours, ['Containers', 'Options', 'Labels'])).toEqual({ missing: [], extra: [], types: [] });
    expect(Object.keys(ours)).toEqual(Object.keys(DOCKER));
    expect(ours.Containers[member.id]).toMatchObject({ Name: 'mad_mclean', IPv4Address: '172.22.0.2/16', IPv6Address: '' });
  });

  test('the default bridge: Docker\'s Options keys', () => {
    const ours = inspectNetwork(BRIDGE, []) as { Options: Record<string, string>; IPAM: { Config: object[] } };
    expect(Object.keys(ours.Options)).toEqual([
      'com.docker.network.bridge.default_bridge', 'com.docker.network.bridge.enable_icc', 'com.docker.network.bridge.enable_ip_masquerade',
      'com.docker.network.bridge.host_binding_ipv4', 'com.docker.network.bridge.name', 'com.docker.network.driver.mtu',
    ]);
    expect(ours.IPAM.Config).toEqual([{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }]);
  });

  test('-f \'{{range .IPAM.Config}}{{.Subnet}}{{end}}\'', () => {
    expect(renderInspect(inspectFormat('{{range .IPAM.Config}}{{.Subnet}}{{end}}')!, [inspectNetwork(SIMPLE, [])])).toBe('172.22.0.0/16');
  });
});

describe('docker port', () => {
  // https://docs.docker.com/engine/reference/commandline/port/#examples
  const test1 = sandbox('test', 'b650456536c7', {
    endpoints: [ep(BRIDGE, '172.17.0.4')], exposed: ['7890/tcp', '9876/tcp'],
    ports: [
      { proto: 'tcp', hostIp: '0.0.0.0', hostPort: 1234, containerPort: 9876, ip: '172.17.0.4' },
      { proto: 'tcp', hostIp: '0.0.0.0', hostPort: 4321, containerPort: 7890, ip: '172.17.0.4' },
    ],
  });

  test.each([
    [undefined, ['7890/tcp -> 0.0.0.0:4321', '9876/tcp -> 0.0.0.0:1234']],
    ['7890/tcp', ['0.0.0.0:4321']],
    ['7890', ['0.0.0.0:4321']],
  ])('docker port test %s', (want, docker) => {
    expect(portLines('test', portMap(test1), want)).toEqual(docker);
  });

  test('docker port test 7890/udp: the error', () => {
    expect(() => portLines('test', portMap(test1), '7890/udp')).toThrow("No public port '7890/udp' published for test");
  });

  test('nsnet port web 80: 0.0.0.0:8080, and without the port 80/tcp -> 0.0.0.0:8080', () => {
    const web = sandbox('web', '4c01db0b339c', { endpoints: [ep(BRIDGE, '172.17.0.2')], exposed: ['80/tcp'], ports: [{ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, ip: '172.17.0.2' }] });
    expect(portLines('web', portMap(web))).toEqual(['80/tcp -> 0.0.0.0:8080']);
    expect(portLines('web', portMap(web), '80')).toEqual(['0.0.0.0:8080']);
  });
});

describe('docker compose ps (Compose v2)', () => {
  // https://docs.docker.com/engine/reference/commandline/compose_ps/
  const DOCKER_TABLE = [
    'NAME            IMAGE     COMMAND           SERVICE    CREATED         STATUS          PORTS',
    'example-foo-1   alpine    "/entrypoint.…"   foo        4 seconds ago   Up 2 seconds    0.0.0.0:8080->80/tcp',
  ];
  const DOCKER_JSON = [
    {
      ID: '1553b0236cf4d2715845f053a4ee97042c4f9a2ef655731ee34f1f7940eaa41a', Name: 'example-bar-1', Command: "/docker-entrypoint.sh nginx -g 'daemon off;'",
      Project: 'example', Service: 'bar', State: 'exited', Health: '', ExitCode: 0, Publishers: null,
    },
    {
      ID: 'f02a4efaabb67416e1ff127d51c4b5578634a0ad5743bd65225ff7d1909a3fa0', Name: 'example-foo-1', Command: "/docker-entrypoint.sh nginx -g 'daemon off;'",
      Project: 'example', Service: 'foo', State: 'running', Health: '', ExitCode: 0, Publishers: [{ URL: '0.0.0.0', TargetPort: 80, PublishedPort: 8080, Protocol: 'tcp' }],
    },
  ];
  const foo = sandbox('example-foo-1', 'f02a4efaabb6', {
    created: at(4), startedAt: at(2), networkMode: 'example_default', endpoints: [ep(SIMPLE, '172.22.0.3')], exposed: ['80/tcp'],
    command: ['/entrypoint.sh', 'nginx'], ports: [{ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, ip: '172.22.0.3' }],
  });
  const row = (sb: SandboxRecord, service: string) =>
    composePsContext(sb, sb.status, { project: 'example', service, networks: ['example_default'], noTrunc: false, now: NOW });

  test('the default table: NAME first, then Compose\'s columns, the networks where Compose has the image', () => {
    const f = listFormat(COMPOSE_PS_TABLE);
    if (f.kind === 'default') throw new Error('a template was expected');
    const ours = renderList(f, [row(foo, 'foo')], COMPOSE_PS_FIELD_HEADERS).split('\n');
    const [d, o] = [columns(DOCKER_TABLE[0]!), columns(ours[0]!)];
    expect(o.map((h, i) => (h === d[i] ? h : `${d[i]}->${h}`))).toEqual(['NAME', 'IMAGE->NETWORKS', 'COMMAND', 'SERVICE', 'CREATED', 'STATUS', 'PORTS']);
    expect(columns(ours[1]!)).toEqual(['example-foo-1', 'example_default', '"/entrypoint.sh nginx"', 'foo', '4 seconds ago', 'Up 2 seconds', '0.0.0.0:8080->80/tcp']);
  });

  test('--format json: Compose\'s keys and types', () => {
    const bar = sandbox('example-bar-1', '1553b0236cf4', { status: 'exited', exitCode: 0, finishedAt: at(1), networkMode: 'example_default', endpoints: [ep(SIMPLE, '172.22.0.2')] });
    const ours = [row(bar, 'bar'), row(foo, 'foo')].map((r) => JSON.parse(JSON.stringify(r)));
    DOCKER_JSON.forEach((docker, i) => expect(shapeDiff(docker, ours[i]).missing).toEqual([]));
    DOCKER_JSON.forEach((docker, i) => expect(shapeDiff(docker, ours[i]).types).toEqual([]));
    expect(ours[1].Publishers).toEqual(DOCKER_JSON[1]!.Publishers);
    expect(ours.map((r) => r.State)).toEqual(['exited', 'running']);
  });

  test('--filter status=X and --status X, as Compose reads them', () => {
    expect(composeStatuses('status=running', ['exited'])).toEqual(['exited', 'running']);
    expect(() => composeStatuses('source=x', [])).toThrow('unknown filter source');
    expect(() => composeStatuses('running', [])).toThrow('arguments to --filter should be in form KEY=VAL');
  });
});
