// `nsnet compose` against the kernel: the seed's simpleweb stack and a
// two-network file with aliases, links, a static address, service: mode and
// a published port. Names are checked from inside the sandboxes (through the
// embedded DNS, as a program would look them up), ports with real packets
// from the host and from a fake WAN, and `down` must leave nothing behind.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { describeKernel, ipJson, netnsNames, tag } from '../helpers/kernel.js';
import { TestHost } from '../helpers/host.js';
import { startUpstream, type Upstream } from '../helpers/upstream-dns.js';
import { WAN, makeWan, type Wan } from '../helpers/wan.js';
import { testDir } from '../helpers/temp-dir.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/compose');
const SIMPLEWEB = path.join(FIXTURES, 'simpleweb/docker-compose.yml');
const SHOP = path.join(FIXTURES, 'shop/compose.yaml');

let h: TestHost;
let wan: Wan;
let upstream: Upstream;
// A WAN with an upstream DNS server: names nobody in the project has get a
// quick NXDOMAIN from upstream, as they would on a real machine, not a timeout.
beforeEach(async () => {
  h = await TestHost.make(tag());
  // No search domain: "db" must not turn into db.example.test, which the upstream knows.
  writeFileSync(h.resolvConf, `nameserver ${WAN.dns}\n`);
  wan = await makeWan(h.ns, h.tag);
  upstream = await startUpstream(wan.ns);
});
afterEach(async () => {
  await h.cleanup();
  await upstream.close();
  await wan.remove().catch(() => {});
});

/** What each name resolves to inside sandbox `sb` ('' when it does not), in one exec. */
async function resolveAll(sb: string, names: string[]): Promise<Record<string, string>> {
  const script = 'for n in "$@"; do a=$(getent ahostsv4 "$n" | head -n1); echo "$n ${a%% *}"; done';
  const r = await h.nsnet(['exec', sb, 'sh', '-c', script, 'sh', ...names]);
  if (r.code !== 0) throw new Error(`resolving in ${sb}: ${r.stderr}`);
  return Object.fromEntries(r.stdout.split('\n').filter(Boolean).map((l) => [l.split(' ')[0]!, (l.split(' ')[1] ?? '').trim()]));
}
const resolve = async (sb: string, name: string) => (await resolveAll(sb, [name]))[name]!;

/** An HTTP status from `run`, retried while the server starts. */
async function httpStatus(run: (cmd: string[]) => Promise<{ stdout: unknown; exitCode?: number }>, url: string): Promise<string> {
  for (let i = 0; i < 40; i++) {
    const r = await run(['curl', '-s', '-m', '1', '-o', '/dev/null', '-w', '%{http_code}', url]);
    if (r.exitCode === 0) return String(r.stdout);
    await new Promise((res) => setTimeout(res, 100));
  }
  return 'unreachable';
}
const inSandbox = (sb: string) => async (cmd: string[]) => {
  const r = await h.nsnet(['exec', sb, ...cmd]);
  return { stdout: r.stdout, exitCode: r.code };
};
const inHost = (cmd: string[]) => h.run(cmd);

async function projectLeftovers(project: string): Promise<string[]> {
  const nets = (await h.ok(['network', 'ls', '--format', 'json'])).split('\n').filter(Boolean).map((l) => JSON.parse(l).Name as string);
  const sandboxes = (await h.ok(['ps', '-a', '--format', 'json'])).split('\n').filter(Boolean).map((l) => JSON.parse(l).Names as string);
  return [...nets, ...sandboxes, ...netnsNames()].filter((n) => n.startsWith(`${project}_`));
}

