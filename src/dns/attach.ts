// Attaching the DNS server to a sandbox, as a plan (docker/plan.ts): the
// server's two sockets at 127.0.0.11 inside the sandbox's namespace, and the
// DNAT/SNAT rules that lead the sandbox's port 53 to them (redirect.ts).
//
//   ip netns exec web ss -lntup                      the two sockets: no process in the sandbox
//   ip netns exec web nft list table ip nsnet_dns    the rules
//
// Step 1 binds both sockets and applies the rules in one trip into the
// namespace (the rules name the sockets' ports, which the kernel picks as it
// binds: `$port0`, `$port1` in the nft text). Step 2 serves on them: TCP
// through a net.Server; the UDP socket is handed over in `udpFd`, and the
// server adds it to its batched set (datagrams.ts), which closes it when
// `closed` is called. Detaching
// is removeSteps of that plan; a sandbox being removed takes its rules with its
// namespace, so only step 2 is undone for it (detachSteps); so does a stopping server.
import { closeSync } from 'node:fs';
import net from 'node:net';
import { netnsOpenNameSync, netnsOpenPathSync, type Netns } from '../kernel/netns.js';
import { nftApply } from '../kernel/nftables.js';
import { socketsBind } from '../kernel/socket.js';
import type { Action, Step } from '../docker/plan.js';
import type { SandboxRecord } from '../docker/types.js';
import { DNS_ADDRESS, DNS_REDIRECT_DELETE, dnsRedirect } from './redirect.js';

/** The server's hold on one sandbox. */
export interface Attachment {
  sandbox: SandboxRecord;
  netns: string;
  /** The namespace's identity: a later sandbox may reuse the name. */
  nsDev: number;
  nsIno: number;
  /** Made by the plan's second step: the UDP socket (served in batches: datagrams.ts), the TCP server. */
  udpFd?: number;
  tcp?: net.Server;
  tcpConns: Set<net.Socket>;
  /** Forwarded queries in flight (forward.ts Asker). */
  inflight: number;
  upstreams: string[];
  /** The plan that made it: detaching removes it. */
  steps: Step[];
  /** Not a sandbox: the host, asking on a host_dns network's gateway (host-listen.ts); `network` lower-cased. */
  host?: { network: string };
}

/** What the server does with an attached sandbox's traffic (queries.ts), and when it lets go of it. */
export interface Serving {
  /** A query from `att`'s sandbox; `reply` sends the answer back where it came from. */
  query(att: Attachment, msg: Buffer, reply: (out: Buffer) => void, tcp: boolean): void;
  /** A TCP connection from `att`'s sandbox. */
  connection(att: Attachment, c: net.Socket): void;
  /** Its TCP sockets are closed: close its UDP socket (udpFd), forget its queries in flight. */
  closed(att: Attachment): void;
  log(line: string): void;
}

/** `nft -f -` of `text` inside `netns` (a name, or a runtime's path), as a shell command. */
const nftIn = (netns: string, text: string) =>
  `${netns.startsWith('/') ? `nsenter --net=${netns}` : `ip netns exec ${netns}`} nft -f - <<'EOF'\n${text}EOF`;

/**
 * The sandbox's namespace: its own (/run/netns/NAME) or a runtime's (CNI,
 * by path), checked to be the one the sandbox was made on: a /proc/PID path
 * may name another process's namespace later (then ENOENT: gone).
 */
function openSandboxNs(sb: SandboxRecord): Netns {
  if (!sb.netnsPath) return netnsOpenNameSync(sb.netns!);
  const ns = netnsOpenPathSync(sb.netnsPath);
  if (sb.netnsInode !== undefined && ns.ino !== sb.netnsInode) {
    void ns.close();
    throw Object.assign(new Error(`${sb.netnsPath} is no longer the namespace of sandbox ${sb.name}`), { code: 'ENOENT' });
  }
  return ns;
}

/**
 * The plan that attaches the server to `sb` (which has a namespace), and the
 * Attachment it fills in as it runs: run it with runSteps, then the
 * attachment serves.
 */
