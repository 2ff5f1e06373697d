// The quick-start demo: two sandboxes on a bridge, pinging each other.
// Runs inside scripts/sandbox.sh, so the machine's own network is never touched:
// the sandbox's namespace plays the host.
//
//   sudo npm start
import { execa } from 'execa';
import {
  addrAdd, bridgeAdd, linkDel, linkGet, linkSet, netnsAdd, netnsDel, netnsSelf, routeAdd, vethAdd, type Netns,
} from '../src/index.js';

if (process.env.NSNET_IN_SANDBOX !== '1') {
  console.error('demo: run me through `npm start` (or scripts/sandbox.sh): I change the network of the namespace I run in');
  process.exit(2);
}

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const dim = (s: string) => (color ? `\x1b[2m${s}\x1b[0m` : s);
const bold = (s: string) => (color ? `\x1b[1m${s}\x1b[0m` : s);
const step = (what: string, ...equivalent: string[]) => {
  console.log(`\n${bold(what)}`);
  for (const e of equivalent) console.log(dim(`  $ ${e}`));
};
const show = async (cmd: string[]) => {
  console.log(dim(`  $ ${cmd.join(' ')}`));
  const r = await execa(cmd[0]!, cmd.slice(1), { reject: false });
  console.log((r.stdout || r.stderr).replace(/^/gm, '    '));
  return r.exitCode === 0;
};

const host = await netnsSelf();
const made: Netns[] = [];
let ok = true;
try {
  step('1. a bridge on the "host", with the gateway address',
    'ip link add nsnet0 up type bridge', 'ip addr add 172.17.0.1/16 dev nsnet0');
  const br = await bridgeAdd(host, { name: 'nsnet0', up: true });
  await addrAdd(host, br, '172.17.0.1/16');

  const sandboxes = [
    { name: 'web', ip: '172.17.0.2', mac: '02:42:ac:11:00:02', veth: 'veth0a1b2c3' },
    { name: 'db', ip: '172.17.0.3', mac: '02:42:ac:11:00:03', veth: 'veth4d5e6f7' },
  ];
  for (const s of sandboxes) {
    step(`2. sandbox ${s.name}: a namespace, a veth whose peer is born inside it, an address and a default route`,
      `ip netns add ${s.name}`,
      `ip link add ${s.veth} master nsnet0 up type veth peer name eth0 netns ${s.name} address ${s.mac}`,
      `ip -n ${s.name} link set lo up`,
      `ip -n ${s.name} addr add ${s.ip}/16 dev eth0`,
      `ip -n ${s.name} link set eth0 up`,
      `ip -n ${s.name} route add default via 172.17.0.1`);
    const ns = await netnsAdd(s.name);
    made.push(ns);
    const v = await vethAdd(host, { name: s.veth, master: br, up: true, peer: { name: 'eth0', netns: ns, address: s.mac }, for: `sandbox ${s.name}` });
    const eth0 = { index: v.peerIndex, name: 'eth0' };
    await linkSet(ns, await linkGet(ns, 'lo'), { up: true });
    await addrAdd(ns, eth0, `${s.ip}/16`);
    await linkSet(ns, eth0, { up: true });
    await routeAdd(ns, { dst: 'default', via: '172.17.0.1' });
  }

  step('3. what the kernel now holds');
  await show(['ip', '-br', 'link', 'show', 'master', 'nsnet0']);
  await show(['ip', '-n', 'web', '-br', 'addr']);
  await show(['ip', '-n', 'web', 'route']);

  step('4. web pings db, db pings web');
  ok = (await show(['ip', 'netns', 'exec', 'web', 'ping', '-c', '2', '-W', '1', '172.17.0.3'])) && ok;
  ok = (await show(['ip', 'netns', 'exec', 'db', 'ping', '-c', '2', '-W', '1', '172.17.0.2'])) && ok;
} finally {
  step('5. teardown: deleting the namespaces takes the veths with them', 'ip netns del web', 'ip netns del db', 'ip link del nsnet0');
  for (const ns of made.reverse()) await netnsDel(ns).catch((e: Error) => { console.error(e.message); ok = false; });
  const br = await linkGet(host, 'nsnet0').catch(() => undefined);
  if (br) await linkDel(host, br);
  await host.close();
}
console.log(ok ? '\nOK: the two sandboxes reached each other.' : '\nFAILED: see above.');
process.exit(ok ? 0 : 1);