describeKernel('compose (kernel)', () => {
  test("the seed's simpleweb: <project>_default, names resolve, other networks stay apart, down removes everything", async () => {
    const p = `sw${h.tag}`;
    const up = await h.nsnet(['compose', '-f', SIMPLEWEB, '-p', p, 'up', '-d']);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toContain(`Network ${p}_default  Created`);
    expect(up.stderr).toContain(`Sandbox ${p}_apache_1  Started`);
    expect(up.stdout).toBe('');

    const [net] = JSON.parse(await h.ok(['network', 'inspect', `${p}_default`]));
    expect(net.Labels).toMatchObject({ 'com.docker.compose.project': p, 'com.docker.compose.network': 'default' });
    // Two veths on the project's bridge, as the seed's `ip addr show` has them.
    const bridge = `br-${net.Id.slice(0, 12)}`;
    const ports = (await ipJson(['link', 'show', 'master', bridge], h.name)) as { ifname: string }[];
    expect(ports.map((l) => l.ifname)).toEqual([expect.stringMatching(/^veth/), expect.stringMatching(/^veth/)]);

    const ps = (await h.ok(['compose', '-f', SIMPLEWEB, '-p', p, 'ps', '--format', 'json'])).split('\n').map((l) => JSON.parse(l));
    expect(ps.map((r) => [r.Name, r.Service, r.State, r.Networks])).toEqual([
      [`${p}_apache_1`, 'apache', 'running', `${p}_default`],
      [`${p}_postgres_1`, 'postgres', 'running', `${p}_default`],
    ]);
    // Docker Compose v2's columns, the networks in IMAGE's place.
    const table = await h.ok(['compose', '-p', p, 'ps']); // by label: no file needed
    expect(table.split('\n')[0]).toMatch(/^NAME\s+NETWORKS\s+COMMAND\s+SERVICE\s+CREATED\s+STATUS\s+PORTS$/);
    expect(table).toMatch(new RegExp(`${p}_postgres_1\\s+${p}_default\\s+"python3 -m http\\.ser…"\\s+postgres\\s+\\S.* ago\\s+Up `));

    // Service name and sandbox name resolve; the "database" answers.
    const apache = `${p}_apache_1`;
    const pgIp = ps[1].IPAddress;
    expect(await resolve(apache, 'postgres')).toBe(pgIp);
    expect(await resolve(apache, `${p}_postgres_1`)).toBe(pgIp);
    expect(await httpStatus(inSandbox(apache), 'http://postgres:5432/')).toBe('200');

    // The seed's "no service discovery and no communication between different bridge networks".
    const mynet = `mynet${h.tag}`;
    const db = h.sb('db');
    await h.ok(['network', 'create', mynet]);
    await h.ok(['run', '-d', '--name', db, '--network', mynet, '--network-alias', 'db', '--', 'sleep', '300']);
    const [dbInfo] = JSON.parse(await h.ok(['inspect', db]));
    const dbIp = dbInfo.NetworkSettings.Networks[mynet].IPAddress;
    expect(await resolve(apache, 'db')).toBe('');
    expect((await h.nsnet(['exec', apache, 'ping', '-c1', '-W1', dbIp])).code).not.toBe(0);
    expect(await resolve(db, 'postgres')).toBe('');
    expect((await h.nsnet(['exec', db, 'ping', '-c1', '-W1', pgIp])).code).not.toBe(0);

    const down = await h.nsnet(['compose', '-f', SIMPLEWEB, '-p', p, 'down']);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stderr).toContain(`Network ${p}_default  Removed`);
    expect(await projectLeftovers(p)).toEqual([]);
    expect((await h.run(['ip', 'link', 'show', bridge])).exitCode).not.toBe(0);
    expect((await h.run(['nft', 'list', 'set', 'ip', 'nsnet', 'bridges'])).stdout).not.toContain(bridge);
    // Not the project's: mynet and db are still there.
    expect(await h.ok(['network', 'ls'])).toContain(mynet);
    const again = await h.nsnet(['compose', '-p', p, 'down']);
    expect(again.stderr).toContain(`No resource found to remove for project "${p}"`);
  }, 60_000);

  test('two networks, aliases, links, a static address, service: mode and a published port; up is idempotent; a changed file recreates', async () => {
    const p = `shop${h.tag}`;
    const compose = (args: string[], env: Record<string, string> = {}) => h.nsnet(['compose', '-f', SHOP, '-p', p, ...args], { env, timeout: 30_000 });
    const up = await compose(['up']);
    expect(up.code, up.stderr).toBe(0);
    const sb = (s: string) => `${p}_${s}_1`;

    // web is on front only: its aliases and api's resolve; back's db does not, nor api's private link alias.
    const fromWeb = await resolveAll(sb('web'), ['www', 'storefront', 'backend', 'api', 'db', 'database']);
    expect(fromWeb.www).toMatch(/^10\.89\.0\.\d+$/);
    expect(fromWeb.backend).toMatch(/^10\.89\.0\.\d+$/);
    expect(fromWeb).toEqual({ www: fromWeb.www, storefront: fromWeb.www, backend: fromWeb.backend, api: fromWeb.backend, db: '', database: '' });
    // api is on both; its link gives db the alias "database", for api only.
    expect(await resolveAll(sb('api'), ['database', 'db', 'www'])).toEqual({ database: '10.89.1.10', db: '10.89.1.10', www: fromWeb.www });
    expect(await httpStatus(inSandbox(sb('api')), 'http://database:5432/')).toBe('200');
    expect(await httpStatus(inSandbox(sb('web')), 'http://backend:9000/')).toBe('200');
    // db sits on the internal network: no way out, and web is not on its network.
    expect(await resolve(sb('db'), 'web')).toBe('');
    expect((await h.nsnet(['exec', sb('db'), 'curl', '-s', '-m', '1', `http://${WAN.server}/`])).code).not.toBe(0);
    // sidecar shares api's namespace (network_mode: service:api): same hostname, same addresses.
    expect((await h.ok(['exec', sb('sidecar'), 'hostname']))).toBe('api-server');
    expect(await httpStatus(inSandbox(sb('sidecar')), 'http://127.0.0.1:9000/')).toBe('200');

    // The published port, from the host and from the WAN.
    expect(await httpStatus(inHost, 'http://127.0.0.1:8080/')).toBe('200');
    const fromWan = async (cmd: string[]) => execa('ip', ['netns', 'exec', wan.name, ...cmd], { reject: false });
    expect(await httpStatus(fromWan, `http://${WAN.hostAddr}:8080/`)).toBe('200');

    // Unchanged: nothing is touched.
    const ids = await h.ok(['compose', '-f', SHOP, '-p', p, 'ps', '-q']);
    const again = await compose(['up']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr.match(/ Running/g)).toHaveLength(4);
    expect(await h.ok(['compose', '-f', SHOP, '-p', p, 'ps', '-q'])).toBe(ids);

    // WEB_PORT changes web's definition: web is recreated on the new port, the others stay.
    const moved = await compose(['up'], { WEB_PORT: '8081' });
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stderr).toContain(`Sandbox ${sb('web')}  Recreated`);
    expect(moved.stderr).toContain(`Sandbox ${sb('api')}  Running`);
    expect(await httpStatus(inHost, 'http://127.0.0.1:8081/')).toBe('200');
    expect((await h.run(['curl', '-s', '-m', '1', 'http://127.0.0.1:8080/'])).exitCode).not.toBe(0);

    const down = await compose(['down']);
    expect(down.code, down.stderr).toBe(0);
    expect(await projectLeftovers(p)).toEqual([]);
    expect((await h.run(['nft', 'list', 'map', 'ip', 'nsnet', 'ports'])).stdout).not.toMatch(/808[01]/);
  }, 90_000);

  test('enable_ipv6 and ipv6_address: a dual-stack project network, a static IPv6 address, names over IPv6; down removes it', async () => {
    const dir = testDir('nsnet-compose-');
    const file = path.join(dir, 'compose.yaml');
    const p = `v6${h.tag}`;
    writeFileSync(file, [
      'services:',
      '  web: { command: sleep 300, networks: { default: { ipv6_address: "2001:db8:6::80" } } }',
      '  db: { command: sleep 300 }',
      'networks:',
      '  default:',
      '    enable_ipv6: true',
      '    ipam: { config: [{ subnet: 10.76.0.0/24 }, { subnet: "2001:db8:6::/64", gateway: "2001:db8:6::1" }] }',
    ].join('\n'));
    await h.ok(['compose', '-f', file, '-p', p, 'up']);
    const net = JSON.parse(await h.ok(['network', 'inspect', `${p}_default`]))[0];
    expect([net.EnableIPv6, net.IPAM.Config]).toEqual([true, [{ Subnet: '10.76.0.0/24', Gateway: '10.76.0.1' }, { Subnet: '2001:db8:6::/64', Gateway: '2001:db8:6::1' }]]);
    const v6 = async (sb: string) => JSON.parse(await h.ok(['inspect', sb]))[0].NetworkSettings.Networks[`${p}_default`].GlobalIPv6Address;
    expect(await v6(`${p}_web_1`)).toBe('2001:db8:6::80');
    expect(await v6(`${p}_db_1`)).toBe('2001:db8:6::2');
    const r = await h.nsnet(['exec', `${p}_db_1`, 'sh', '-c', 'getent ahostsv6 web | head -n1 && ping -6 -c1 -W2 web >/dev/null && echo ok']);
    expect(r.stdout.split('\n').map((l) => l.split(' ')[0])).toEqual(['2001:db8:6::80', 'ok']);
    await h.ok(['compose', '-f', file, '-p', p, 'down']);
    expect(await projectLeftovers(p)).toEqual([]);
  }, 60_000);

  test('a failing up leaves nothing half-made; bad files are refused naming the key', async () => {
    const dir = testDir('nsnet-compose-');
    const file = path.join(dir, 'compose.yaml');
    const p = `bad${h.tag}`;
    // b asks for an address outside its network: a and the network were made first, and must go again.
    writeFileSync(file, [
      'services:',
      '  a: { command: sleep 300 }',
      '  b:',
      '    depends_on: [a]',
      '    networks: { default: { ipv4_address: 192.0.2.50 } }',
      'networks:',
      '  default: { ipam: { config: [{ subnet: 10.77.0.0/24 }] } }',
    ].join('\n'));
    const r = await h.nsnet(['compose', '-f', file, '-p', p, 'up']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/192\.0\.2\.50/);
    expect(r.stderr).toContain(`Sandbox ${p}_a_1  Started`);
    expect(await projectLeftovers(p)).toEqual([]);

    writeFileSync(file, 'services:\n  web:\n    imagee: httpd\n    ports: ["99999:80"]\n');
    const bad = await h.nsnet(['compose', '-f', file, '-p', p, 'up']);
    expect(bad.code).toBe(1); // Docker Compose v2 exits 1 for every error
    expect(bad.stderr).toContain('WARN[0000] services.web.imagee: unknown key, ignored');
    expect(bad.stderr).toContain('Error: compose.yaml: services.web.ports[0]: invalid port specification: "99999:80"');

    writeFileSync(file, 'services:\n  web: [oops\n');
    const yaml = await h.nsnet(['compose', '-f', file, 'up']);
    expect(yaml.code).toBe(1);
    expect(yaml.stderr).toMatch(/^Error: .*compose\.yaml: /);

    const none = await h.nsnet(['compose', 'up']); // no file in the working directory
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no configuration file provided: not found');
    expect(await projectLeftovers(p)).toEqual([]);
  }, 60_000);

  test('up --dry-run prints the whole stack as ip/nft/shell commands, with the addresses a real run gives, and changes nothing', async () => {
    const p = `dry${h.tag}`;
    const before = { nft: (await h.run(['nft', 'list', 'ruleset'])).stdout, links: (await h.run(['ip', '-o', 'link'])).stdout };
    const r = await h.nsnet(['compose', '-f', SHOP, '-p', p, 'up', '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    const plan = r.stdout;
    // Each network's bridge, once the skeleton (shown once), then each sandbox after what it depends on.
    expect(plan.match(/^# creating nftables tables/gm)).toHaveLength(1);
    expect(plan.match(/^ip link add br-[0-9a-f]{12} address 02(:[0-9a-f]{2}){5} up type bridge$/gm)).toHaveLength(2);
    const order = ['db', 'api', 'web', 'sidecar'].map((s) => plan.indexOf(`python3 -m http.server ${{ db: 5432, api: 9000, web: 8000, sidecar: 0 }[s]}`));
    expect(order.slice(0, 3)).toEqual([...order.slice(0, 3)].sort((a, b) => a - b));
    expect(plan).toContain(`ip netns add ${p}_db_1`);
    expect(plan).toContain('ip -n dry' + h.tag + '_db_1 addr add 10.89.1.10/24 dev eth0');
    // api: eth0 on back (priority, then name), eth1 on front, connected after create.
    expect(plan).toMatch(new RegExp(`ip -n ${p}_api_1 addr add 10\\.89\\.1\\.2/24 dev eth0`));
    expect(plan).toMatch(new RegExp(`ip -n ${p}_api_1 addr add 10\\.89\\.0\\.2/24 dev eth1`));
    expect(plan).toMatch(/nft add element ip nsnet ports \{ tcp \. 8080 : 10\.89\.0\.3 \. 8000 \}/);
    expect(plan).toContain(`ip netns exec ${p}_web_1 unshare --uts --pid --fork --mount-proc`);
    expect(plan).not.toContain(`ip netns add ${p}_sidecar_1`); // service:api shares api's namespace
    // Nothing changed: no state, no namespace, no link, no rule.
    expect(await projectLeftovers(p)).toEqual([]);
    expect((await h.run(['nft', 'list', 'ruleset'])).stdout).toBe(before.nft);
    expect((await h.run(['ip', '-o', 'link'])).stdout).toBe(before.links);
  }, 60_000);
});
