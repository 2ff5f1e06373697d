import { BlockList } from 'node:net';
import { isIP, isLoopback } from '../../src/net/ip.js';
import { describe, expect, test } from 'vitest';
import { hostUpstreams, isSystemdStub, parseResolvConf } from '../../src/etc/resolv-conf.js';
import { sandboxResolvConf, sandboxUpstreams } from '../../src/etc/sandbox-resolv-conf.js';

// Ubuntu's /etc/resolv.conf when systemd-resolved manages DNS.
const UBUNTU_STUB = `# This is /run/systemd/resolve/stub-resolv.conf managed by man:systemd-resolved(8).
# Do not edit.

nameserver 127.0.0.53
options edns0 trust-ad
search lan
`;

// What /run/systemd/resolve/resolv.conf then holds.
const UBUNTU_UPLINK = `# This is /run/systemd/resolve/resolv.conf managed by man:systemd-resolved(8).
nameserver 192.168.1.1
nameserver 1.1.1.1
search lan
`;

// Two real nameservers and a local dnsmasq.
const MIXED = `; managed by hand
nameserver 10.0.0.2
nameserver 127.0.0.1
nameserver 10.0.0.3
search corp.example
`;

describe('parseResolvConf', () => {
  test('drops comments and blank lines, keeps unknown directives', () => {
    expect(
      parseResolvConf(
        '# comment\n; also a comment\n\nnameserver 1.1.1.1 # cloudflare\nnameserver bogus\nsortlist 10.0.0.0/8\nsearch a b\noptions ndots:2\noptions edns0\n',
      ),
    ).toMatchObject({
      nameservers: ['1.1.1.1'],
      search: ['a', 'b'],
      options: ['ndots:2', 'edns0'],
      other: ['sortlist 10.0.0.0/8'],
    });
  });
  test('domain is a search list; the last of search/domain wins, as in glibc', () => {
    expect(parseResolvConf('domain example.com\n').search).toEqual(['example.com']);
    expect(parseResolvConf('domain a.example\nsearch b.example c.example\n').search).toEqual(['b.example', 'c.example']);
    expect(parseResolvConf('search b.example\ndomain a.example\n').search).toEqual(['a.example']);
  });
  test('keeps the text, for the modes that copy the file', () => {
    expect(parseResolvConf(MIXED).text).toBe(MIXED);
  });
});

