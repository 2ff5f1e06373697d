// Hostile and careless input, as a table: every row is a command line, the
// exit code it must give (Docker's: 1 for a command's error, 125 for a flag
// that cannot be parsed, for run, and for create's client-side values) and a
// piece of its one-line error. After each row, nothing may be half-made:
// no new namespace, link, nft rule, sandbox record or network, no address
// or port claimed (the next sandbox still gets the next address and port).
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { describeKernel, ipJson, netnsNames, tag } from '../helpers/kernel.js';
import { TestHost } from '../helpers/host.js';

let h: TestHost;
let net: string;
let web: string;
let other: string;

beforeAll(async () => {
  h = await TestHost.make(tag());
  net = `n-${h.tag}`;
  web = h.sb('web');
  await h.ok(['network', 'create', '--subnet', '10.66.0.0/24', net]);
  await h.ok(['create', '--name', web, '--network', net, '--ip', '10.66.0.5', '-p', '18080:80']);
  other = h.sb('other');
  await h.ok(['create', '--name', other]);
}, 30_000);
afterAll(async () => {
  await h?.cleanup();
});

/** Everything a failed command could have left behind. */
async function leftovers() {
  const links = ((await ipJson(['link'], h.name)) as { ifname: string }[]).map((l) => l.ifname).sort();
  const nft = (await h.run(['nft', 'list', 'ruleset'])).stdout;
  const dir = (d: string) => (existsSync(d) ? readdirSync(d).sort() : []);
  return {
    links, nft,
    netns: netnsNames().filter((n) => n.includes(h.tag)).sort(),
    records: dir(path.join(h.root, 'run', 'sandboxes')),
    ports: dir(path.join(h.root, 'run', 'ports')),
    etc: dir(h.etc),
    networks: await h.ok(['network', 'ls', '-q', '--no-trunc']),
  };
}

const long = 'a'.repeat(300);
const T = () => h.tag; // names are made unique per run, as netns names are global

