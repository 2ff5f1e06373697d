// Docker 20.10's output shapes from the real CLI on real sandboxes: the
// `ps` and `network ls` header lines and columns, the keys and types of
// `inspect` and `network inspect` that scripts read, `port`'s lines, with the
// scenario of the docker ps reference's "publish and expose" example
// (test/unit/docker-shapes.test.ts compares each with Docker's documented
// output in detail; this file checks the CLI prints what those functions make).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { describeKernel, tag } from '../helpers/kernel.js';
import { TestHost } from '../helpers/host.js';

let h: TestHost;
beforeEach(async () => {
  h = await TestHost.make(tag());
});
afterEach(async () => {
  await h.cleanup();
});

const columns = (line: string) => line.trim().split(/ {2,}/);
const kinds = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v]));

describeKernel('Docker shapes (kernel)', () => {
  test('ps, inspect, network ls, network inspect and port print what Docker 20.10 scripts read', async () => {
    const [web, db, net] = [h.sb('web'), h.sb('db'), `shapes-${h.tag}`];
    await h.ok(['network', 'create', net]);
    const id = await h.ok(['run', '-d', '--name', web, '-p', '8080:80', '--expose', '443', '--', 'sh', '-c', 'echo hello; exec sleep 300']);
    await h.ok(['create', '--name', db, '--network', net]);

    // ps: Docker's header, NETWORK in IMAGE's place; PORTS as DisplayablePorts (exposed group, then the mapping).
    const ps = (await h.ok(['ps', '-a'])).split('\n');
    expect(columns(ps[0]!)).toEqual(['CONTAINER ID', 'NETWORK', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES']);
    expect(ps[0]).toMatch(/^CONTAINER ID   NETWORK +COMMAND +CREATED +STATUS +PORTS +NAMES$/);
    const row = ps.map(columns).find((c) => c.at(-1) === web)!;
    expect(row).toEqual([id.slice(0, 12), 'bridge', '"sh -c echo hello; e…"', expect.stringMatching(/ ago$/), expect.stringMatching(/^Up /), '443/tcp, 0.0.0.0:8080->80/tcp', web]);
    expect(ps.map(columns).find((c) => c.at(-1) === db)).toEqual([expect.stringMatching(/^[0-9a-f]{12}$/), net, expect.stringMatching(/ ago$/), 'Created', db]);
    expect((await h.ok(['ps', '--format', 'table {{.ID}}\\t{{.Image}}\\t{{.Names}}'])).split('\n')[0]).toMatch(/^CONTAINER ID   IMAGE +NAMES$/);

    // inspect: the keys and types Docker's JSON has (those a sandbox has), the log file, both kinds of port.
    const [sb] = JSON.parse(await h.ok(['inspect', web]));
    expect(Object.keys(sb)).toEqual([
      'Id', 'Created', 'Path', 'Args', 'State', 'Image', 'ResolvConfPath', 'HostnamePath', 'HostsPath', 'LogPath', 'Name', 'RestartCount', 'Driver',
      'Platform', 'MountLabel', 'ProcessLabel', 'AppArmorProfile', 'ExecIDs', 'HostConfig', 'Mounts', 'Config', 'NetworkSettings',
    ]);
    expect(kinds(sb.State)).toEqual({
      Status: 'string', Running: 'boolean', Paused: 'boolean', Restarting: 'boolean', OOMKilled: 'boolean', Dead: 'boolean', Pid: 'number',
      ExitCode: 'number', Error: 'string', StartedAt: 'string', FinishedAt: 'string',
    });
    expect(kinds(sb.NetworkSettings)).toEqual({
      Bridge: 'string', SandboxID: 'string', HairpinMode: 'boolean', LinkLocalIPv6Address: 'string', LinkLocalIPv6PrefixLen: 'number', Ports: 'object',
      SandboxKey: 'string', SecondaryIPAddresses: 'null', SecondaryIPv6Addresses: 'null', EndpointID: 'string', Gateway: 'string',
      GlobalIPv6Address: 'string', GlobalIPv6PrefixLen: 'number', IPAddress: 'string', IPPrefixLen: 'number', IPv6Gateway: 'string',
      MacAddress: 'string', Networks: 'object',
    });
    expect(sb.NetworkSettings.Ports).toEqual({ '443/tcp': null, '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] });
    expect(sb.Config.ExposedPorts).toEqual({ '443/tcp': {}, '80/tcp': {} });
    expect(sb).toMatchObject({ Name: `/${web}`, RestartCount: 0, Platform: 'linux', State: { Status: 'running', Running: true } });
    expect(sb.LogPath).toBe(path.join(h.root, 'run', 'logs', `${id}.log`));
    expect(existsSync(sb.LogPath) && readFileSync(sb.LogPath, 'utf8')).toContain('hello');
    const ip = sb.NetworkSettings.Networks.bridge.IPAddress;
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    // docker inspect reference examples.
    expect(await h.ok(['inspect', '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', web])).toBe(ip);
    expect(await h.ok(['inspect', '--format', '{{.NetworkSettings.IPAddress}}', web])).toBe(ip);
    expect(await h.ok(['inspect', '--format', '{{.LogPath}}', web])).toBe(sb.LogPath);
    expect(await h.ok(['inspect', '--format', '{{range $p, $conf := .NetworkSettings.Ports}}{{if $conf}} {{$p}} -> {{(index $conf 0).HostPort}} {{end}}{{end}}', web])).toBe('80/tcp -> 8080');
    expect(JSON.parse(await h.ok(['inspect', '--format', '{{json .Config}}', web]))).toMatchObject({ Cmd: ['sh', '-c', 'echo hello; exec sleep 300'], Image: '' });

    // network ls: Docker's header and columns.
    const ls = (await h.ok(['network', 'ls'])).split('\n');
    expect(ls[0]).toMatch(/^NETWORK ID     NAME +DRIVER    SCOPE$/);
    expect(ls.slice(1).map((l) => columns(l).slice(1))).toEqual([['bridge', 'bridge', 'local'], ['host', 'host', 'local'], ['none', 'null', 'local'], [net, 'bridge', 'local']]);
    expect(await h.ok(['network', 'ls', '--filter', 'dangling=true', '--format', '{{.Name}}'])).toBe('');

    // network inspect: Docker's keys, the member with its address as ip/len.
    const [n] = JSON.parse(await h.ok(['network', 'inspect', net]));
    expect(Object.keys(n)).toEqual(['Name', 'Id', 'Created', 'Scope', 'Driver', 'EnableIPv6', 'IPAM', 'Internal', 'Attachable', 'Ingress', 'ConfigFrom', 'ConfigOnly', 'Containers', 'Options', 'Labels']);
    expect(Object.values(n.Containers)).toEqual([{ Name: db, EndpointID: expect.stringMatching(/^[0-9a-f]{64}$/), MacAddress: expect.any(String), IPv4Address: expect.stringMatching(/^\d+\.\d+\.\d+\.\d+\/\d+$/), IPv6Address: '' }]);
    expect(n.IPAM).toMatchObject({ Driver: 'default', Config: [{ Subnet: expect.any(String), Gateway: expect.any(String) }] });

    // port: docker port's lines; an exposed port that is not published is an error, as on Docker.
    expect(await h.ok(['port', web])).toBe('80/tcp -> 0.0.0.0:8080');
    expect(await h.ok(['port', web, '80'])).toBe('0.0.0.0:8080');
    const unpublished = await h.nsnet(['port', web, '443']);
    expect(unpublished.code).toBe(1);
    expect(unpublished.stderr).toContain(`No public port '443/tcp' published for ${web}`);
  }, 120_000); // some twenty CLI calls, each a fresh Node
});