describe('host nameservers', () => {
  test('isSystemdStub: only 127.0.0.53', () => {
    expect(isSystemdStub(parseResolvConf(UBUNTU_STUB))).toBe(true);
    expect(isSystemdStub(parseResolvConf('nameserver 127.0.0.53\nnameserver 8.8.8.8\n'))).toBe(false);
    expect(isSystemdStub(parseResolvConf(UBUNTU_UPLINK))).toBe(false);
  });
  test('isLoopback: 127/8 and ::1 in any spelling, nothing else', () => {
    for (const a of ['127.0.0.1', '127.0.0.53', '127.255.1.2', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) {
      expect(isLoopback(a), a).toBe(true);
    }
    for (const a of ['128.0.0.1', '10.0.0.1', '::2', 'fe80::1%eth0', 'localhost']) expect(isLoopback(a), a).toBe(false);
  });
  test('isLoopback agrees with node:net BlockList (127/8, ::1) on every spelling', () => {
    const list = new BlockList();
    list.addSubnet('127.0.0.0', 8, 'ipv4');
    list.addAddress('::1', 'ipv6');
    const ref = (a: string) => {
      const b = a.split('%')[0]!;
      const f = isIP(b);
      return f ? list.check(b, f === 4 ? 'ipv4' : 'ipv6') : false;
    };
    for (const a of ['127.0.0.1', '::1', '0::1', '::0:1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:7f12:3456', '::ffff:128.0.0.1',
      '::127.0.0.1', '::2', '1::1', '::', '::1%lo', '0:0:0:0:0:ffff:127.1.2.3', '0:0:0:0:0:0:127.0.0.1', '::ffff:0:127.0.0.1',
      '64:ff9b::127.0.0.1', '0000:0000:0000:0000:0000:0000:0000:0001', '::0.0.0.1', '10.0.0.1', 'x']) {
      expect(isLoopback(a), a).toBe(ref(a));
    }
  });
  test('hostUpstreams: the non-loopback ones, at most 3', () => {
    expect(hostUpstreams(parseResolvConf(MIXED))).toEqual(['10.0.0.2', '10.0.0.3']);
    expect(hostUpstreams(parseResolvConf(UBUNTU_STUB))).toEqual([]);
    expect(hostUpstreams(parseResolvConf('nameserver 1.1.1.1\nnameserver ::1\nnameserver 2606:4700::1111\nnameserver 9.9.9.9\nnameserver 8.8.8.8\n'))).toEqual([
      '1.1.1.1',
      '2606:4700::1111',
      '9.9.9.9',
    ]);
  });
});

describe('user-defined network', () => {
  test('the seed: host search kept, only 127.0.0.11, ndots:0', () => {
    const host = parseResolvConf('search home.wbitt.com\nnameserver 192.168.0.1\n');
    expect(sandboxResolvConf({ host, mode: 'user-network' })).toBe(`search home.wbitt.com
nameserver 127.0.0.11
options ndots:0
`);
    expect(sandboxUpstreams({ host, mode: 'user-network' })).toEqual(['192.168.0.1']);
  });
  test('no search line: just the nameserver and ndots:0', () => {
    const host = parseResolvConf('nameserver 8.8.8.8\n');
    expect(sandboxResolvConf({ host, mode: 'user-network' })).toBe('nameserver 127.0.0.11\noptions ndots:0\n');
  });
  test("systemd-resolved's real file: host options first, then ndots:0", () => {
    const host = parseResolvConf(UBUNTU_UPLINK + 'options edns0 trust-ad\n');
    expect(sandboxResolvConf({ host, mode: 'user-network' })).toBe(`search lan
nameserver 127.0.0.11
options edns0 trust-ad ndots:0
`);
    expect(sandboxUpstreams({ host, mode: 'user-network' })).toEqual(['192.168.1.1', '1.1.1.1']);
  });
  test('the stub itself gives no upstream, and the file says so', () => {
    const host = parseResolvConf(UBUNTU_STUB);
    expect(sandboxUpstreams({ host, mode: 'user-network' })).toEqual([]);
    expect(sandboxResolvConf({ host, mode: 'user-network' })).toBe(`search lan
nameserver 127.0.0.11
options edns0 trust-ad ndots:0
# nsnet: no upstream nameservers; only names on this sandbox's networks will resolve
`);
  });
  test('loopback host servers are dropped from the upstreams; IPv6 ones are upstreams, not lines', () => {
    const host = parseResolvConf(MIXED + 'nameserver 2001:db8::53\n');
    expect(sandboxResolvConf({ host, mode: 'user-network' })).toBe(`search corp.example
nameserver 127.0.0.11
options ndots:0
`);
    expect(sandboxUpstreams({ host, mode: 'user-network' })).toEqual(['10.0.0.2', '10.0.0.3', '2001:db8::53']);
  });
  test('the host already sets ndots: theirs is kept, no ndots:0', () => {
    const host = parseResolvConf('nameserver 10.0.0.2\nsearch svc.cluster.local\noptions ndots:5 timeout:2\n');
    expect(sandboxResolvConf({ host, mode: 'user-network' })).toBe(`search svc.cluster.local
nameserver 127.0.0.11
options ndots:5 timeout:2
`);
  });
  test('an ill-formed ndots is dropped and ndots:0 added', () => {
    const host = parseResolvConf('nameserver 10.0.0.2\noptions ndots:x rotate\n');
    expect(sandboxResolvConf({ host, mode: 'user-network' })).toBe('nameserver 127.0.0.11\noptions rotate ndots:0\n');
  });
  test('--dns becomes the upstreams; --dns-search and --dns-option replace their lines', () => {
    const o = {
      host: parseResolvConf(MIXED + 'options ndots:3\n'),
      mode: 'user-network' as const,
      dns: ['1.1.1.1', '127.0.0.11', '9.9.9.9', '8.8.8.8', '8.8.4.4'],
      dnsSearch: ['a.example', 'b.example'],
      dnsOptions: ['timeout:1', 'attempts:2'],
    };
    expect(sandboxResolvConf(o)).toBe(`search a.example b.example
nameserver 127.0.0.11
options timeout:1 attempts:2 ndots:0
`);
    // 127.0.0.11 would forward to itself; at most 3.
    expect(sandboxUpstreams(o)).toEqual(['1.1.1.1', '9.9.9.9', '8.8.8.8']);
  });
  test('--dns-option ndots wins; --dns-search . empties the search list', () => {
    const host = parseResolvConf(MIXED);
    expect(
      sandboxResolvConf({ host, mode: 'user-network', dnsSearch: ['.'], dnsOptions: ['ndots:1'] }),
    ).toBe('nameserver 127.0.0.11\noptions ndots:1\n');
  });
  test('other directives are not carried over (20.10 rebuilds the file)', () => {
    const host = parseResolvConf('nameserver 10.0.0.2\nsortlist 10.0.0.0/8\n');
    expect(sandboxResolvConf({ host, mode: 'user-network' })).toBe('nameserver 127.0.0.11\noptions ndots:0\n');
  });
  test('an invalid --dns is refused', () => {
    expect(() => sandboxResolvConf({ host: parseResolvConf(''), mode: 'user-network', dns: ['dns.google'] })).toThrow(
      /--dns "dns.google" is not an IP address/,
    );
  });
});

describe('default bridge and none', () => {
  test("the host's file with loopback nameservers removed, comments kept", () => {
    const host = parseResolvConf(MIXED);
    const expected = `; managed by hand
nameserver 10.0.0.2
nameserver 10.0.0.3
search corp.example
`;
    expect(sandboxResolvConf({ host, mode: 'default-bridge' })).toBe(expected);
    expect(sandboxResolvConf({ host, mode: 'none' })).toBe(expected);
    expect(sandboxUpstreams({ host, mode: 'default-bridge' })).toEqual([]);
  });
  test('only loopback left: 8.8.8.8 and 8.8.4.4, with a note', () => {
    const host = parseResolvConf(UBUNTU_STUB);
    expect(sandboxResolvConf({ host, mode: 'default-bridge' })).toBe(`# This is /run/systemd/resolve/stub-resolv.conf managed by man:systemd-resolved(8).
# Do not edit.

options edns0 trust-ad
search lan
# nsnet: no nameserver from the host's resolv.conf is reachable from this sandbox; using Docker's defaults
nameserver 8.8.8.8
nameserver 8.8.4.4
`);
  });
  test('IPv6 nameservers only when the network has IPv6, and then the IPv6 fallback too', () => {
    const host = parseResolvConf('nameserver 2001:db8::53\n');
    expect(sandboxResolvConf({ host, mode: 'default-bridge', ipv6: true })).toBe('nameserver 2001:db8::53\n');
    expect(sandboxResolvConf({ host, mode: 'default-bridge' })).toBe(`# nsnet: no nameserver from the host's resolv.conf is reachable from this sandbox; using Docker's defaults
nameserver 8.8.8.8
nameserver 8.8.4.4
`);
    expect(sandboxResolvConf({ host: parseResolvConf('nameserver ::1\n'), mode: 'default-bridge', ipv6: true })).toBe(`# nsnet: no nameserver from the host's resolv.conf is reachable from this sandbox; using Docker's defaults
nameserver 8.8.8.8
nameserver 8.8.4.4
nameserver 2001:4860:4860::8888
nameserver 2001:4860:4860::8844
`);
  });
  test('--dns* flags: rebuilt as search, nameservers, options; --dns taken as given', () => {
    const host = parseResolvConf(MIXED + 'options rotate\nsortlist 10.0.0.0/8\n');
    expect(sandboxResolvConf({ host, mode: 'default-bridge', dns: ['1.1.1.1', '127.0.0.1'] })).toBe(`search corp.example
nameserver 1.1.1.1
nameserver 127.0.0.1
options rotate
`);
    expect(sandboxResolvConf({ host, mode: 'default-bridge', dnsSearch: ['x.example'], dnsOptions: ['ndots:2'] })).toBe(`search x.example
nameserver 10.0.0.2
nameserver 10.0.0.3
options ndots:2
`);
  });
  test('--dns-search on a stub-only host still gets the fallback', () => {
    const host = parseResolvConf('nameserver 127.0.0.53\n');
    expect(sandboxResolvConf({ host, mode: 'none', dnsSearch: ['x.example'] })).toBe(`search x.example
# nsnet: no nameserver from the host's resolv.conf is reachable from this sandbox; using Docker's defaults
nameserver 8.8.8.8
nameserver 8.8.4.4
`);
  });
  test('a hand-built host config renders canonically', () => {
    const host = { nameservers: ['127.0.0.1', '10.0.0.2'], search: ['a'], options: ['rotate'], other: ['sortlist 10.0.0.0/8'] };
    expect(sandboxResolvConf({ host, mode: 'default-bridge' })).toBe(`search a
nameserver 10.0.0.2
options rotate
sortlist 10.0.0.0/8
`);
  });
});

describe('host mode', () => {
  test("the host's file unchanged, loopback and all", () => {
    expect(sandboxResolvConf({ host: parseResolvConf(UBUNTU_STUB), mode: 'host' })).toBe(UBUNTU_STUB);
    expect(sandboxUpstreams({ host: parseResolvConf(UBUNTU_STUB), mode: 'host' })).toEqual([]);
  });
  test('--dns* flags rebuild it; loopback servers still work there', () => {
    expect(sandboxResolvConf({ host: parseResolvConf(UBUNTU_STUB), mode: 'host', dnsSearch: ['x.example'] })).toBe(`search x.example
nameserver 127.0.0.53
options edns0 trust-ad
`);
    expect(sandboxResolvConf({ host: parseResolvConf(UBUNTU_STUB), mode: 'host', dns: ['9.9.9.9'] })).toBe(`search lan
nameserver 9.9.9.9
options edns0 trust-ad
`);
  });
});