// [what, argv, exit code, expected error (substring or pattern)].
type Row = [string, () => string[], number, string | RegExp];
const rows: Row[] = [
  // names
  ['network name ../x', () => ['network', 'create', '../x'], 1, 'invalid network name "../x"'],
  ['network name a/b', () => ['network', 'create', 'a/b'], 1, 'invalid network name "a/b"'],
  ['network name .', () => ['network', 'create', '.'], 1, 'invalid network name "."'],
  ['network name ..', () => ['network', 'create', '..'], 1, 'invalid network name ".."'],
  ['network name very long', () => ['network', 'create', long], 1, 'at most'],
  ['network name unicode', () => ['network', 'create', `réseau-${T()}`], 1, 'invalid network name'],
  ['network name leading dash', () => ['network', 'create', '--', `-x${T()}`], 1, 'invalid network name'],
  ['network name empty', () => ['network', 'create', ''], 1, 'invalid network name'],
  ['network name newline', () => ['network', 'create', `a\nb${T()}`], 1, 'invalid network name'],
  ['sandbox name ../x', () => ['create', '--name', '../x'], 1, 'invalid sandbox name "../x"'],
  ['sandbox name a/b', () => ['create', '--name', 'a/b'], 1, 'invalid sandbox name "a/b"'],
  ['sandbox name .', () => ['create', '--name', '.'], 1, 'invalid sandbox name'],
  ['sandbox name ..', () => ['create', '--name', '..'], 1, 'invalid sandbox name'],
  ['sandbox name very long', () => ['create', '--name', long], 1, 'at most'],
  ['sandbox name unicode', () => ['create', '--name', `sändbox-${T()}`], 1, 'invalid sandbox name'],
  ['sandbox name leading dash', () => ['create', '--name', `-x${T()}`], 1, 'invalid sandbox name'],
  ['sandbox name .nsnet', () => ['create', '--name', '.nsnet'], 1, 'invalid sandbox name'],
  ['run name ../../etc', () => ['run', '--name', '../../etc', '--', 'true'], 125, 'invalid sandbox name'],
  // subnets
  ['subnet loopback', () => ['network', 'create', '--subnet', '127.0.0.0/8', `x-${T()}`], 1, 'invalid subnet 127.0.0.0/8: loopback addresses (127.0.0.0/8) cannot be used for a network'],
  ['subnet inside loopback', () => ['network', 'create', '--subnet', '127.1.0.0/16', `x-${T()}`], 1, 'loopback addresses (127.0.0.0/8)'],
  ['subnet multicast', () => ['network', 'create', '--subnet', '224.0.0.0/4', `x-${T()}`], 1, 'multicast addresses (224.0.0.0/4) cannot be used'],
  ['subnet this-network', () => ['network', 'create', '--subnet', '0.0.0.0/8', `x-${T()}`], 1, '"this network" addresses (0.0.0.0/8) cannot be used'],
  ['subnet link-local', () => ['network', 'create', '--subnet', '169.254.0.0/16', `x-${T()}`], 1, 'link-local addresses (169.254.0.0/16) cannot be used'],
  ['subnet class E', () => ['network', 'create', '--subnet', '240.0.0.0/4', `x-${T()}`], 1, 'reserved (class E) addresses (240.0.0.0/4) cannot be used'],
  ['subnet broadcast', () => ['network', 'create', '--subnet', '255.255.255.252/30', `x-${T()}`], 1, 'cannot be used for a network'],
  ['subnet containing loopback', () => ['network', 'create', '--subnet', '64.0.0.0/2', `x-${T()}`], 1, 'loopback addresses (127.0.0.0/8)'],
  ['subnet /33', () => ['network', 'create', '--subnet', '10.67.0.0/33', `x-${T()}`], 1, 'invalid subnet 10.67.0.0/33'],
  ['subnet /0', () => ['network', 'create', '--subnet', '0.0.0.0/0', `x-${T()}`], 1, 'prefix length must be /1 to /30'],
  ['subnet /31', () => ['network', 'create', '--subnet', '10.67.0.0/31', `x-${T()}`], 1, 'prefix length must be /1 to /30'],
  ['subnet overlapping', () => ['network', 'create', '--subnet', '10.66.0.128/25', `x-${T()}`], 1, 'Pool overlaps with other one on this address space'],
  ['subnet garbage', () => ['network', 'create', '--subnet', 'banana', `x-${T()}`], 1, 'invalid subnet banana'],
  ['subnet injection', () => ['network', 'create', '--subnet', '10.67.0.0/24;reboot', `x-${T()}`], 1, 'invalid subnet'],
  ['subnet host bits', () => ['network', 'create', '--subnet', '10.67.0.5/24', `x-${T()}`], 1, 'it should be 10.67.0.0/24'],
  ['subnet IPv6 without --ipv6', () => ['network', 'create', '--subnet', 'fd00::/64', `x-${T()}`], 1, 'IPv6 subnet fd00::/64 needs --ipv6'],
  // gateways and ranges
  ['gateway outside', () => ['network', 'create', '--subnet', '10.67.0.0/24', '--gateway', '10.68.0.1', `x-${T()}`], 1, "invalid gateway 10.68.0.1: parent subnet 10.67.0.0/24 doesn't contain this address"],
  ['gateway network address', () => ['network', 'create', '--subnet', '10.67.0.0/24', '--gateway', '10.67.0.0', `x-${T()}`], 1, 'it is the network address'],
  ['gateway broadcast address', () => ['network', 'create', '--subnet', '10.67.0.0/24', '--gateway', '10.67.0.255', `x-${T()}`], 1, 'it is the broadcast address'],
  ['gateway garbage', () => ['network', 'create', '--subnet', '10.67.0.0/24', '--gateway', 'gw', `x-${T()}`], 1, 'invalid gateway gw'],
  ['gateway in loopback', () => ['network', 'create', '--subnet', '127.0.0.0/24', '--gateway', '127.0.0.1', `x-${T()}`], 1, 'loopback addresses'],
  ['ip-range outside', () => ['network', 'create', '--subnet', '10.67.0.0/24', '--ip-range', '10.68.0.0/25', `x-${T()}`], 1, "doesn't contain ip-range"],
  ['ip-range larger', () => ['network', 'create', '--subnet', '10.67.0.0/24', '--ip-range', '10.67.0.0/16', `x-${T()}`], 1, "doesn't contain ip-range"],
  ['ip-range garbage', () => ['network', 'create', '--subnet', '10.67.0.0/24', '--ip-range', 'x', `x-${T()}`], 1, 'invalid ip-range x'],
  ['bridge name traversal', () => ['network', 'create', '-o', 'com.docker.network.bridge.name=../x', `x-${T()}`], 1, 'invalid interface name'],
  ['bridge name too long', () => ['network', 'create', '-o', 'com.docker.network.bridge.name=much-too-long-name', `x-${T()}`], 1, '15'],
  ['driver unknown', () => ['network', 'create', '-d', 'overlay', `x-${T()}`], 1, 'overlay'],
  // --ip
  ['ip outside subnet', () => ['create', '--name', `a-${T()}`, '--network', net, '--ip', '10.99.0.5'], 1, 'address 10.99.0.5 is not in subnet 10.66.0.0/24'],
  ['ip network address', () => ['create', '--name', `a-${T()}`, '--network', net, '--ip', '10.66.0.0'], 1, 'is the network address'],
  ['ip broadcast address', () => ['create', '--name', `a-${T()}`, '--network', net, '--ip', '10.66.0.255'], 1, 'is the broadcast address'],
  ['ip gateway address', () => ['create', '--name', `a-${T()}`, '--network', net, '--ip', '10.66.0.1'], 1, 'already in use by the gateway'],
  ['ip in use', () => ['create', '--name', `a-${T()}`, '--network', net, '--ip', '10.66.0.5'], 1, 'address 10.66.0.5 is already in use'],
  ['ip garbage', () => ['create', '--name', `a-${T()}`, '--network', net, '--ip', '10.66.0.x'], 1, 'invalid IPv4 address'],
  ['ip on default bridge', () => ['create', '--name', `a-${T()}`, '--ip', '172.17.0.9'], 1, 'user defined networks only'],
  ['connect ip in use', () => ['network', 'connect', '--ip', '10.66.0.5', net, other], 1, 'address 10.66.0.5 is already in use'],
  ['connect ip outside', () => ['network', 'connect', '--ip', '10.99.0.5', net, other], 1, 'is not in subnet 10.66.0.0/24'],
  ['connect twice', () => ['network', 'connect', net, web], 1, 'already exists in network'],
  // MACs
  ['mac multicast', () => ['create', '--name', `a-${T()}`, '--mac-address', '01:00:5e:00:00:01'], 125, 'invalid argument "01:00:5e:00:00:01" for "--mac-address" flag: a multicast MAC address'],
  ['mac broadcast', () => ['create', '--name', `a-${T()}`, '--mac-address', 'ff:ff:ff:ff:ff:ff'], 125, '"--mac-address" flag: the broadcast MAC address'],
  ['mac zero', () => ['create', '--name', `a-${T()}`, '--mac-address', '00:00:00:00:00:00'], 125, '"--mac-address" flag: the all-zero MAC address'],
  ['mac malformed', () => ['create', '--name', `a-${T()}`, '--mac-address', '02:42:ac:11:00'], 125, '"--mac-address" flag: not a MAC address'],
  ['mac garbage', () => ['run', '--name', `a-${T()}`, '--mac-address', 'nope', '--', 'true'], 125, '"--mac-address" flag: not a MAC address'],
  // -p
  ['port 0', () => ['create', '--name', `a-${T()}`, '-p', '0:80'], 125, /invalid/],
  ['port 65536', () => ['create', '--name', `a-${T()}`, '-p', '65536:80'], 125, /invalid/],
  ['container port 0', () => ['create', '--name', `a-${T()}`, '-p', '8080:0'], 125, /invalid/],
  ['reversed range', () => ['create', '--name', `a-${T()}`, '-p', '8090-8080:80'], 125, /invalid port range/],
  ['mismatched ranges', () => ['create', '--name', `a-${T()}`, '-p', '8080-8081:80-82'], 125, /invalid ranges/],
  ['port garbage', () => ['create', '--name', `a-${T()}`, '-p', 'eighty'], 125, /invalid/],
  ['proto sctp', () => ['create', '--name', `a-${T()}`, '-p', '8080:80/sctp'], 125, 'invalid proto: sctp'],
  ['proto garbage', () => ['create', '--name', `a-${T()}`, '-p', '8080:80/icmp'], 125, 'invalid proto: icmp'],
  ['port bad host ip', () => ['create', '--name', `a-${T()}`, '-p', '1.2.3:8080:80'], 125, 'invalid IP address'],
  ['port taken', () => ['create', '--name', `a-${T()}`, '-p', '18080:80'], 1, 'port is already allocated'],
  // --add-host, --dns
  ['add-host no ip', () => ['create', '--name', `a-${T()}`, '--add-host', 'db'], 125, '"--add-host" flag'],
  ['add-host bad ip', () => ['create', '--name', `a-${T()}`, '--add-host', 'db:not-an-ip'], 125, 'invalid IP address in add-host: "not-an-ip"'],
  ['add-host host-gateway', () => ['create', '--name', `a-${T()}`, '--add-host', 'gw:host-gateway'], 125, 'host-gateway is not supported'],
  ['add-host newline', () => ['create', '--name', `a-${T()}`, '--add-host', 'db\n6.6.6.6 evil:10.0.0.1'], 125, 'invalid hostname in add-host'],
  ['dns garbage', () => ['create', '--name', `a-${T()}`, '--dns', 'resolver'], 125, 'invalid argument "resolver" for "--dns" flag: IP address is not correctly formatted'],
  ['dns hostname', () => ['create', '--name', `a-${T()}`, '--dns', 'dns.example'], 125, '"--dns" flag'],
  ['dns newline', () => ['create', '--name', `a-${T()}`, '--dns', '1.1.1.1\nnameserver 6.6.6.6'], 125, '"--dns" flag'],
  ['dns-search newline', () => ['create', '--name', `a-${T()}`, '--dns-search', 'a.test\nnameserver 6.6.6.6'], 125, '"--dns-search" flag'],
  ['dns-option space', () => ['create', '--name', `a-${T()}`, '--dns-option', 'ndots:1 x'], 125, '"--dns-option" flag'],
  ['hostname garbage', () => ['create', '--name', `a-${T()}`, '--hostname', '../x'], 125, 'invalid hostname'],
  // --network
  ['network missing', () => ['create', '--name', `a-${T()}`, '--network', 'no-such-net'], 1, 'network no-such-net not found'],
  ['container:missing', () => ['create', '--name', `a-${T()}`, '--network', 'container:no-such-sb'], 1, 'No such sandbox: no-such-sb'],
  ['pid container:missing', () => ['create', '--name', `a-${T()}`, '--pid', 'container:no-such-sb'], 1, 'No such sandbox: no-such-sb'],
  ['link missing', () => ['create', '--name', `a-${T()}`, '--network', net, '--link', 'no-such-sb'], 1, 'No such sandbox: no-such-sb'],
  ['connect to missing network', () => ['network', 'connect', 'no-such-net', web], 1, 'network no-such-net not found'],
  ['connect missing sandbox', () => ['network', 'connect', net, 'no-such-sb'], 1, 'No such sandbox: no-such-sb'],
  // unknown flags, commands, arguments
  ['unknown flag create', () => ['create', '--bogus'], 125, 'unknown flag: --bogus'],
  ['unknown flag network create', () => ['network', 'create', '--bogus', 'x'], 125, 'unknown flag: --bogus'],
  ['unknown global flag', () => ['--bogus', 'ps'], 125, 'unknown flag: --bogus'],
  ['unknown command', () => ['bogus'], 1, 'bogus'],
  ['missing argument', () => ['network', 'create'], 1, 'requires exactly 1 argument'],
  ['rm missing', () => ['rm', 'no-such-sb'], 1, 'No such sandbox: no-such-sb'],
  ['exec missing', () => ['exec', 'no-such-sb', 'true'], 1, 'No such sandbox: no-such-sb'],
  ['network rm builtin', () => ['network', 'rm', 'bridge'], 1, 'pre-defined network'],
];

