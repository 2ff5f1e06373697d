// The compose file model: defaults, names, aliases, order and the errors
// that name the key at fault - no root, no kernel.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, test } from 'vitest';
import { configHash, networkRequest, selectServices, serviceRequest } from '../../src/compose/compose.js';
import { planNetwork } from '../../src/docker/network.js';
import type { NetworkRecord, State } from '../../src/docker/types.js';
import { interpolate, parseDotEnv } from '../../src/compose/interpolate.js';
import { loadProject, normalizeProjectName, shellWords, type LoadOptions } from '../../src/compose/model.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/compose');

function load(yaml: string, o: Partial<LoadOptions> = {}) {
  const warnings: string[] = [];
  const project = loadProject(parse(yaml), {
    projectDir: '/srv/My App',
    env: {},
    readFile: () => {
      throw new Error('no such file');
    },
    warn: (m) => warnings.push(m),
    ...o,
  });
  return { project, warnings };
}

describe('compose model', () => {
  test("the seed's simpleweb: one <project>_default network, <project>_<service>_1 sandboxes, the service name as alias", () => {
    const yaml = readFileSync(path.join(FIXTURES, 'simpleweb/docker-compose.yml'), 'utf8');
    const { project, warnings } = load(yaml, { projectDir: '/home/me/simpleweb' });
    expect(warnings).toEqual([]); // image, environment, version: known keys, no noise
    expect(project.name).toBe('simpleweb');
    expect(project.networks.map((n) => [n.key, n.name, n.external])).toEqual([['default', 'simpleweb_default', false]]);
    expect(project.services.map((s) => s.containerName)).toEqual(['simpleweb_apache_1', 'simpleweb_postgres_1']);
    const pg = project.services[1]!;
    expect(pg.command).toEqual(['python3', '-m', 'http.server', '5432']);
    expect(pg.environment).toEqual(['POSTGRES_PASSWORD=secret']);
    const { req, connect } = serviceRequest(project, pg);
    expect(req).toMatchObject({ name: 'simpleweb_postgres_1', network: 'simpleweb_default', aliases: ['postgres'] });
    expect(req.labels).toMatchObject({ 'com.docker.compose.project': 'simpleweb', 'com.docker.compose.service': 'postgres' });
    expect(connect).toEqual([]);
  });

  test('two networks, aliases, static address, links, network_mode service:, ports, start order', () => {
    const yaml = readFileSync(path.join(FIXTURES, 'shop/compose.yaml'), 'utf8');
    const { project } = load(yaml, { env: { WEB_PORT: '9090' } });
    expect(project.name).toBe('shop'); // top-level name wins over the directory
    expect(project.networks.map((n) => [n.key, n.name, n.internal, n.subnet])).toEqual([
      ['front', 'shop_front', false, '10.89.0.0/24'],
      ['back', 'shop_back', true, '10.89.1.0/24'],
    ]);
    const order = project.services.map((s) => s.name);
    // db before api (link), api before web (depends_on) and before sidecar (service: mode).
    expect(order.indexOf('db')).toBeLessThan(order.indexOf('api'));
    expect(order.indexOf('api')).toBeLessThan(order.indexOf('web'));
    expect(order.indexOf('api')).toBeLessThan(order.indexOf('sidecar'));
    const byName = (n: string) => project.services.find((s) => s.name === n)!;
    expect(byName('web').ports).toEqual(['9090:8000']);

    const api = serviceRequest(project, byName('api'));
    // Networks by priority, then name: back before front.
    expect(api.req).toMatchObject({ network: 'shop_back', aliases: ['api'], hostname: 'api-server', links: ['shop_db_1:database'] });
    expect(api.connect).toEqual([{ network: 'shop_front', aliases: ['api', 'backend'] }]);
    expect(serviceRequest(project, byName('db')).req).toMatchObject({ ip: '10.89.1.10', aliases: ['db'] });
    expect(serviceRequest(project, byName('sidecar')).req).toMatchObject({ network: 'container:shop_api_1' });
    expect(serviceRequest(project, byName('sidecar')).req.aliases).toBeUndefined();

    // `up web` brings what web needs: api, and api's db.
    expect(selectServices(project, ['web']).map((s) => s.name).sort()).toEqual(['api', 'db', 'web']);
    expect(() => selectServices(project, ['nope'])).toThrow(/no such service: nope/);
  });

  test('the config hash changes with the service and with what it is connected to', () => {
    const a = load('services: { web: { command: sleep 1 } }', { projectName: 'p' }).project;
    const b = load('services: { web: { command: sleep 2 } }', { projectName: 'p' }).project;
    const c = load('services: { web: { command: sleep 1 } }\nnetworks: { default: { name: other } }', { projectName: 'p' }).project;
    expect(configHash(a, a.services[0]!)).toBe(configHash(a, load('services: { web: { command: sleep 1 } }', { projectName: 'p' }).project.services[0]!));
    expect(configHash(a, a.services[0]!)).not.toBe(configHash(b, b.services[0]!));
    expect(configHash(a, a.services[0]!)).not.toBe(configHash(c, c.services[0]!));
  });

  test('project names: -p is checked, a directory name is normalised', () => {
    expect(normalizeProjectName('My App.v2')).toBe('myappv2');
    expect(load('services: { a: {} }').project.name).toBe('myapp');
    expect(() => load('services: { a: {} }', { projectName: 'Bad Name' })).toThrow(/invalid project name "Bad Name"/);
    expect(() => load('name: "-x"\nservices: { a: {} }')).toThrow(/^name: invalid project name/);
  });

  test('long port syntax, expose, extra_hosts as a map, dns as one string, external networks', () => {
    const { project } = load(`
services:
  web:
    ports:
      - { target: 80, published: "8080", host_ip: 127.0.0.1, protocol: udp }
      - target: 443
      - 9000-9001:9000-9001
    expose: [3000, "4000/udp"]
    extra_hosts: { gw.test: 10.0.0.1 }
    dns: 1.1.1.1
    networks: [outside]
networks:
  outside: { external: true }
`, { projectName: 'p' });
    const web = project.services[0]!;
    expect(web.ports).toEqual(['127.0.0.1:8080:80/udp', '443', '9000-9001:9000-9001']);
    expect(web.expose).toEqual(['3000', '4000/udp']);
    expect(web.extraHosts).toEqual(['gw.test:10.0.0.1']);
    expect(web.dns).toEqual(['1.1.1.1']);
    expect(project.networks).toEqual([expect.objectContaining({ key: 'outside', name: 'outside', external: true })]);
  });

  test('wrong values get errors naming the key; unknown keys are warnings', () => {
    const bad = (yaml: string) => () => load(yaml, { projectName: 'p' });
    expect(bad('services: { web: { ports: ["80:80:80:80"] } }')).toThrow(/^services\.web\.ports\[0\]: invalid port specification/);
    expect(bad('services: { web: { ports: "80:80" } }')).toThrow(/^services\.web\.ports must be a list$/);
    expect(bad('services: { web: { networks: [nope] } }')).toThrow('service "web" refers to undefined network nope: invalid compose project');
    expect(bad('services: { web: { network_mode: host, networks: [default] } }')).toThrow(/"network_mode" and "networks" cannot be combined/);
    expect(bad('services: { web: { network_mode: bogus } }')).toThrow(/^services\.web\.network_mode: "bogus" is not one of/);
    expect(bad('services: { web: { depends_on: [db] } }')).toThrow(/depends on undefined service "db"/);
    expect(bad('services: { a: { depends_on: [b] }, b: { links: [a] } }')).toThrow(/dependency cycle detected: a -> b -> a/);
    expect(bad('services: { web: {} }\nnetworks: { default: { driver: overlay } }')).toThrow(/^networks\.default\.driver: nsnet supports the "bridge" and "macvlan" drivers, not "overlay"/);
    expect(bad('services: { web: { networks: { default: { ipv6_address: "fd00::2" } } } }'))
      .toThrow('services.web.networks.default.ipv6_address: network default has no IPv6 (set enable_ipv6: true on it)');
    expect(bad('services: { web: { command: "sh -c \'unterminated" } }')).toThrow(/services\.web\.command: unterminated single quote/);
    expect(bad('services: {}')).toThrow(/no service defined/);
    expect(bad('services: { web: { hostname: [a] } }')).toThrow(/^services\.web\.hostname must be a string$/);
    expect(bad('services: { a: { container_name: x }, b: { container_name: x } }')).toThrow(/container_name: "x" is already used by service "a"/);

    const { warnings } = load('services:\n  web:\n    imagee: x\n    x-note: fine\n    networks: { default: { aliasess: [a] } }\nnetworkz: {}', { projectName: 'p' });
    expect(warnings).toEqual(['networkz: unknown key, ignored', 'services.web.imagee: unknown key, ignored', 'services.web.networks.default.aliasess: unknown key, ignored']);
  });

  test('macvlan networks: driver_opts are the -o options, ipam.config has subnet, gateway, ip_range and aux_addresses', () => {
    const { project, warnings } = load(`
services:
  web: { networks: [lan, default] }
  db: { networks: [iso] }
networks:
  lan:
    driver: macvlan
    driver_opts: { parent: ens4, macvlan_mode: private }
    ipam:
      config:
        - subnet: 192.0.2.0/24
          gateway: 192.0.2.1
          ip_range: 192.0.2.64/27
          aux_addresses: { host: 192.0.2.64, printer: 192.0.2.65 }
  iso:
    driver: macvlan
    internal: true
    ipam: { config: [{ subnet: 198.51.100.0/24, aux_addresses: [shim=198.51.100.9], bogus: 1 }] }
`, { projectName: 'p' });
    expect(warnings).toEqual(['networks.iso.ipam.config[0].bogus: unknown key, ignored']);
    const byKey = Object.fromEntries(project.networks.map((n) => [n.key, n]));
    expect(byKey.default).toMatchObject({ driver: 'bridge', name: 'p_default' });
    expect(byKey.lan).toEqual({
      key: 'lan', name: 'p_lan', driver: 'macvlan', external: false, internal: false, labels: {},
      options: { parent: 'ens4', macvlan_mode: 'private' },
      subnet: '192.0.2.0/24', gateway: '192.0.2.1', ipRange: '192.0.2.64/27', auxAddresses: { host: '192.0.2.64', printer: '192.0.2.65' },
    });
    expect(byKey.iso).toMatchObject({ driver: 'macvlan', internal: true, auxAddresses: { shim: '198.51.100.9' }, options: {} });

    // What `up` asks `network create` for, and the record that plans: the same as the CLI's -d macvlan -o ... would.
    const none = { networks: [] as NetworkRecord[] } as unknown as State;
    const lan = planNetwork(networkRequest(project, byKey.lan!), none, []).network;
    expect(lan).toMatchObject({
      name: 'p_lan', driver: 'macvlan', parent: 'ens4', macvlanMode: 'private', subnet: '192.0.2.0/24', gateway: '192.0.2.1',
      ipRange: '192.0.2.64/27', auxAddresses: { host: '192.0.2.64', printer: '192.0.2.65' },
      labels: { 'com.docker.compose.project': 'p', 'com.docker.compose.network': 'lan' },
    });
    expect(lan.bridge).toBeUndefined();
    const iso = planNetwork(networkRequest(project, byKey.iso!), none, []).network;
    expect(iso).toMatchObject({ driver: 'macvlan', internal: true, ownParent: true, parent: `dm-${iso.id.slice(0, 12)}` });
    // Two macvlan networks of one project on one parent with overlapping subnets: the second is refused.
    const again = { ...byKey.lan!, key: 'lan2', name: 'p_lan2' };
    expect(() => planNetwork(networkRequest(project, again), { networks: [lan] } as unknown as State, [])).toThrow(/p_lan already uses parent ens4/);
  });

  test('macvlan networks: bad driver_opts and ipam fail with the network create error', () => {
    const plan = (yaml: string) => () => {
      const { project } = load(`services: { web: { networks: [lan] } }\nnetworks:\n  lan: ${yaml}`, { projectName: 'p' });
      return planNetwork(networkRequest(project, project.networks[0]!), { networks: [] } as unknown as State, []);
    };
    expect(plan('{ driver: macvlan, ipam: { config: [{ subnet: 192.0.2.0/24 }] } }')).toThrow('macvlan network needs -o parent=IFACE');
    expect(plan('{ driver: macvlan, driver_opts: { parent: ens4, macvlan_mode: l3 } }')).toThrow("requested macvlan mode 'l3' is not valid");
    expect(plan('{ driver: macvlan, driver_opts: { parent: ens4, vlan: 10 } }')().warnings).toEqual(['WARNING: option vlan is not used by nsnet']);
    expect(plan('{ driver: macvlan, driver_opts: { parent: ens4 }, ipam: { config: [{ subnet: 192.0.2.0/24, aux_addresses: { r: 10.0.0.1 } }] } }'))
      .toThrow(/10\.0\.0\.1/);
    expect(() => load('services: { web: {} }\nnetworks: { default: { driver: ipvlan } }', { projectName: 'p' }))
      .toThrow('networks.default.driver: nsnet supports the "bridge" and "macvlan" drivers, not "ipvlan"');
  });

  test('enable_ipv6 with an ipam.config entry per family; ipv6_address on the service\'s networks, as -ip6 and connect --ip6', () => {
    const { project } = load(`
services:
  web:
    networks:
      front: { ipv4_address: 172.30.0.10, ipv6_address: "2001:db8:1::10" }
      back: { ipv6_address: "2001:db8:2::20" }
  db:
    networks: [front]
networks:
  front:
    enable_ipv6: true
    ipam:
      config:
        - { subnet: 172.30.0.0/24, gateway: 172.30.0.1 }
        - { subnet: "2001:db8:1::/64", gateway: "2001:db8:1::1" }
  back:
    enable_ipv6: true
    ipam: { config: [{ subnet: "2001:db8:2::/64" }] }
`, { projectName: 'p' });
    const net = (k: string) => project.networks.find((n) => n.key === k)!;
    expect(net('front')).toMatchObject({ name: 'p_front', enableIPv6: true, subnet: '172.30.0.0/24', gateway: '172.30.0.1', subnet6: '2001:db8:1::/64', gateway6: '2001:db8:1::1' });
    expect(net('back')).toMatchObject({ enableIPv6: true, subnet6: '2001:db8:2::/64' });
    expect([net('back').subnet, net('back').gateway6]).toEqual([undefined, undefined]);
    const web = project.services.find((s) => s.name === 'web')!;
    const { req, connect } = serviceRequest(project, web);
    // back sorts first (same priority: by name): web is created on it and connected to front.
    expect([req.network, req.ip, req.ip6]).toEqual(['p_back', undefined, '2001:db8:2::20']);
    expect(connect).toEqual([{ network: 'p_front', aliases: ['web'], ip: '172.30.0.10', ip6: '2001:db8:1::10' }]);
    // The address is part of what up compares: changing it recreates the sandbox.
    const moved = { ...web, networks: web.networks.map((n) => ({ ...n, ipv6Address: n.ipv6Address?.replace('::20', '::21') })) };
    expect(configHash(project, moved)).not.toBe(configHash(project, web));
  });

  test('bad IPv6 compose networks: one error each, naming the key', () => {
    const bad = (nets: string) => () => load(`services: { web: {} }\nnetworks:\n  default:\n${nets}`, { projectName: 'p' });
    expect(bad('    ipam: { config: [{ subnet: "2001:db8:1::/64" }] }'))
      .toThrow('networks.default.ipam.config[0]: an IPv6 subnet needs enable_ipv6: true on the network');
    expect(bad('    enable_ipv6: true\n    ipam: { config: [{ subnet: 10.0.0.0/24 }, { subnet: 10.1.0.0/24 }] }'))
      .toThrow('networks.default.ipam.config[1]: a second IPv4 entry: nsnet networks take one subnet per family');
    expect(bad('    enable_ipv6: true\n    ipam: { config: [{ subnet: "2001:db8:1::/64" }, { subnet: "2001:db8:2::/64" }] }'))
      .toThrow(/config\[1\]: a second IPv6 entry/);
    expect(bad('    enable_ipv6: true\n    ipam: { config: [{ subnet: "2001:db8:1::/64", ip_range: "2001:db8:1::/80" }] }'))
      .toThrow(/config\[0\]\.ip_range: not supported on an IPv6 subnet/);
    expect(bad('    enable_ipv6: true\n    ipam: { config: [{ gateway: "2001:db8:1::1" }] }')).toThrow(/an IPv6 gateway needs its subnet/);
    expect(bad('    enable_ipv6: yes-please')).toThrow(/networks\.default\.enable_ipv6/);
  });

  test('profiles: a service with profiles starts only when one is enabled', () => {
    const yaml = 'services: { web: {}, debug: { profiles: [dev] } }';
    expect(load(yaml, { projectName: 'p' }).project.services.map((s) => s.name)).toEqual(['web']);
    expect(load(yaml, { projectName: 'p', env: { COMPOSE_PROFILES: 'dev' } }).project.services.map((s) => s.name)).toEqual(['web', 'debug']);
  });

  test('env_file then environment; `- KEY` takes the value from the environment', () => {
    const { project } = load('services: { web: { env_file: vars.env, environment: [B=2, HOME_DIR], command: [env] } }', {
      projectName: 'p', env: { HOME_DIR: '/root' },
      readFile: (f) => (f === '/srv/My App/vars.env' ? '# comment\nA=1\nB=1\n' : ''),
    });
    expect(project.services[0]!.environment).toEqual(['A=1', 'B=2', 'HOME_DIR=/root']);
  });
});

