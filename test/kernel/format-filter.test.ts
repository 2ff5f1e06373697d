// Docker's scripting surface on real sandboxes and networks: --format Go
// templates and --filter on ps, inspect, network ls and network inspect, the
// way scripts written for Docker call them (the shapes of Docker's reference
// examples), and network ls sorted by name.
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

describeKernel('--format and --filter (kernel)', () => {
  test('ps, inspect, network ls and network inspect answer the templates and filters scripts use', async () => {
    const [fa, fb] = [`fa-${h.tag}`, `fb10-${h.tag}`];
    const [web, db, done] = [h.sb('web'), h.sb('db'), h.sb('done')];
    await h.ok(['network', 'create', '--label', 'usage=prod', fb]);
    await h.ok(['network', 'create', fa]);
    await h.ok(['run', '-d', '--name', web, '--network', fa, '--label', 'color=blue', '-p', '8080:80', '--', 'sleep', '300']);
    await h.ok(['create', '--name', db, '--network', fa]);
    expect((await h.nsnet(['run', '--name', done, '--', 'sh', '-c', 'exit 3'])).code).toBe(3);

    // ps: running only by default; Docker's status words.
    expect(await h.ok(['ps', '--format', '{{.Names}}\\t{{.Status}}'])).toMatch(new RegExp(`^${web}\tUp (Less than a second|1 second|\\d+ seconds)$`));
    expect(await h.ok(['ps', '-a', '--filter', 'status=exited', '--format', '{{.Names}} {{.Status}}'])).toMatch(
      new RegExp(`^${done} Exited \\(3\\) (Less than a second|1 second|\\d+ seconds) ago$`),
    );
    // status= implies -a; same key OR'ed; different keys AND'ed.
    expect((await h.ok(['ps', '--filter', 'status=created', '--filter', 'status=running', '--format', '{{.Names}}'])).split('\n').sort()).toEqual([db, web].sort());
    expect(await h.ok(['ps', '-a', '--filter', `network=${fa}`, '--filter', 'label=color=blue', '--format', '{{.Names}}'])).toBe(web);
    expect(await h.ok(['ps', '-a', '--filter', 'exited=3', '--format', '{{.Names}}'])).toBe(done);
    expect(await h.ok(['ps', '-a', '--filter', `name=^${db}$`, '--format', '{{.Networks}} {{.State}} {{.Label "color"}}.'])).toBe(`${fa} created .`);
    const table = (await h.ok(['ps', '--format', 'table {{.Names}}\\t{{.Ports}}\\t{{.Label "color"}}'])).split('\n');
    expect(table[0]).toMatch(/^NAMES +PORTS$/);
    expect(table[1]).toMatch(new RegExp(`^${web} +0\\.0\\.0\\.0:8080->80/tcp +blue$`));
    const [row] = (await h.ok(['ps', '--format', 'json'])).split('\n').map((l) => JSON.parse(l));
    expect(row).toMatchObject({ Names: web, State: 'running', Labels: 'color=blue', Command: '"sleep 300"', Networks: fa });
    expect(row.ID).toMatch(/^[0-9a-f]{12}$/);

    // inspect -f: one line per object; Docker's index/json idioms.
    const ip = await h.ok(['inspect', '-f', `{{(index .NetworkSettings.Networks "${fa}").IPAddress}}`, web]);
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(await h.ok(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', web])).toBe(ip);
    expect(await h.ok(['inspect', '-f', '{{.Name}} {{.State.Status}} {{json .Config.Labels}}', web, done])).toBe(
      `/${web} running {"color":"blue"}\n/${done} exited {}`,
    );
    expect(await h.ok(['inspect', '-f', '{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostPort}}', web])).toBe('8080');

    // network ls: sorted by name (fa before fb10), filters as Docker's.
    expect((await h.ok(['network', 'ls', '--format', '{{.Name}}'])).split('\n')).toEqual(['bridge', fa, fb, 'host', 'none']);
    expect(await h.ok(['network', 'ls', '--filter', 'type=custom', '--format', '{{.Name}} {{.Driver}} {{.Scope}} {{.Internal}}'])).toBe(
      `${fa} bridge local false\n${fb} bridge local false`,
    );
    expect(await h.ok(['network', 'ls', '--filter', 'dangling=true', '--format', '{{.Name}}'])).toBe(fb);
    const fbId = await h.ok(['network', 'ls', '--filter', 'label=usage=prod', '-q', '--no-trunc']);
    expect(fbId).toMatch(/^[0-9a-f]{64}$/);
    expect(await h.ok(['network', 'inspect', '-f', '{{.ID}} {{.Id}}', fb])).toBe(`${fbId} ${fbId}`);
    expect(await h.ok(['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Subnet}}{{end}}', fa])).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
    expect((await h.ok(['network', 'ls', '--format', 'table {{.Name}}\t{{.Driver}}', '--filter', 'driver=null'])).split('\n')).toEqual([
      'NAME      DRIVER',
      'none      null',
    ]);

    // Wrong templates and filters: errors naming what is wrong, before any output.
    const bad = await h.nsnet(['ps', '--format', '{{.Nope}}']);
    expect(bad.code).toBe(1); // Docker: the template fails when run, a plain error
    expect(bad.stderr).toContain("can't evaluate field Nope");
    const badFilter = await h.nsnet(['network', 'ls', '--filter', 'colour=blue']);
    expect(badFilter.code).toBe(1); // Docker: the daemon refuses the filter's name
    expect(badFilter.stderr).toContain("invalid filter 'colour'");
    expect(badFilter.stdout).toBe('');
  });
});
