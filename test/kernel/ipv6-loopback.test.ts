// Published ports on the host's [::1] (docs/ipv6.md, src/dns/port-relay.ts):
// IPv6 has no route_localnet, so no DNAT serves ::1; the resident `nsnet dns`
// process listens on [::1]:HOSTPORT for a dual-stack sandbox's bindings that
// take ::1 and relays to the sandbox's IPv6 address. TCP (half-close, a refused
// port, the port claimed against the host's other listeners), UDP, the default
// bridge with IPv6 (no embedded DNS: the relay's own sync starts the server), a
// restarted server listening again; a 127.0.0.1 binding gets no ::1 listener,
// and after rm nothing listens.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { TestHost } from '../helpers/host.js';
import { describeKernel, eventually, tag } from '../helpers/kernel.js';
import { WHO } from '../helpers/who.js';

let h: TestHost;
beforeEach(async () => {
  h = await TestHost.make(tag());
});
afterEach(async () => {
  await h.cleanup();
});

const curl = (url: string) => h.run(['curl', '-s', '-g', '-m', '2', url]);
/** The TCP listeners on `port` in the host namespace, as `ss -ltnpH 'sport = :PORT'` lists them. */
async function listeners(port: number): Promise<string[]> {
  return (await h.run(['ss', '-ltnpH', `sport = :${port}`])).stdout.split('\n').filter(Boolean);
}
/** Can a host process bind [::1]:PORT over TCP (no one else listens there)? */
async function canBind(port: number): Promise<boolean> {
  const py = `import socket\ns=socket.socket(socket.AF_INET6)\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\ns.bind(('::1', ${port}))\ns.listen()`;
  return (await h.run(['python3', '-c', py])).exitCode === 0;
}
/**
 * A client on the host that sends an HTTP/1.0 request to [::1]:PORT, then shuts down its
 * sending side (a FIN) before the answer comes, and prints what it gets until the server's end.
 */
const HALF_CLOSE = `const c=require('net').connect({host:'::1',port:Number(process.argv[1]),allowHalfOpen:true},()=>{c.end('GET / HTTP/1.0\\r\\n\\r\\n')});
let b='';c.on('data',(d)=>b+=d);c.on('end',()=>{process.stdout.write(b.split('\\r\\n\\r\\n')[1]||'');process.exit(0)});c.on('error',(e)=>{console.error(e.message);process.exit(1)})`;
/** A UDP client on the host: sends `ping` to [::1]:PORT, prints the answer. */
const UDP_ASK = `const s=require('dgram').createSocket('udp6');s.on('message',(m)=>{process.stdout.write(String(m));process.exit(0)});
s.send('ping',Number(process.argv[1]),'::1');setTimeout(()=>process.exit(2),2000)`;
/** A UDP server in the sandbox: answers each datagram with "echo:<it>:<sender's address>". */
const UDP_ECHO = "const s=require('dgram').createSocket('udp6');s.on('message',(m,r)=>s.send('echo:'+m+':'+r.address,r.port,r.address));s.bind(Number(process.argv[1]),'::')";

