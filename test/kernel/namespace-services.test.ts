// sysctl, nftables, sockets and locks: the verbs that act *inside* a
// namespace on a throwaway thread, checked against the kernel.
import dgram from 'node:dgram';
import path from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import {
  KernelError, linkGet, linkSet, netnsAdd, netnsDel, netnsSelf, nftApply, nftList, socketBind, sysctlGet, sysctlSet,
  tryLock, withLock, type Netns,
} from '../../src/index.js';
import { describeKernel, inNetns, tag } from '../helpers/kernel.js';
import { testDir } from '../helpers/temp-dir.js';

let t: string;
let a: Netns;
let b: Netns;
beforeEach(async () => {
  t = tag();
  a = await netnsAdd(`a-${t}`);
  b = await netnsAdd(`b-${t}`);
});
afterEach(async () => {
  await netnsDel(a).catch(() => {});
  await netnsDel(b).catch(() => {});
});

describeKernel('sysctl, nftables, sockets, locks (kernel)', () => {
  test('sysctls are per namespace', async () => {
    // The runner's own namespace is shared with other test files (one may have
    // made a bridge network in it): compare it with itself, not with 0.
    const self = await netnsSelf();
    try {
      const before = await sysctlGet(self, 'net.ipv4.ip_forward');
      await sysctlSet(a, 'net.ipv4.ip_forward', 1);
      expect(await sysctlGet(a, 'net.ipv4.ip_forward')).toBe('1');
      expect(await sysctlGet(b, 'net.ipv4.ip_forward')).toBe('0');
      expect(await sysctlGet(self, 'net.ipv4.ip_forward')).toBe(before);
    } finally {
      await self.close();
    }
    expect((await inNetns(a.name!, ['sysctl', '-n', 'net.ipv4.ip_forward'])).stdout).toBe('1');
    await sysctlSet(a, 'net/ipv4/conf/lo/route_localnet', '1');
    expect((await inNetns(a.name!, ['sysctl', '-n', 'net.ipv4.conf.lo.route_localnet'])).stdout).toBe('1');
    await expect(sysctlGet(a, 'net.ipv4.no_such_key')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('nft text applies atomically inside the namespace only', async () => {
    await nftApply(a, [
      'table inet nsnet {',
      '  set ports { type inet_service; }',
      '  chain output { type nat hook output priority -100; ip daddr 127.0.0.11 udp dport 53 dnat ip to 127.0.0.11:5353; }',
      '}',
      'add element inet nsnet ports { 8080 }',
    ].join('\n'));
    const listed = (await inNetns(a.name!, ['nft', 'list', 'ruleset'])).stdout;
    expect(listed).toContain('table inet nsnet');
    expect(listed).toContain('dnat ip to 127.0.0.11:5353');
    expect(listed).toMatch(/elements = \{ 8080 \}/);
    expect((await inNetns(b.name!, ['nft', 'list', 'ruleset'])).stdout).toBe('');
    expect(await nftList(a, 'table inet nsnet')).toContain('set ports');

    // A buffer with one bad command changes nothing.
    const e = await nftApply(b, 'table ip ok { }\nadd element inet absent s { 1 }').catch((err: unknown) => err);
    expect(e).toBeInstanceOf(KernelError);
    expect((e as KernelError).code).toBe('ENOENT');
    expect((e as KernelError).extack?.message).toContain('No such file or directory');
    expect((await inNetns(b.name!, ['nft', 'list', 'ruleset'])).stdout).toBe('');

    // A syntax error is EINVAL with nft's own message.
    await expect(nftApply(b, 'table ip x { chain }')).rejects.toMatchObject({ code: 'EINVAL' });
  });

  test('a UDP socket bound inside a namespace serves that namespace only, from this process', async () => {
    await linkSet(a, await linkGet(a, 'lo'), { up: true });
    const bound = await socketBind(a, { type: 'udp', address: '127.0.0.1' });
    expect(bound.port).toBeGreaterThan(0);
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => sock.bind({ fd: bound.fd }, resolve));
    sock.on('message', (msg, rinfo) => sock.send(Buffer.concat([Buffer.from('echo:'), msg]), rinfo.port, rinfo.address));
    try {
      // The kernel shows the socket inside a, with no process of a's own.
      expect((await inNetns(a.name!, ['ss', '-lun'])).stdout).toContain(`127.0.0.1:${bound.port}`);
      const r = await inNetns(a.name!, ['bash', '-c',
        `exec 3<>/dev/udp/127.0.0.1/${bound.port}; printf ping >&3; timeout 2 head -c 9 <&3`]);
      expect(r.stdout).toBe('echo:ping');
      expect((await inNetns(b.name!, ['ss', '-lun'])).stdout).not.toContain(`:${bound.port}`);
    } finally {
      sock.close();
    }
  });

  test('flock: holders take turns; a non-waiting attempt fails with EAGAIN', async () => {
    const file = path.join(testDir('nsnet-lock-'), 'lock');
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    const first = withLock(file, async () => { order.push('1 in'); await held; order.push('1 out'); });
    await new Promise((r) => setTimeout(r, 50));
    await expect(tryLock(file, async () => {})).rejects.toMatchObject({ code: 'EAGAIN' }) // EWOULDBLOCK is EAGAIN on Linux;
    const second = withLock(file, async () => { order.push('2 in'); });
    await new Promise((r) => setTimeout(r, 50));
    expect(order).toEqual(['1 in']);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['1 in', '1 out', '2 in']);
  });
});