describe('compose interpolation', () => {
  const env = { SET: 'v', EMPTY: '' };
  test.each([
    ['$SET ${SET}', 'v v'],
    ['${UNSET:-d} ${EMPTY:-d} ${EMPTY-d} ${UNSET-d}', 'd d  d'],
    ['${SET:+alt} ${EMPTY:+alt} ${EMPTY+alt}', 'alt  alt'],
    ['$$SET costs 5$', '$SET costs 5$'],
    ['${UNSET:-${SET}-x}', 'v-x'],
  ])('%s', (text, want) => {
    expect(interpolate(text, env, 'k')).toBe(want);
  });
  test('unset variables warn; required ones fail naming the key', () => {
    const warnings: string[] = [];
    expect(interpolate('${NOPE}', env, 'k', (m) => warnings.push(m))).toBe('');
    expect(warnings).toEqual(['The "NOPE" variable is not set. Defaulting to a blank string.']);
    expect(() => interpolate('${NOPE:?set it}', env, 'services.web.ports[0]')).toThrow('services.web.ports[0]: required variable NOPE is missing a value: set it');
    expect(() => interpolate('${SET', env, 'k')).toThrow(/missing "}"/);
  });
  test('through a whole file: values, not keys', () => {
    const { project } = load('services: { web: { ports: ["${P:-8080}:80"], hostname: "${H}" } }', { projectName: 'p', env: { H: 'box' } });
    expect(project.services[0]).toMatchObject({ ports: ['8080:80'], hostname: 'box' });
  });
  test('.env files', () => {
    expect(parseDotEnv('# c\nA=1\nexport B="x\\ny"\nC=\'lit $X\'\nD=plain # comment\nE=\n')).toEqual({ A: '1', B: 'x\ny', C: 'lit $X', D: 'plain', E: '' });
    expect(() => parseDotEnv('1BAD=x')).toThrow(/\.env:1: invalid variable name/);
  });
  test('shell words for string commands', () => {
    expect(shellWords(`sh -c "echo \\"hi\\" there" 'a b' c\\ d`)).toEqual(['sh', '-c', 'echo "hi" there', 'a b', 'c d']);
  });
});
