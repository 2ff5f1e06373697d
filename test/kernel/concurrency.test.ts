// Two CLI calls at once never hand out the same address: 50 concurrent
// `nsnet create` on one network, then the state is checked against the kernel.
import { afterEach, beforeEach, expect, test } from 'vitest';
import { describeKernel, ipJson, tag } from '../helpers/kernel.js';
import { TestHost } from '../helpers/host.js';

let h: TestHost;
beforeEach(async () => {
  h = await TestHost.make(tag());
});
afterEach(async () => {
  await h.cleanup();
}, 120_000);

describeKernel('concurrency (kernel)', () => {
  test('50 concurrent creates on one network: 50 distinct addresses, no error, state = kernel', async () => {
    const net = `n-${h.tag}`;
    await h.ok(['network', 'create', '--subnet', '10.50.0.0/24', net]);
    const names = Array.from({ length: 50 }, (_, i) => h.sb(`c${i}`));
    const results = await Promise.all(names.map((n) => h.nsnet(['create', '--name', n, '--network', net], { timeout: 60_000 })));
    expect(results.filter((r) => r.code !== 0).map((r) => r.stderr)).toEqual([]);

    const [inspected] = JSON.parse(await h.ok(['network', 'inspect', net]));
    const fromState = Object.values(inspected.Containers as Record<string, { Name: string; IPv4Address: string; MacAddress: string }>);
    expect(fromState).toHaveLength(50);
    const ips = fromState.map((c) => c.IPv4Address);
    expect(new Set(ips).size).toBe(50);
    // The lowest addresses, .2 to .51, as Docker's allocator hands them out.
    expect(ips.map((ip) => Number(ip.split('/')[0]!.split('.')[3])).sort((a, b) => a - b))
      .toEqual(Array.from({ length: 50 }, (_, i) => i + 2));

    // The kernel agrees with the state, sandbox by sandbox.
    for (const c of fromState) {
      const [eth0] = await ipJson(['addr', 'show', 'eth0'], c.Name);
      expect(`${eth0.addr_info[0].local}/${eth0.addr_info[0].prefixlen}`).toBe(c.IPv4Address);
      expect(eth0.address).toBe(c.MacAddress);
    }
    const bridge = `br-${inspected.Id.slice(0, 12)}`;
    expect(await ipJson(['link', 'show', 'master', bridge], h.name)).toHaveLength(50);
  }, 120_000);
});
