// The addon checks its arguments on the JS thread, before any work is
// queued: a typo is a synchronous TypeError, never a kernel error. Needs the
// built addon, not root (nothing reaches the kernel).
import { existsSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { native } from '../../src/native.js';

const built = existsSync(new URL('../../build/Release/nsnet.node', import.meta.url));

describe.skipIf(!built)('addon argument checks', () => {
  const n = built ? native() : undefined!;
  test('every verb is there', () => {
    expect(Object.keys(n).sort()).toEqual([
      'addrAdd', 'addrDel', 'addrList', 'flock', 'linkAdd', 'linkDel', 'linkGet', 'linkList', 'linkSet', 'neighAdd', 'neighDel', 'neighList', 'netnsCreate',
      'netnsDelete', 'netnsOpen', 'nftApply', 'nftMonitor', 'nftTableGet', 'peerCred', 'rlimitNofileRaise', 'routeAdd', 'routeDel', 'routeList', 'rtnlOpen', 'socketBind', 'spawn',
      'sysctlRead', 'sysctlWrite', 'udpClose', 'udpEpoll', 'udpServe', 'udpSocket', 'unixRequest', 'waitpid',
    ]);
  });
  test.each([
    ['linkAdd without kind', () => n.linkAdd(0, { name: 'x' } as never), /needs name and kind/],
    ['veth peer up', () => n.linkAdd(0, { name: 'x', kind: 'veth', peer: { name: 'y', up: true } as never }), /peer.up/],
    ['bad MAC', () => n.linkAdd(0, { name: 'x', kind: 'bridge', address: '02:42:zz:00:00:01' }), /not a hardware address/],
    ['data not a list', () => n.linkAdd(0, { name: 'x', kind: 'macvlan', data: {} as never }), /data must be a list/],
    ['data entry with two sizes', () => n.linkAdd(0, { name: 'x', kind: 'macvlan', data: [{ type: 1, u8: 1, u32: 4 }] }), /exactly one of u8, u16, u32, be16, ip/],
    ['data be16 out of range', () => n.linkAdd(0, { name: 'x', kind: 'vxlan', data: [{ type: 15, be16: 65536 }] }), /be16/],
    ['data ip not an address', () => n.linkAdd(0, { name: 'x', kind: 'vxlan', data: [{ type: 4, ip: '198.51.100.300' }] }), /ip: not an IPv4/],
    ['neighbour without a family', () => n.neighAdd(0, { index: 1, dst: '10.0.0.1' } as never), /family must be 4, 6 or "bridge"/],
    ['neighbour without a device', () => n.neighAdd(0, { family: 4, index: 0, dst: '10.0.0.1', lladdr: '02:00:00:00:00:01' }), /device's index/],
    ['fdb entry without a MAC', () => n.neighAdd(0, { family: 'bridge', index: 1, dst: '198.51.100.2' }), /needs lladdr/],
    ['neighbour of the wrong family', () => n.neighAdd(0, { family: 4, index: 1, dst: 'fe80::1', lladdr: '02:00:00:00:00:01' }), /not of the entry's family/],
    ['neighbour create mode', () => n.neighAdd(0, { family: 4, index: 1, dst: '10.0.0.1', lladdr: '02:00:00:00:00:01', create: 'merge' as never }), /create must be/],
    ['neighbour list family', () => n.neighList(0, { family: 5 as never }), /family must be/],
    ['data entry without a type', () => n.linkAdd(0, { name: 'x', kind: 'macvlan', data: [{ u32: 4 } as never] }), /needs a type/],
    ['data u16 out of range', () => n.linkAdd(0, { name: 'x', kind: 'macvlan', data: [{ type: 2, u16: 70000 }] }), /u16/],
    ['data with a veth peer', () => n.linkAdd(0, { name: 'x', kind: 'veth', peer: { name: 'y' }, data: [{ type: 1, u32: 4 }] }), /data and peer exclude each other/],
    ['link on linkSet', () => n.linkSet(0, 1, { link: 2 } as never), /link and data are for linkAdd/],
    ['bad address', () => n.addrAdd(0, { index: 1, address: '10.0.0.256', prefixlen: 24 }), /not an IPv4 or IPv6 address/],
    ['prefix too long', () => n.addrAdd(0, { index: 1, address: '10.0.0.1', prefixlen: 33 }), /prefixlen too long/],
    ['route with nothing', () => n.routeAdd(0, {}), /needs dst, gateway or family/],
    ['route mixing families', () => n.routeAdd(0, { dst: '10.0.0.0', gateway: 'fe80::1' }), /mixes IPv4 and IPv6/],
    ['netns name with a slash', () => n.netnsCreate({ name: '../x' }), /invalid namespace name/],
    ['sysctl escaping /proc/sys', () => n.sysctlRead(-1, '../../etc/passwd'), /invalid sysctl key/],
    ['socket type', () => n.socketBind(-1, { type: 'sctp' as never, address: '127.0.0.1' }), /udp.*tcp/],
    ['fd not a number', () => n.rtnlOpen('3' as never), /file descriptor/],
    ['negative index', () => n.linkGet(0, { index: -1 }), /index must be an integer/],
    ['spawn with a relative path', () => n.spawn({ argv: ['sh'] }), /absolute path/],
    ['nft family unknown to nft', () => n.nftTableGet(-1, 'ipv4' as never, 'nsnet'), /family must be ip, ip6, inet/],
    ['nft table name empty', () => n.nftTableGet(-1, 'ip', ''), /name must be 1 to 255/],
    ['nft monitor without a callback', () => n.nftMonitor(-1, undefined as never), /onEvents must be a function/],
    ['nft monitor buffer too small', () => n.nftMonitor(-1, () => {}, { rcvbuf: 10 }), /rcvbuf must be an integer/],
    ['udpSocket with a bad address', () => n.udpSocket('10.0.0.256'), /not an IPv4 or IPv6 address/],
    ['udpSocket sending with no peer', () => n.udpSocket('0.0.0.0', { send: Buffer.alloc(1) }), /with a peer/],
    ['udpEpoll without a function', () => n.udpEpoll(undefined as never), /needs a function/],
    ['udpServe without a function', () => n.udpServe(undefined as never), /needs a function/],
    ['udpSocket with a bad peer port', () => n.udpSocket('0.0.0.0', { peer: '127.0.0.1', peerPort: 70000 }), /peerPort/],
    ['spawn joining and creating a PID namespace', () => n.spawn({ argv: ['/bin/true'], newPidns: true, joinPidns: '/proc/1/ns/pid' }), /exclude each other/],
  ])('%s: synchronous TypeError', (_name, call, message) => {
    expect(call).toThrow(message);
  });
});
