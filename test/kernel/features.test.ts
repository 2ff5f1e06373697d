// The rest of the CLI's contract: connect/disconnect on a live sandbox,
// --link, --hostname, resolv.conf and hosts, prune, run --rm and exit codes,
// and living next to Docker's FORWARD policy of drop.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { describeKernel, ipJson, tag } from '../helpers/kernel.js';
import { TestHost } from '../helpers/host.js';
import { WAN, makeWan } from '../helpers/wan.js';

let h: TestHost;
beforeEach(async () => {
  h = await TestHost.make(tag());
});
afterEach(async () => {
  await h.cleanup();
});

describeKernel('CLI features (kernel)', () => {
  test('network connect/disconnect on a live sandbox adds and removes eth1', async () => {
    const [a, b] = [`na-${h.tag}`, `nb-${h.tag}`];
    const s = h.sb('multi');
    const peer = h.sb('peer');
    await h.ok(['network', 'create', a]);
    await h.ok(['network', 'create', b]);
    await h.ok(['run', '-d', '--name', s, '--network', a, '--', 'sleep', '300']);
    await h.ok(['create', '--name', peer, '--network', b]);
    expect((await h.nsnet(['exec', s, 'ping', '-c1', '-W1', '172.19.0.2'])).code).not.toBe(0);

    await h.ok(['network', 'connect', '--alias', 'db', b, s]);
    const links = ((await ipJson(['addr'], s)) as any[]).filter((l) => l.ifname !== 'lo');
    expect(links.map((l) => [l.ifname, l.addr_info.find((x: any) => x.family === 'inet').local])).toEqual([['eth0', '172.18.0.2'], ['eth1', '172.19.0.3']]);
    expect((await h.nsnet(['exec', s, 'ping', '-c1', '-W1', '172.19.0.2'])).code).toBe(0);
    const [i] = JSON.parse(await h.ok(['inspect', s]));
    expect(Object.keys(i.NetworkSettings.Networks).sort()).toEqual([a, b].sort());
    expect(i.NetworkSettings.Networks[b].Aliases).toContain('db');
    // Still one default route, through the first network.
    expect(await ipJson(['route', 'show', 'default'], s)).toEqual([expect.objectContaining({ gateway: '172.18.0.1', dev: 'eth0' })]);

    const again = await h.nsnet(['network', 'connect', b, s]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists in network/);

    await h.ok(['network', 'disconnect', a, s]);
    expect(((await ipJson(['link'], s)) as any[]).map((l) => l.ifname)).toEqual(['lo', 'eth1']);
    // The default route moved to the remaining network.
    expect(await ipJson(['route', 'show', 'default'], s)).toEqual([expect.objectContaining({ gateway: '172.19.0.1', dev: 'eth1' })]);
    const [n] = JSON.parse(await h.ok(['network', 'inspect', a]));
    expect(n.Containers).toEqual({});
  });

  test('--link on the default bridge writes /etc/hosts; --hostname sets the UTS name; resolv.conf follows the mode', async () => {
    const [db, web] = [h.sb('db'), h.sb('web')];
    await h.ok(['create', '--name', db]);
    await h.ok(['create', '--name', web, '--link', `${db}:database`, '--hostname', 'webhost', '--add-host', 'gw.test:10.9.9.9']);
    const hosts = readFileSync(path.join(h.etc, web, 'hosts'), 'utf8');
    expect(hosts).toMatch(/^172\.17\.0\.2\tdatabase [0-9a-f]{12} db-/m);
    expect(hosts).toMatch(/^10\.9\.9\.9\tgw\.test$/m);
    expect(hosts).toMatch(/^172\.17\.0\.3\twebhost$/m);
    const r = await h.nsnet(['exec', web, 'sh', '-c', 'hostname; getent hosts database; cat /etc/hostname']);
    expect(r.stdout.split('\n')).toEqual(['webhost', expect.stringMatching(/^172\.17\.0\.2\s+database/), 'webhost']);

    // The default bridge copies the host's resolv.conf without loopback servers;
    // a user-defined network points at the embedded DNS at 127.0.0.11, with ndots:0.
    const net = `n-${h.tag}`;
    const u = h.sb('user');
    await h.ok(['network', 'create', net]);
    await h.ok(['create', '--name', u, '--network', net]);
    const userConf = readFileSync(path.join(h.etc, u, 'resolv.conf'), 'utf8');
    expect(userConf).toMatch(/^nameserver 127\.0\.0\.11$/m);
    expect(userConf).toMatch(/^options .*ndots:0/m);
    expect(readFileSync(path.join(h.etc, web, 'resolv.conf'), 'utf8')).not.toMatch(/nameserver 127\./);
  });

  test('run --rm removes the sandbox and returns the exit code; prune removes unused networks only', async () => {
    const r = await h.nsnet(['run', '--rm', '--name', h.sb('once'), '--', 'sh', '-c', 'exit 7']);
    expect(r.code).toBe(7);
    expect((await h.ok(['ps', '-aq']))).toBe('');
    expect((await h.run(['ip', 'netns', 'list'])).stdout).not.toContain(`once-${h.tag}`);

    await h.ok(['network', 'create', `used-${h.tag}`]);
    await h.ok(['network', 'create', `unused-${h.tag}`]);
    await h.ok(['create', '--name', h.sb('user'), '--network', `used-${h.tag}`]);
    const refused = await h.nsnet(['network', 'prune'], { input: 'n\n' });
    // Answered "no": as Docker, exit 0 and nothing removed.
    expect(refused.code).toBe(0);
    expect((await h.ok(['network', 'ls', '--format', 'json'])).split('\n').map((l) => JSON.parse(l).Name)).toContain(`unused-${h.tag}`);
    expect(await h.ok(['network', 'prune', '-f'])).toBe(`Deleted Networks:\nunused-${h.tag}`);
    expect((await h.ok(['network', 'ls', '--format', 'json'])).split('\n').map((l) => JSON.parse(l).Name)).toEqual(['bridge', 'host', 'none', `used-${h.tag}`]);
  });

  test("next to Docker: its FORWARD policy of drop doesn't stop nsnet's traffic, and nsnet's rules leave with the network", async () => {
    const wan = await makeWan(h.ns, h.tag);
    try {
      // What Docker's iptables-nft leaves behind, in short.
      const docker = 'table ip filter {\n chain DOCKER-USER { counter return; }\n chain FORWARD { type filter hook forward priority filter; policy drop; counter jump DOCKER-USER; }\n}\n';
      const { execa } = await import('execa');
      await execa('nsenter', [`--net=/run/netns/${h.name}`, '--', 'nft', '-f', '-'], { input: docker });
      const net = `n-${h.tag}`;
      const s = h.sb('behind');
      const created = await h.nsnet(['network', 'create', net]);
      expect(created.stderr).toContain('DOCKER-USER');
      await h.ok(['create', '--name', s, '--network', net]);
      expect((await h.nsnet(['exec', s, 'ping', '-c1', '-W1', WAN.gateway])).code).toBe(0);
      const chain = (await h.run(['nft', 'list', 'chain', 'ip', 'filter', 'DOCKER-USER'])).stdout;
      expect(chain.match(/comment "nsnet"/g)).toHaveLength(2);
      await h.ok(['rm', '-f', s]);
      await h.ok(['network', 'rm', net]);
      expect((await h.run(['nft', 'list', 'chain', 'ip', 'filter', 'DOCKER-USER'])).stdout).not.toContain('nsnet');
    } finally {
      await wan.remove();
    }
  });
});
