// --dry-run prints the plan as the equivalent commands, in order, and changes
// nothing: not the kernel, not nsnet's state.
import { execa } from 'execa';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { describeKernel, ipJson, netnsNames, tag } from '../helpers/kernel.js';
import { TestHost } from '../helpers/host.js';
import { makeLan } from '../helpers/lan.js';

let h: TestHost;
beforeEach(async () => {
  h = await TestHost.make(tag());
});
afterEach(async () => {
  await h.cleanup();
});

/** Random names and ids replaced, so the plan can be compared with a golden text. */
const normalize = (text: string, t: string) => text
  .replaceAll(t, 'TAG')
  .replace(/br-[0-9a-f]{12}/g, 'br-ID')
  .replace(/(ip link add br-ID.*) address 02(:[0-9a-f]{2}){5}/g, '$1 address BRMAC')
  .replace(/veth[0-9a-f]{7}/g, 'vethID')
  .replace(/\b[0-9a-f]{12}\b/g, 'HOSTNAME')
  .replace(/\/tmp\/nsnet-[^/]+\/etc-netns/g, 'ETC');

async function snapshot() {
  return {
    links: ((await ipJson(['link'], h.name)) as any[]).map((l) => l.ifname).sort(),
    nft: (await h.run(['nft', 'list', 'ruleset'])).stdout,
    netns: netnsNames().sort(),
    networks: (await h.ok(['network', 'ls', '-q'])).split('\n').length,
    sandboxes: await h.ok(['ps', '-aq']),
  };
}

