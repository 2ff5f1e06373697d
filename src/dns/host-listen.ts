// Names for the host (com.nsnet.network.host_dns=true, docs/dns.md): the
// server also listens on such a network's gateway, port 53, UDP and TCP, in
// the host's own namespace, and answers there the names that network's
// sandboxes see (names.ts, the view `host:<network id>`): `web` and
// `web.mynet`. Only the host may ask: nsnet's firewall drops port 53 to
// these gateways from anything but lo (nft/table.ts, set host_dns), so the
// network's own sandboxes, other networks' and the LAN get no answer.
//
//   ss -lunt 'sport = :53'                 the two sockets (the nsnet dns process)
//   nft list set ip nsnet host_dns         the gateways only the host may query
//   dig @172.18.0.1 web.mynet              what the host gets
//
// The listener is an Attachment like a sandbox's (attach.ts), so the UDP
// socket joins the same batched set (datagrams.ts) and TCP is served the same
// way; its `host` field says it answers the host: a name it doesn't know is
// not forwarded upstream (queries.ts), as this is no recursive resolver.
import { closeSync } from 'node:fs';
import type { Netns } from '../kernel/netns.js';
import { socketsBind } from '../kernel/socket.js';
import type { NetworkRecord, SandboxRecord } from '../docker/types.js';
import { closeSockets, serveBound, type Attachment, type Serving } from './attach.js';
import { hostViewId } from './names.js';

/** Where a network's host listener is: it moves (is made anew) when the gateway changes. */
export const hostListenKey = (n: NetworkRecord) => `${n.id}@${n.gateway}`;

/**
 * The plan that makes the host's listener on `n`'s gateway (a bridge network
 * with host_dns: names.ts hostDnsNetwork), and the Attachment it fills in.
 * Its `sandbox` is a stand-in that carries the view's id and a name for logs.
 */
export function hostListenSteps(host: Netns, n: NetworkRecord, serving: Serving): Attachment {
  const gw = n.gateway!;
  const who = `the host on network ${n.name}`;
  const loose = { fds: [] as number[] };
  const att: Attachment = {
    sandbox: { id: hostViewId(n.id), name: `host@${n.name}` } as SandboxRecord,
    host: { network: n.name.toLowerCase() },
    netns: host.name ?? 'host', nsDev: host.dev, nsIno: host.ino, upstreams: [], inflight: 0, tcpConns: new Set(), steps: [],
  };
  att.steps = [
    {
      title: `binding ${gw}:53 udp and tcp on the host, for ${who}`,
      equivalent: [`# the nsnet dns process listens on ${gw}:53 (udp and tcp); nft set ip nsnet host_dns keeps it to the host`],
      do: async () => {
        const [u, t] = await socketsBind(host, [{ type: 'udp', address: gw, port: 53 }, { type: 'tcp', address: gw, port: 53 }],
          { for: who });
        loose.fds = [u!.fd, t!.fd];
      },
      undo: {
        title: `closing ${gw}:53 sockets not yet served`,
        equivalent: [],
        do: async () => {
          for (const fd of loose.fds) closeSync(fd);
          loose.fds = [];
        },
      },
    },
    {
      title: `serving ${who}'s queries on ${gw}:53`,
      equivalent: [],
      do: async () => {
        await serveBound(att, serving, loose);
        serving.log(`listening for ${who} on ${gw}:53`);
      },
      undo: closeSockets(att, serving, `closing ${gw}:53`),
    },
  ];
  return att;
}
