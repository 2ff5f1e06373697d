import { describe, expect, test } from 'vitest';
import { defaultHostname } from '../../src/docker/names.js';
import { hostModeHosts, hostnameFile, sandboxHosts } from '../../src/etc/hosts.js';

const DEFAULTS = `127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
ff00::0\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
`;

describe('sandboxHosts', () => {
  test('a default-bridge container: defaults, then its own address', () => {
    expect(sandboxHosts({ hostname: '1d480f66ce00', addresses: ['172.17.0.2'] })).toBe(`127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
ff00::0\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
172.17.0.2\t1d480f66ce00
`);
  });
  test('none: no address, no own line', () => {
    expect(sandboxHosts({ hostname: '1d480f66ce00', addresses: [] })).toBe(DEFAULTS);
  });
  test('a domain: fqdn then short name; an FQDN hostname is split the same way', () => {
    expect(sandboxHosts({ hostname: 'web', domainname: 'example.com', addresses: ['172.18.0.2'] })).toBe(
      DEFAULTS + '172.18.0.2\tweb.example.com web\n',
    );
    expect(sandboxHosts({ hostname: 'web.example.com', addresses: ['172.18.0.2'] })).toBe(
      DEFAULTS + '172.18.0.2\tweb.example.com web\n',
    );
  });
  test('one line per address, in endpoint order', () => {
    expect(sandboxHosts({ hostname: 'web', addresses: ['172.18.0.2', '172.19.0.5'] })).toBe(
      DEFAULTS + '172.18.0.2\tweb\n172.19.0.5\tweb\n',
    );
  });
  test('--add-host, then --link (with and without alias), then the own line', () => {
    const text = sandboxHosts({
      hostname: 'web',
      addresses: ['172.17.0.4'],
      extra: [
        { host: 'host.docker.internal', ip: '172.17.0.1' },
        { host: 'v6only', ip: '2001:db8::1' },
      ],
      links: [
        { name: 'db', alias: 'database', ip: '172.17.0.3', hostname: '34f8f56fe8b2' },
        { name: '/cache', ip: '172.17.0.5', hostname: 'c0ffee123456' },
        { name: 'queue', alias: 'queue', ip: '172.17.0.6', hostname: 'mq' },
      ],
    });
    expect(text).toBe(`127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
ff00::0\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
172.17.0.1\thost.docker.internal
2001:db8::1\tv6only
172.17.0.3\tdatabase 34f8f56fe8b2 db
172.17.0.5\tcache c0ffee123456
172.17.0.6\tqueue mq
172.17.0.4\tweb
`);
  });
  test('IPv6 disabled: every IPv6 line left out', () => {
    expect(
      sandboxHosts({
        hostname: 'web',
        addresses: ['172.18.0.2', 'fd00::2'],
        extra: [{ host: 'v6only', ip: '2001:db8::1' }],
        ipv6: false,
      }),
    ).toBe('127.0.0.1\tlocalhost\n172.18.0.2\tweb\n');
  });
  test('refuses what is not an address', () => {
    expect(() => sandboxHosts({ hostname: 'web', addresses: [], extra: [{ host: 'x', ip: 'host-gateway' }] })).toThrow(
      /--add-host x: "host-gateway" is not an IP address/,
    );
    expect(() => sandboxHosts({ hostname: '', addresses: ['172.17.0.2'] })).toThrow(/needs a hostname/);
  });
});

describe('host mode', () => {
  const HOST = '127.0.0.1 localhost\n127.0.1.1 myhost\n# comment\n';
  test("the host's file unchanged", () => {
    expect(hostModeHosts(HOST)).toBe(HOST);
  });
  test('--add-host: the defaults plus the entries, no own line', () => {
    expect(hostModeHosts(HOST, [{ host: 'myhost', ip: '10.9.9.9' }])).toBe(DEFAULTS + '10.9.9.9\tmyhost\n');
  });
});

describe('hostname', () => {
  test('hostnameFile: the name and a newline', () => {
    expect(hostnameFile('web')).toBe('web\n');
    expect(() => hostnameFile('')).toThrow();
    expect(() => hostnameFile('a b')).toThrow();
  });
  test('defaultHostname: the first 12 characters of the ID', () => {
    expect(defaultHostname('1d480f66ce00' + 'a'.repeat(52))).toBe('1d480f66ce00');
    expect(() => defaultHostname('abc')).toThrow(/shorter than 12/);
  });
});