describeKernel('--dry-run (kernel)', () => {
  test('network create and run print their plan and change nothing', async () => {
    await h.ok(['network', 'ls']); // the built-in networks, so they are not part of the plan
    const before = await snapshot();
    const plan = await h.ok(['network', 'create', '--dry-run', '--subnet', '10.77.0.0/24', `n-${h.tag}`]);
    // The host has no nsnet tables yet: the plan starts by creating them.
    expect(plan.split('\n')[0]).toBe('# creating nftables tables ip nsnet, ip6 nsnet and bridge nsnet (first network on this host)');
    // One transaction that replaces nsnet's tables whole (add+delete makes the delete safe when they don't exist).
    expect(plan).toContain("nft -f - <<'EOF'\nadd table ip nsnet\ndelete table ip nsnet\nadd table ip6 nsnet\ndelete table ip6 nsnet\nadd table bridge nsnet\ndelete table bridge nsnet\ntable ip nsnet {");
    const net = plan.slice(plan.indexOf('\nEOF\n') + 5);
    expect(normalize(net, h.tag)).toBe([
      '# creating bridge br-ID',
      'ip link add br-ID address BRMAC up type bridge',
      '# adding gateway 10.77.0.1/24 to br-ID',
      'ip addr add 10.77.0.1/24 dev br-ID',
      '# turning on IPv4 forwarding',
      'sysctl -w net.ipv4.ip_forward=1',
      'sysctl -w net.ipv4.conf.br-ID.route_localnet=1',
      '# adding br-ID to the nsnet firewall',
      'nft add element ip nsnet bridges { "br-ID" }',
      'nft add element ip nsnet subnets { 10.77.0.0/24 }',
      'nft add element ip nsnet same_subnet { 10.77.0.0/24 . 10.77.0.0/24 }',
      'nft add element ip nsnet masq_subnets { 10.77.0.0/24 }',
      "# letting br-ID through Docker's FORWARD chain, if Docker is here",
      // The text nsnet applies (insert puts each rule first: iifname ends up above oifname).
      'nft insert rule ip filter DOCKER-USER oifname "br-ID" accept comment "nsnet"',
      'nft insert rule ip filter DOCKER-USER iifname "br-ID" accept comment "nsnet"',
    ].join('\n'));
    expect(await snapshot()).toEqual(before);

    await h.ok(['network', 'create', '--subnet', '10.77.0.0/24', `n-${h.tag}`]);
    const mid = await snapshot();
    const run = await h.ok(['run', '--dry-run', '--name', `web-${h.tag}`, '--network', `n-${h.tag}`, '-p', '8080:80', '--', 'sleep', '100']);
    const lines = normalize(run, h.tag).split('\n');
    expect(lines.slice(0, 7)).toEqual([
      '# creating network namespace web-TAG',
      'ip netns add web-TAG',
      'ip netns exec web-TAG sysctl -qw net.ipv6.conf.default.disable_ipv6=1',
      'ip -n web-TAG link set dev lo up',
      '# writing ETC/web-TAG/{resolv.conf,hosts,hostname}',
      'mkdir -p ETC/.nsnet && touch ETC/.nsnet/web-TAG  # marks ETC/web-TAG as nsnet\'s',
      'mkdir -p ETC/web-TAG',
    ]);
    // The bridge exists: no step for it (a plan shows changes; a missing bridge would show its creation).
    expect(lines.some((l) => l.includes('making sure'))).toBe(false);
    const bridge = lines.indexOf('# creating veth vethID (peer eth0 in netns web-TAG)');
    expect(bridge).toBeGreaterThan(7);
    expect(lines.slice(bridge, bridge + 10)).toEqual([
      '# creating veth vethID (peer eth0 in netns web-TAG)',
      'ip link add vethID master br-ID up type veth peer name eth0 netns web-TAG address 02:42:0a:4d:00:02',
      '# turning on hairpin on bridge port vethID',
      'ip link set dev vethID type bridge_slave hairpin on',
      '# adding 10.77.0.2/24 to eth0 and bringing it up',
      'ip -n web-TAG addr add 10.77.0.2/24 dev eth0',
      'ip -n web-TAG link set dev eth0 up',
      '# adding default route via 10.77.0.1',
      'ip -n web-TAG route add default via 10.77.0.1',
      '# publishing 1 port(s)',
    ]);
    expect(lines).toContain('nft add element ip nsnet ports { tcp . 8080 : 10.77.0.2 . 80 }');
    expect(lines).toContain('nameserver 127.0.0.11');
    expect(lines.at(-1)).toBe("ip netns exec web-TAG unshare --uts --pid --fork --mount-proc sh -c 'hostname HOSTNAME && exec \"$@\"' sh sleep 100");
    expect(await snapshot()).toEqual(mid);

    // rm --dry-run on a real sandbox: the teardown, and the sandbox still there.
    h.names.add(`db-${h.tag}`);
    await h.ok(['create', '--name', `db-${h.tag}`, '--network', `n-${h.tag}`, '-p', '9090:90']);
    const after = await snapshot();
    // The undos of the steps that made it, in reverse.
    expect(normalize(await h.ok(['rm', '--dry-run', '-f', `db-${h.tag}`]), h.tag).split('\n')).toEqual([
      '# unpublishing ports of sandbox db-TAG',
      'nft delete element ip nsnet ports { tcp . 9090 }',
      '# detaching the embedded DNS server from db-TAG',
      expect.stringMatching(/^echo '\{"op":"sync","ids":\["[0-9a-f]{64}"\],"gone":true\}' \| socat - UNIX-CONNECT:\/.*\/dns.sock$/),
      '# removing ETC/db-TAG',
      'rm -rf ETC/db-TAG ETC/.nsnet/db-TAG',
      '# deleting network namespace db-TAG',
      'ip netns del db-TAG',
    ]);
    expect(await snapshot()).toEqual(after);

    // connect, disconnect and network rm plan too, and change nothing.
    await h.ok(['network', 'create', '--subnet', '10.79.0.0/24', `m-${h.tag}`]);
    const beforeConnect = await snapshot();
    const connect = normalize(await h.ok(['network', 'connect', '--dry-run', `m-${h.tag}`, `db-${h.tag}`]), h.tag).split('\n');
    expect(connect).toContain('ip link add vethID master br-ID up type veth peer name eth1 netns db-TAG address 02:42:0a:4f:00:02');
    expect(connect).toContain('ip -n db-TAG addr add 10.79.0.2/24 dev eth1');
    expect(connect).toContain('ip link set dev vethID type bridge_slave hairpin on');
    const disconnect = normalize(await h.ok(['network', 'disconnect', '--dry-run', `n-${h.tag}`, `db-${h.tag}`]), h.tag).split('\n');
    expect(disconnect.slice(0, 3)).toEqual(['# deleting eth0 in netns db-TAG', 'ip -n db-TAG link del dev eth0', '# rewriting ETC/db-TAG/{resolv.conf,hosts,hostname}']);
    const rmNet = normalize(await h.ok(['network', 'rm', '--dry-run', `m-${h.tag}`]), h.tag).split('\n');
    expect(rmNet[0]).toBe("# removing br-ID from Docker's FORWARD chain");
    expect(rmNet).toContain('nft delete element ip nsnet bridges { "br-ID" }');
    expect(rmNet.at(-1)).toBe('ip link del dev br-ID');
    expect(await snapshot()).toEqual(beforeConnect);
  });

  test('the printed commands, run by hand in a fresh host, build what nsnet builds', async () => {
    const other = await TestHost.make(tag());
    try {
      const br = `brr${h.tag}`;
      const netArgs = ['--subnet', '10.78.0.0/24', '-o', `com.docker.network.bridge.name=${br}`, `r-${h.tag}`];
      const [a, b] = [h.sb('ra'), other.sb('rb')];
      // Plan in host A, then let nsnet do it there.
      const planNet = await h.ok(['network', 'create', '--dry-run', ...netArgs]);
      await h.ok(['network', 'create', ...netArgs]);
      const planSb = await h.ok(['create', '--dry-run', '--name', a, '--network', `r-${h.tag}`, '-p', '8081:81']);
      await h.ok(['create', '--name', a, '--network', `r-${h.tag}`, '-p', '8081:81']);
      // Replay the plan with bash in host B (DOCKER-USER lines need Docker's chain, and the
      // DNS server's request nsnet's DNS server: host B has neither).
      const script = `${planNet}\n${planSb.replaceAll(a, b)}`.split('\n').filter((l) => !l.includes('DOCKER-USER') && !l.includes('UNIX-CONNECT')).join('\n');
      const r = await execa('nsenter', [`--net=/run/netns/${other.name}`, '--', 'bash', '-e'], { input: script, reject: false });
      expect(r.exitCode, String(r.stderr)).toBe(0);

      const view = async (host: TestHost, sb: string) => {
        const addrs = (ns?: string) => ipJson(['addr'], ns).then((x: any[]) => x.map((l) => [l.ifname, l.operstate, l.address,
          l.addr_info.filter((i: any) => i.family === 'inet').map((i: any) => `${i.local}/${i.prefixlen}`)]));
        return {
          sandbox: await addrs(sb),
          routes: ((await ipJson(['route'], sb)) as any[]).map((x) => [x.dst, x.gateway, x.dev, x.scope]),
          bridge: ((await ipJson(['-4', 'addr', 'show', br], host.name)) as any[]).map((l) => l.addr_info.map((i: any) => `${i.local}/${i.prefixlen}`)),
          ports: ((await ipJson(['link', 'show', 'master', br], host.name)) as any[]).length,
          sysctls: (await host.run(['sysctl', '-n', 'net.ipv4.ip_forward', `net.ipv4.conf.${br}.route_localnet`])).stdout,
          nft: (await host.run(['nft', 'list', 'ruleset'])).stdout,
        };
      };
      const [va, vb] = [await view(h, a), await view(other, b)];
      expect(vb).toEqual(va);
      expect(va.sandbox).toContainEqual(['eth0', 'UP', '02:42:0a:4e:00:02', ['10.78.0.2/24']]);
    } finally {
      await other.cleanup();
    }
  });
  test('a macvlan network and sandbox: the plan as golden text, and replayed by hand in a fresh host, the same kernel state', async () => {
    const other = await TestHost.make(tag());
    const [lanA, lanB] = [await makeLan(h), await makeLan(other)];
    try {
      const net = `v-${h.tag}`;
      const netArgs = ['-d', 'macvlan', '--subnet', '192.0.2.0/24', '--gateway', '192.0.2.1', '--aux-address', 'shim=192.0.2.2', '-o', 'parent=ens4', net];
      const [a, b] = [h.sb('va'), other.sb('vb')];
      await h.ok(['network', 'ls']);
      const before = await snapshot();
      const planNet = await h.ok(['network', 'create', '--dry-run', ...netArgs]);
      // Nothing is made on the host for a macvlan network: a look at its parent.
      expect(planNet.split('\n')).toEqual([`# checking parent ens4 (macvlan network ${net} makes nothing on it)`, 'ip link show dev ens4']);
      expect(await snapshot()).toEqual(before);
      await h.ok(['network', 'create', ...netArgs]);
      const mid = await snapshot();
      const planSb = await h.ok(['create', '--dry-run', '--name', a, '--network', net, '-p', '8082:82']);
      const lines = normalize(planSb, h.tag).split('\n');
      const at = lines.indexOf('# creating macvlan eth0 on ens4 in netns va-TAG (mode bridge)');
      expect(at).toBeGreaterThan(0);
      // .2 is the aux address: the first sandbox gets .3. No veth, no bridge port, no published port.
      expect(lines.slice(at)).toEqual([
        '# creating macvlan eth0 on ens4 in netns va-TAG (mode bridge)',
        'ip link add link ens4 name eth0 netns va-TAG address 02:42:c0:00:02:03 up type macvlan mode bridge',
        '# adding 192.0.2.3/24 to eth0',
        'ip -n va-TAG addr add 192.0.2.3/24 dev eth0',
        '# adding default route via 192.0.2.1',
        'ip -n va-TAG route add default via 192.0.2.1',
      ]);
      expect(lines).toContain('nameserver 127.0.0.11');
      expect(lines.some((l) => /veth|nft/.test(l))).toBe(false);
      expect(await snapshot()).toEqual(mid);
      await h.ok(['create', '--name', a, '--network', net, '-p', '8082:82']);

      // Replay both plans with bash in host B, which has its own fake LAN on its own ens4.
      const script = `${planNet}\n${planSb.replaceAll(a, b)}`.split('\n').filter((l) => !l.includes('UNIX-CONNECT')).join('\n');
      const r = await execa('nsenter', [`--net=/run/netns/${other.name}`, '--', 'bash', '-e'], { input: script, reject: false });
      expect(r.exitCode, String(r.stderr)).toBe(0);
      const view = async (sb: string) => ({
        links: ((await ipJson(['-d', 'addr'], sb)) as any[]).map((l) => [l.ifname, l.operstate, l.address, l.linkinfo?.info_kind, l.linkinfo?.info_data?.mode,
          l.addr_info.filter((i: any) => i.family === 'inet').map((i: any) => `${i.local}/${i.prefixlen}`)]),
        routes: ((await ipJson(['route'], sb)) as any[]).map((x) => [x.dst, x.gateway, x.dev, x.scope]),
      });
      const [va, vb] = [await view(a), await view(b)];
      expect(vb).toEqual(va);
      expect(va.links).toContainEqual(['eth0', 'UP', '02:42:c0:00:02:03', 'macvlan', 'bridge', ['192.0.2.3/24']]);
      // Both reach their LAN's router, with the same address and MAC.
      for (const [sb, lan] of [[a, lanA], [b, lanB]] as const) {
        expect((await execa('ip', ['netns', 'exec', sb, 'ping', '-c1', '-W1', '192.0.2.1'], { reject: false })).exitCode).toBe(0);
        expect(((await ipJson(['neigh'], lan.name)) as any[]).map((n) => [n.dst, n.lladdr])).toContainEqual(['192.0.2.3', '02:42:c0:00:02:03']);
      }
    } finally {
      await other.cleanup();
      await lanA.remove();
      await lanB.remove();
    }
  });
  test('a dual-stack macvlan sandbox: the plan as golden text, born with IPv6 on, its address beside the IPv4 one, its route last, nothing changed', async () => {
    const lan = await makeLan(h);
    try {
      const net = `v6-${h.tag}`;
      await h.ok(['network', 'create', '-d', 'macvlan', '--ipv6', '-o', 'parent=ens4', '--subnet', '192.0.2.0/24', '--subnet', '2001:db8:1::/64',
        '--gateway', '192.0.2.1', '--gateway', '2001:db8:1::1', net]);
      const before = await snapshot();
      const lines = normalize(await h.ok(['create', '--dry-run', '--name', h.sb('w6'), '--network', net]), h.tag).split('\n');
      const at = lines.indexOf('# creating macvlan eth0 on ens4 in netns w6-TAG (mode bridge)');
      expect(at).toBeGreaterThan(0);
      expect(lines.slice(at)).toEqual([
        '# creating macvlan eth0 on ens4 in netns w6-TAG (mode bridge)',
        'ip link add link ens4 name eth0 netns w6-TAG address 02:42:c0:00:02:02 up type macvlan mode bridge',
        '# adding 2001:db8:1::2/64 to eth0',
        'ip -n w6-TAG addr add 2001:db8:1::2/64 dev eth0 nodad',
        '# adding 192.0.2.2/24 to eth0',
        'ip -n w6-TAG addr add 192.0.2.2/24 dev eth0',
        '# adding default route via 192.0.2.1',
        'ip -n w6-TAG route add default via 192.0.2.1',
        '# adding default route via 2001:db8:1::1',
        'ip -n w6-TAG route add default via 2001:db8:1::1',
      ]);
      // No bridge, no veth, no firewall element for either family.
      expect(lines.some((l) => /veth|nft/.test(l))).toBe(false);
      expect(await snapshot()).toEqual(before);
    } finally {
      await lan.remove();
    }
  });
});