describeKernel('hostile inputs: refused with Docker\'s code and a clear message, nothing half-made (kernel)', () => {
  test('the table', async () => {
    const before = await leftovers();
    const failures: string[] = [];
    for (const [what, argv, code, message] of rows) {
      const args = argv();
      const r = await h.nsnet(args);
      const first = r.stderr.split('\n')[0] ?? '';
      // One line, "Error: ..." (usage errors: pflag's line, then where to get help).
      const oneLine = first.startsWith('Error: ') ? r.stderr.trim().split('\n').length === 1 : /See 'nsnet.*--help'/.test(r.stderr);
      const ok = r.code === code && oneLine && (typeof message === 'string' ? r.stderr.includes(message) : message.test(r.stderr));
      if (!ok) failures.push(`${what}: ${JSON.stringify(args)} -> exit ${r.code}\n  ${r.stderr.trim().split('\n').join('\n  ')}`);
    }
    expect(failures, failures.join('\n')).toEqual([]);
    expect(await leftovers()).toEqual(before);
    // No address and no port was claimed on the way: the next sandbox gets .2 (the gateway is .1, web .5) and port 18081.
    const next = h.sb('next');
    await h.ok(['create', '--name', next, '--network', net, '-p', '18081:80']);
    const [i] = JSON.parse(await h.ok(['inspect', next]));
    expect(i.NetworkSettings.Networks[net].IPAddress).toBe('10.66.0.2');
  }, 300_000);

  test('compose networks on reserved ranges, and a bad mac_address, are refused the same way', async () => {
    const before = await leftovers();
    const file = path.join(h.root, 'compose.yaml');
    const cases: [string, string, string][] = [
      ['127.0.0.0/8', '', 'invalid subnet 127.0.0.0/8: loopback addresses (127.0.0.0/8) cannot be used for a network'],
      ['224.0.0.0/24', '', 'multicast addresses (224.0.0.0/4) cannot be used'],
      ['169.254.0.0/16', '', 'link-local addresses (169.254.0.0/16) cannot be used'],
      ['10.68.0.0/24', 'mac_address: "01:00:5e:00:00:01"', 'a multicast MAC address'],
    ];
    for (const [subnet, extra, message] of cases) {
      writeFileSync(file, ['services:', `  web: { command: sleep 300${extra ? `, ${extra}` : ''} }`,
        'networks:', `  default: { ipam: { config: [{ subnet: ${subnet} }] } }`].join('\n'));
      const r = await h.nsnet(['compose', '-f', file, '-p', `hostile${h.tag}`, 'up', '-d']);
      expect(r.code, `${subnet}: ${r.stderr}`).toBe(1); // Docker Compose v2 exits 1 for every error
      expect(r.stderr).toContain(message);
      expect(await leftovers(), subnet).toEqual(before);
    }
  }, 120_000);
});