describeKernel('published ports on [::1] (kernel)', () => {
  test('TCP: [::1] answers through the resident process for 8080:80, [::]:, [::1]:; not for 127.0.0.1:; half-close; nothing left after rm', async () => {
    const net = `lo6-${h.tag}`;
    const web = h.sb('web6');
    await h.ok(['network', 'create', '--ipv6', '--subnet', '10.64.0.0/24', '--subnet', '2001:db8:64::/64', net]);
    const plan = await h.ok(['run', '--dry-run', '-d', '--name', web, '--network', net, '-p', '8080:80', '--', 'sleep', '1']);
    expect(plan).toContain('# nsnet dns listens on [::1]:8080 (tcp) and relays to [2001:db8:64::2]:80');
    await h.ok(['run', '-d', '--name', web, '--network', net, '-p', '8080:80', '-p', '127.0.0.1:8081:80', '-p', '[::]:8082:80',
      '-p', '[::1]:8083:80', '-p', '8084:81', '--', 'node', '-e', WHO, '80', '::']);
    // The sandbox sees the host's connection from the bridge's gateway address.
    await eventually(async () => (await curl('http://[::1]:8080/')).stdout === '2001:db8:64::1', 5000, '[::1]:8080 answering');
    expect((await curl('http://[::1]:8082/')).stdout).toBe('2001:db8:64::1');
    expect((await curl('http://[::1]:8083/')).stdout).toBe('2001:db8:64::1');
    // 127.0.0.1:8081 is IPv4 only: DNAT over 127.0.0.1, nothing on [::1].
    expect((await curl('http://127.0.0.1:8081/')).stdout).toBe('10.64.0.1');
    expect((await curl('http://[::1]:8081/')).exitCode).toBe(7); // could not connect
    expect(await listeners(8081)).toEqual([]);
    // [::1]:8083 has no DNAT element (none could serve it); the others keep theirs.
    const map6 = (await h.run(['nft', 'list', 'map', 'ip6', 'nsnet', 'ports'])).stdout + (await h.run(['nft', 'list', 'map', 'ip6', 'nsnet', 'ports_addr'])).stdout;
    expect(map6).toContain('tcp . 8082 : 2001:db8:64::2 . 80');
    expect(map6).not.toContain('8083');

    // The listener: [::1] only, in the DNS server's process; the port is claimed against other listeners.
    const l = await listeners(8080);
    expect(l).toHaveLength(1);
    expect(l[0]).toMatch(/\[::1\]:8080 /);
    expect(l[0]).toContain(`pid=${h.dnsPid()},`);
    expect(await canBind(8080)).toBe(false);
    // Half-close: the request's FIN reaches the sandbox, the whole answer still comes back.
    expect((await h.run(['node', '-e', HALF_CLOSE, '8080'])).stdout).toBe('2001:db8:64::1');
    // Nothing listens on the sandbox's port 81: the client is reset, not left hanging.
    const refused = await curl('http://[::1]:8084/');
    expect(refused.exitCode).not.toBe(0);
    expect(refused.exitCode).not.toBe(28); // not a timeout

    await h.ok(['rm', '-f', web]);
    for (const port of [8080, 8082, 8083, 8084]) expect(await listeners(port)).toEqual([]);
    expect(await canBind(8080)).toBe(true);
    expect((await curl('http://[::1]:8080/')).exitCode).toBe(7);
  }, 60_000);

  test('UDP through [::1]; a restarted server listens again; an IPv4-only network\'s port gets no [::1] listener', async () => {
    const net = `lu6-${h.tag}`;
    const v4 = `lv4-${h.tag}`;
    const [echo, web4] = [h.sb('echo6'), h.sb('web4')];
    await h.ok(['network', 'create', '--ipv6', '--subnet', '10.65.0.0/24', '--subnet', '2001:db8:65::/64', net]);
    await h.ok(['network', 'create', '--subnet', '10.66.0.0/24', v4]);
    await h.ok(['run', '-d', '--name', echo, '--network', net, '-p', '5353:53/udp', '-p', '8085:80', '--', 'sh', '-c',
      `node -e "${UDP_ECHO}" 53 & exec node -e "${WHO}" 80 ::`]);
    await h.ok(['run', '-d', '--name', web4, '--network', v4, '-p', '8086:80', '--', 'node', '-e', WHO, '80', '0.0.0.0']);
    const ask = () => h.run(['node', '-e', UDP_ASK, '5353']);
    await eventually(async () => (await ask()).stdout === 'echo:ping:2001:db8:65::1', 5000, 'the UDP answer through [::1]:5353');
    expect((await h.run(['ss', '-lunpH', 'sport = :5353'])).stdout).toMatch(/\[::1\]:5353 /);
    expect((await curl('http://127.0.0.1:8086/')).stdout).toBe('10.66.0.1');
    expect(await listeners(8086)).toEqual([]);

    // Killed, the server comes back (its supervisor) and opens the listeners again from the records.
    const before = h.dnsPid();
    await execa('kill', ['-9', String(before)]);
    await eventually(async () => h.dnsPid() !== before && (await curl('http://[::1]:8085/')).stdout === '2001:db8:65::1', 15_000, 'the relay back');
    await eventually(async () => (await ask()).stdout === 'echo:ping:2001:db8:65::1', 5000, 'UDP again');

    await h.ok(['rm', '-f', echo]);
    expect((await h.run(['ss', '-lunpH', 'sport = :5353'])).stdout).toBe('');
    expect(await listeners(8085)).toEqual([]);
  }, 60_000);

  test('the default bridge with IPv6 (daemon.json): no embedded DNS, yet [::1] answers (the relay\'s own sync starts the server)', async () => {
    writeFileSync(path.join(h.root, 'daemon.json'), JSON.stringify({ ipv6: true, 'fixed-cidr-v6': '2001:db8:66::/64' }));
    const web = h.sb('dweb6');
    await h.ok(['run', '-d', '--name', web, '-p', '9090:80', '--', 'node', '-e', WHO, '80', '::']);
    await eventually(async () => (await curl('http://[::1]:9090/')).stdout === '2001:db8:66::1', 5000, '[::1]:9090 answering');
    expect((await listeners(9090))[0]).toContain(`pid=${h.dnsPid()},`);
    await h.ok(['rm', '-f', web]);
    expect(await listeners(9090)).toEqual([]);
  }, 60_000);
});
