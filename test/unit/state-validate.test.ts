// The state files' checks (validate.ts), the bitmap format (bitmap.ts) and
// what a damaged record or networks.json still gives (salvage.ts,
// salvageNetworks): every kind of damage is named, none is taken for data.
import { describe, expect, test } from 'vitest';
import { bitmapAddresses, bitmapHeader, bitmapOf, checksum, decodeBitmap, emptyBitmap, encodeBitmap, HEADER } from '../../src/state/bitmap.js';
import { creatorProblem, networksProblem, parseState, portClaimsProblem, salvageNetworks, sandboxProblem } from '../../src/state/validate.js';
import { salvageRecord } from '../../src/docker/salvage.js';

const ID = 'a'.repeat(64);
const ID2 = 'b'.repeat(64);
const net = (o: object = {}) => ({ id: ID, name: 'web', driver: 'bridge', builtin: false, bridge: 'br-aaaaaaaaaaaa', subnet: '10.1.0.0/24', gateway: '10.1.0.1', ...o });
const host = { id: ID2, name: 'host', driver: 'host', builtin: true };
const endpoint = { networkId: ID, endpointId: ID2, ifname: 'eth0', hostVeth: 'veth1234567', ip: '10.1.0.2', prefixlen: 24, mac: '02:42:0a:01:00:02', gateway: '10.1.0.1', aliases: [], staticIp: false };
const record = (o: object = {}) => ({ id: ID, name: 'sb1', created: 'x', status: 'created', mode: 'bridge', networkMode: 'web', netns: 'sb1', hostname: 'h', endpoints: [endpoint], ports: [{ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, ip: '10.1.0.2' }], links: [], dns: [], dnsSearch: [], dnsOptions: [], extraHosts: [], ...o });
const claim = (o: object = {}) => ({ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, sandboxId: ID, ...o });

