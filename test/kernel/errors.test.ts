// Must-show 3: bad requests reject with errno/code and a message naming the
// object, and leave nothing half-made.
import { afterEach, beforeEach, expect, test } from 'vitest';
import {
  KernelError, addrAdd, bridgeAdd, linkGet, linkSet, netnsAdd, netnsDel, netnsOpen, routeAdd, vethAdd, type Netns,
} from '../../src/index.js';
import { describeKernel, ipJson, netnsNames, tag } from '../helpers/kernel.js';

let t: string;
let host: Netns;
let box: Netns;

beforeEach(async () => {
  t = tag();
  host = await netnsAdd(`h-${t}`);
  box = await netnsAdd(`c-${t}`);
});
afterEach(async () => {
  await netnsDel(box).catch(() => {});
  await netnsDel(host).catch(() => {});
});

async function rejection(p: Promise<unknown>): Promise<KernelError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e, 'expected the call to fail').toBeInstanceOf(KernelError);
  return e as KernelError;
}

const names = async (ns: Netns) => ((await ipJson(['link', 'show'], ns.name)) as any[]).map((l) => l.ifname).sort();

describeKernel('errors (kernel)', () => {
  test('creating a namespace that exists: EEXIST naming it; the existing one is untouched', async () => {
    const before = await names(box);
    const e = await rejection(netnsAdd(`c-${t}`));
    expect(e).toMatchObject({ code: 'EEXIST', errno: -17, syscall: 'open' });
    expect(e.message).toBe(`creating namespace c-${t}: EEXIST (File exists)`);
    expect(e.equivalent).toBe(`ip netns add c-${t}`);
    expect(netnsNames().filter((n) => n === `c-${t}`)).toHaveLength(1);
    expect(await names(box)).toEqual(before);
  });

  test('opening or deleting a namespace that does not exist: ENOENT naming it', async () => {
    const open = await rejection(netnsOpen({ name: `nope-${t}` }));
    expect(open).toMatchObject({ code: 'ENOENT', errno: -2 });
    expect(open.message).toContain(`opening namespace nope-${t}`);
    const del = await rejection(netnsDel(`nope-${t}`));
    expect(del).toMatchObject({ code: 'ENOENT' });
    expect(del.message).toContain(`deleting namespace nope-${t}`);
    // A path that is not a namespace at all.
    const notNs = await rejection(netnsOpen({ path: '/proc/self/status' }));
    expect(notNs).toMatchObject({ code: 'EINVAL' });
  });

  test('creating a link that exists: EEXIST naming it; no second link, no stray peer', async () => {
    await bridgeAdd(host, { name: `br${t}` });
    const e = await rejection(bridgeAdd(host, { name: `br${t}` }));
    expect(e).toMatchObject({ code: 'EEXIST', op: 'RTM_NEWLINK', syscall: 'sendmsg' });
    expect(e.message).toMatch(new RegExp(`^creating bridge br${t} in netns h-${t}: EEXIST`));

    // A veth whose host-side name is taken: its peer must not appear in the sandbox.
    const v = await rejection(vethAdd(host, { name: `br${t}`, peer: { name: 'eth0', netns: box }, for: 'sandbox web' }));
    expect(v.code).toBe('EEXIST');
    expect(v.message).toMatch(new RegExp(`^creating veth br${t} \\(peer eth0 in netns c-${t}\\) for sandbox web: EEXIST \\(File exists\\)`));
    expect(await names(host)).toEqual([`br${t}`, 'lo']);
    expect(await names(box)).toEqual(['lo']);

    // A veth whose peer name is taken in the sandbox: the host end must not remain.
    await vethAdd(host, { name: `v1${t}`, peer: { name: 'eth0', netns: box } });
    const p = await rejection(vethAdd(host, { name: `v2${t}`, peer: { name: 'eth0', netns: box } }));
    expect(p.code).toBe('EEXIST');
    expect(p.message).toContain(`creating veth v2${t}`);
    expect(await names(host)).toEqual([`br${t}`, 'lo', `v1${t}`]);
  });

  test('enslaving to something that is not a bridge: an error naming both; no master set', async () => {
    const a = await vethAdd(host, { name: `va${t}`, peer: { name: `pa${t}` } });
    const b = await vethAdd(host, { name: `vb${t}`, peer: { name: `pb${t}` } });
    const e = await rejection(linkSet(host, a.link, { master: b.link }));
    expect(e.code).toBe('EOPNOTSUPP');
    expect(e.message).toContain(`setting master vb${t} on link va${t} in netns h-${t}`);
    expect((await linkGet(host, `va${t}`)).master).toBeUndefined();
  });

  test('invalid addresses: rejected before the kernel, or by it, naming the address; nothing added', async () => {
    const v = await vethAdd(host, { name: `va${t}`, peer: { name: 'eth0', netns: box } });
    const eth0 = { index: v.peerIndex, name: 'eth0' };
    for (const bad of ['10.0.0.300/24', '10.0.0.1/33', 'fe80::zz/64', 'not-an-ip']) {
      const e = await rejection(addrAdd(box, eth0, bad));
      expect(e.code).toBe('EINVAL');
      expect(e.message).toContain(`invalid address ${bad}`);
    }
    // Valid text, but the link does not exist: the kernel says ENODEV.
    const gone = await rejection(addrAdd(box, { index: 9999, name: 'eth9' }, '10.0.0.2/24'));
    expect(gone).toMatchObject({ code: 'ENODEV', op: 'RTM_NEWADDR' });
    expect(gone.message).toContain('adding address 10.0.0.2/24 to eth9');
    const addrs = (await ipJson(['-4', 'addr', 'show'], box.name)) as any[];
    expect(addrs.flatMap((i) => i.addr_info.map((a: any) => a.local))).toEqual([]);
  });

  test('a gateway the sandbox cannot reach: the kernel explains why (extended ack); no route added', async () => {
    const e = await rejection(routeAdd(box, { dst: 'default', via: '10.99.0.1' }));
    expect(e.code).toBe('ENETUNREACH');
    expect(e.extack?.message).toMatch(/gateway/i);
    expect(e.message).toContain('adding route default via 10.99.0.1');
    expect(e.message).toContain(e.extack!.message);
    expect(await ipJson(['route', 'show'], box.name)).toEqual([]);
  });

  test('names that cannot be interface names: EINVAL before any request', async () => {
    const e = await rejection(vethAdd(host, { name: 'x'.repeat(16), peer: { name: 'eth0', netns: box } }));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toContain('invalid interface name');
    await rejection(bridgeAdd(host, { name: 'has space' }));
    await rejection(netnsAdd('../escape'));
    expect(await names(host)).toEqual(['lo']);
    expect(await names(box)).toEqual(['lo']);
  });
});