export function attachSteps(sb: SandboxRecord, upstreams: string[], serving: Serving): Attachment {
  const netns = sb.netns ?? sb.netnsPath!;
  const rules = dnsRedirect('$port0', '$port1');
  /** Bound by step 1 and not yet adopted by step 2's sockets: step 1's undo closes them. */
  const loose = { fds: [] as number[] }; // bound, not yet served: the binding step's undo closes them
  let ports = { udp: 0, tcp: 0 };
  const att: Attachment = {
    sandbox: sb, netns, nsDev: 0, nsIno: 0, upstreams, inflight: 0, tcpConns: new Set(), steps: [],
  };
  att.steps = [
    {
      title: `binding ${DNS_ADDRESS} udp and tcp in sandbox ${sb.name}, redirecting its port 53 to them`,
      equivalent: [`# $port0, $port1: the ports the kernel gave the two sockets, bound in the same trip (socketsBind)\n${nftIn(netns, rules)}`],
      do: async () => {
        const ns = openSandboxNs(sb);
        try {
          const [u, t] = await socketsBind(ns, [{ type: 'udp', address: DNS_ADDRESS, port: 0 }, { type: 'tcp', address: DNS_ADDRESS, port: 0 }],
            { nft: rules, for: `sandbox ${sb.name}` });
          loose.fds = [u!.fd, t!.fd];
          ports = { udp: u!.port, tcp: t!.port };
          att.nsDev = ns.dev;
          att.nsIno = ns.ino;
        } finally {
          await ns.close();
        }
      },
      undo: {
        title: `deleting table ip nsnet_dns in sandbox ${sb.name}`,
        equivalent: [nftIn(netns, DNS_REDIRECT_DELETE)],
        do: async () => {
          for (const fd of loose.fds) closeSync(fd);
          loose.fds = [];
          // The sandbox may be gone already (nsnet rm): then so are its rules (not found is success).
          const ns = openSandboxNs(sb);
          try {
            // Only in the namespace it attached to, never in a newer one under the same name.
            if (ns.dev === att.nsDev && ns.ino === att.nsIno) await nftApply(ns, DNS_REDIRECT_DELETE, { for: `sandbox ${sb.name}` });
          } finally {
            await ns.close();
          }
        },
      },
    },
    {
      title: `serving sandbox ${sb.name}'s queries on them`,
      equivalent: [],
      do: async () => {
        await serveBound(att, serving, loose);
        serving.log(`attached ${sb.name}: udp ${ports.udp}, tcp ${ports.tcp}`);
      },
      undo: closeSockets(att, serving, `closing sandbox ${sb.name}'s DNS sockets`),
    },
  ];
  return att;
}

/**
 * Serves a bound UDP+TCP pair (`loose.fds`): the UDP socket is the server's
 * (datagrams.ts, closed by serving.closed()), the TCP one a net.Server's.
 * What is not yet owned when this fails stays in `loose.fds` for the
 * binding step's undo; what it adopted it closes itself (a step that
 * failed is not undone by runSteps).
 */
export async function serveBound(att: Attachment, serving: Serving, loose: { fds: number[] }): Promise<void> {
  const [udpFd, tcpFd] = loose.fds as [number, number];
  const tcp = (att.tcp = net.createServer({ pauseOnConnect: false }, (c) => serving.connection(att, c)));
  tcp.on('error', (e) => serving.log(`${att.sandbox.name} tcp: ${e.message}`));
  att.udpFd = udpFd;
  loose.fds = [tcpFd];
  try {
    await new Promise<void>((resolve) => tcp.listen({ fd: tcpFd }, resolve));
    loose.fds = [];
  } catch (e) {
    tcp.close();
    serving.closed(att);
    throw e;
  }
}

/** Closing an attachment's sockets: its TCP listener and connections, and (through `serving`) its UDP socket. */
export function closeSockets(att: Attachment, serving: Serving, title: string): Action {
  return {
    title,
    equivalent: [],
    do: async () => {
      att.tcp?.close();
      for (const c of att.tcpConns) c.destroy();
      serving.closed(att);
    },
  };
}

/**
 * The part of `att`'s plan that detaching removes: all of it, or with
 * `keepRules` only the sockets. Rules are kept for a sandbox being removed
 * (they go with its namespace) and when the server stops (a restarted server
 * rewrites them): deleting a table costs an RCU grace period (~15 ms).
 */
export function detachSteps(att: Attachment, keepRules: boolean): Step[] {
  return keepRules ? att.steps.slice(1) : att.steps;
}