describe('parseState: each kind of damage is named', () => {
  const text = JSON.stringify([host, net()]);
  test.each([
    ['truncated', text.slice(0, text.length - 7), /^not valid JSON \(/],
    ['empty', '', /^empty \(0 bytes\)$/],
    ['whitespace', ' \n', /^empty \(only whitespace\)$/],
    ['binary', '\u0000\u0001\u00ff\u0002garbage', /^not valid JSON \(binary data\)$/],
    ['an object instead of a list', '{"networks":[]}', /^wrong shape: expected a list of networks, found an object$/],
    ['a number', '42', /^wrong shape: expected a list of networks, found a number$/],
  ])('%s', (_kind, t, problem) => {
    const p = parseState(t, networksProblem);
    expect(p.value).toBeUndefined();
    expect(p.problem).toMatch(problem);
  });
  test('a good file parses', () => {
    expect(parseState(text, networksProblem)).toEqual({ value: [host, net()] });
  });
});

describe('networksProblem', () => {
  test.each([
    [[net({ id: 'short' })], /network 1 \("web"\): id "short" is not valid/],
    [[net({ subnet: undefined })], /subnet is missing/],
    [[net({ gateway: '10.1.0.300' })], /gateway "10.1.0.300" is not valid/],
    [[net({ driver: 'overlay' })], /driver "overlay" is not valid/],
    [[net({ builtin: 'yes' })], /builtin is not true or false/],
    [[net({ name: 7 })], /name is a number/],
    [[host, 'x'], /network 2: is a string, not an object/],
    [[net(), net({ name: 'other' })], /its id appears twice/],
    [[net(), net({ id: ID2 })], /its name appears twice/],
    [[net({ enableIPv6: true, subnet6: '2001:db8::/64', gateway6: 'x' })], /gateway6 "x" is not valid/],
    [[net({ enableIPv6: true, subnet6: 7 })], /subnet6 is a number/],
  ])('%j', (value, problem) => {
    expect(networksProblem(value)).toMatch(problem);
  });
  test('a dual-stack network passes', () => {
    expect(networksProblem([net({ enableIPv6: true, subnet6: '2001:db8:1::/64', gateway6: '2001:db8:1::1' })])).toBeUndefined();
  });
  test('host and none need no subnet; extra fields pass', () => {
    expect(networksProblem([host, net({ labels: { a: 'b' }, future: 1 })])).toBeUndefined();
  });
});

describe('sandboxProblem', () => {
  test('a good record passes', () => expect(sandboxProblem(record(), 'sb1')).toBeUndefined());
  test('a dual-stack endpoint passes', () => expect(sandboxProblem(record({ endpoints: [{ ...endpoint, ip6: '2001:db8:1::2' }] }), 'sb1')).toBeUndefined());
  test.each([
    [record({ name: 'other' }), /name "other" is not the file's \("sb1"\)/],
    [record({ endpoints: {} }), /endpoints is an object, not a list/],
    [record({ endpoints: [{ ...endpoint, ip: 'x' }] }), /endpoint 1: ip "x" is not valid/],
    [record({ endpoints: [{ ...endpoint, ip6: '10.1.0.2' }] }), /endpoint 1: ip6 "10.1.0.2" is not valid/],
    [record({ ports: [{ proto: 'sctp', hostIp: '0.0.0.0', hostPort: 1 }] }), /port 1: proto "sctp" is not valid/],
    [record({ status: 'weird' }), /status "weird" is not valid/],
    [record({ id: undefined }), /id is missing/],
    [[record()], /expected a sandbox record \(an object\), found a list/],
    [null, /found null/],
  ])('%#', (value, problem) => {
    expect(sandboxProblem(value, 'sb1')).toMatch(problem);
  });
});

describe('portClaimsProblem and creatorProblem', () => {
  test('claims must be for the file\'s protocol and port, by a sandbox id', () => {
    expect(portClaimsProblem([claim()], 'tcp', 8080)).toBeUndefined();
    expect(portClaimsProblem([claim()], 'udp', 8080)).toMatch(/claim 1: is for tcp port 8080, not udp port 8080/);
    expect(portClaimsProblem([claim({ sandboxId: 'x' })], 'tcp', 8080)).toMatch(/claim 1: sandboxId "x" is not valid/);
    expect(portClaimsProblem([claim({ hostPort: 70000 })], 'tcp', 8080)).toMatch(/hostPort is not a port number/);
    expect(portClaimsProblem({}, 'tcp', 8080)).toMatch(/expected a list of port claims/);
  });
  test('a creator is a pid and a start time', () => {
    expect(creatorProblem({ pid: 12, start: '345' })).toBeUndefined();
    expect(creatorProblem({ pid: 0, start: '345' })).toMatch(/pid/);
    expect(creatorProblem({ pid: 12 })).toMatch(/start is missing/);
  });
});

describe('address bitmaps', () => {
  const base = (10 << 24) >>> 0;
  const file = encodeBitmap(bitmapOf(base, 256, [base + 2, base + 3, base + 200]));
  test('round trip, with a header naming the subnet and the count', () => {
    expect(file.length).toBe(HEADER + 32);
    expect(bitmapHeader(file)).toEqual({ base, size: 256, count: 3 });
    expect(bitmapAddresses(decodeBitmap(file, { base, size: 256 }).bitmap!)).toEqual([base + 2, base + 3, base + 200]);
  });
  test('the checksum sees any one changed byte, wherever it is, and is the same however the bytes are split', () => {
    const bytes = Buffer.alloc(37, 0);
    const sum = checksum(bytes);
    for (let i = 0; i < bytes.length; i++) {
      for (const v of [1, 0x80, 0xff]) {
        const b = Buffer.from(bytes);
        b[i] = v;
        expect(checksum(b), `byte ${i} = ${v}`).not.toBe(sum);
      }
    }
    expect(checksum(bytes.subarray(0, 16), bytes.subarray(16))).toBe(sum);
  });
  const flipped = Buffer.from(file);
  flipped[HEADER + 10]! ^= 0x10;
  const recounted = Buffer.from(file);
  recounted.writeUInt32BE(9, 12);
  test.each([
    ['empty', Buffer.alloc(0), /empty/],
    ['cut short in the header', file.subarray(0, 10), /cut short \(10 bytes\)/],
    ['cut short in the bits', file.subarray(0, file.length - 1), /cut short \(51 bytes, expected 52\)/],
    ['too long', Buffer.concat([file, Buffer.alloc(4)]), /too long/],
    ['a bit changed', flipped, /checksum does not match/],
    ['the count changed', recounted, /checksum does not match/],
    ['garbage', Buffer.from('garbage garbage garbage garbage'), /not an address bitmap/],
    ['the old headerless format', Buffer.alloc(32), /old format/],
  ])('%s is refused', (_k, buf, problem) => {
    expect(decodeBitmap(buf, { base, size: 256 }).problem).toMatch(problem);
  });
  test('a bitmap of another subnet is refused', () => {
    expect(decodeBitmap(file, { base: base + 256, size: 256 }).problem).toMatch(/for another subnet \(256 addresses from 10\.0\.0\.0\)/);
    expect(decodeBitmap(encodeBitmap(emptyBitmap(base, 256)), { base, size: 256 }).problem).toBeUndefined();
  });
});

describe('salvage', () => {
  test('a record cut short still gives its id and the endpoints before the cut', () => {
    const text = JSON.stringify(record({ pid: 42, pidStart: '777' }));
    const cut = text.slice(0, text.indexOf('"mac"'));
    expect(salvageRecord(cut)).toEqual({ id: ID, networkMode: 'web', endpoints: [{ networkId: ID, ip: '10.1.0.2', prefixlen: 24, hostVeth: 'veth1234567' }] });
    expect(salvageRecord(text)).toMatchObject({ pid: 42, pidStart: '777', endpoints: [{ networkId: ID, ip: '10.1.0.2', gateway: '10.1.0.1' }] });
    expect(salvageRecord('\u0000\u0001 garbage')).toEqual({ endpoints: [] });
  });
  test('a dual-stack endpoint\'s IPv6 address is salvaged too, when the text still has it', () => {
    const text = JSON.stringify(record({ endpoints: [{ ...endpoint, ip6: '2001:db8:1::2', prefixlen6: 64, gateway6: '2001:db8:1::1' }] }));
    expect(salvageRecord(text).endpoints).toEqual([{ networkId: ID, ip: '10.1.0.2', prefixlen: 24, gateway: '10.1.0.1', hostVeth: 'veth1234567', ip6: '2001:db8:1::2' }]);
    expect(salvageRecord(text.slice(0, text.indexOf('"ip6"'))).endpoints[0]).not.toHaveProperty('ip6');
  });
  test('networks.json cut short keeps the whole, well-shaped networks before the cut', () => {
    const text = JSON.stringify([host, net(), net({ id: 'c'.repeat(64), name: 'db' })]);
    expect(salvageNetworks(text.slice(0, text.length - 20))).toEqual([host, net()]);
    expect(salvageNetworks(JSON.stringify([host, { ...net(), subnet: 5 }]))).toEqual([host]);
    expect(salvageNetworks('\u0000garbage')).toEqual([]);
  });
});
