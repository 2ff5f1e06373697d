// A fake physical LAN for macvlan tests: the test host's "ens4" is one end of
// a veth whose other end (eth0) sits in a namespace of its own, the LAN,
// which has the router's addresses (192.0.2.1/24 and 2001:db8:1::1/64,
// documentation ranges; the IPv6 one nodad, usable at once).
//
//   test host (h-TAG)                 lan-TAG
//   ens4 (parent of the macvlans) ==== eth0 192.0.2.1/24, 2001:db8:1::1/64 (the "router")
import { execa } from 'execa';
import type { TestHost } from './host.js';

export const LAN = { subnet: '192.0.2.0/24', router: '192.0.2.1', prefixlen: 24, subnet6: '2001:db8:1::/64', router6: '2001:db8:1::1' } as const;

export interface Lan {
  /** The LAN's namespace (ip -n NAME neigh: who talked to the router). */
  name: string;
  /** The parent's name in the test host. */
  parent: string;
  /** Runs a command in the LAN's namespace. */
  run(cmd: string[]): ReturnType<typeof execa>;
  remove(): Promise<void>;
}

const ip = (args: string[]) => execa('ip', args);

export async function makeLan(h: TestHost, parent = 'ens4'): Promise<Lan> {
  const name = `lan-${h.tag}-${parent}`.slice(0, 40);
  await ip(['netns', 'add', name]);
  await ip(['-n', h.name, 'link', 'add', parent, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name]);
  await ip(['-n', h.name, 'link', 'set', parent, 'up']);
  await ip(['-n', name, 'link', 'set', 'lo', 'up']);
  await ip(['-n', name, 'addr', 'add', `${LAN.router}/${LAN.prefixlen}`, 'dev', 'eth0']);
  await ip(['-n', name, 'addr', 'add', `${LAN.router6}/64`, 'dev', 'eth0', 'nodad']);
  await ip(['-n', name, 'link', 'set', 'eth0', 'up']);
  return {
    name,
    parent,
    run: (cmd) => execa('ip', ['netns', 'exec', name, ...cmd], { reject: false, timeout: 10_000 }),
    async remove() {
      await ip(['netns', 'del', name]).catch(() => {});
    },
  };
}
