// Published ports on the host's [::1]: the one address no DNAT serves. Over
// IPv4, 127.0.0.1:8080 reaches a sandbox through DNAT because nsnet sets
// route_localnet on the bridges; IPv6 has no route_localnet, and a packet from
// ::1 DNATed into a bridge never gets its answer back (docs/ipv6.md). Docker
// answers there with docker-proxy, a process per port. nsnet's resident process
// (`nsnet dns`, which also serves the CNI socket and watches the firewall)
// does it instead: for each binding of a dual-stack sandbox that takes ::1
// (docker/ports.ts loopbackRelays) it listens on [::1]:HOSTPORT and relays
// what comes in to [sandbox IPv6]:CONTAINERPORT. No process per port, and only
// ::1: every other address is served by the ip6 DNAT.
//
//   ss -ltnp 'sport = :8080'      LISTEN [::1]:8080, the DNS server's pid (/run/nsnet/dns.pid)
//   ss -tnp 'dport = :80'         the relayed connections, from the bridge's gateway address
//
// - It follows the sandbox records: the server calls follow() with the
//   records each sync read (reconcile.ts), so a listener opens when a port is
//   published (the sandbox's create syncs) and closes when the sandbox goes
//   (its removal releases it), with no work for the other sandboxes.
//   Restarted, the server opens every listener again from the records.
// - Listening claims the port against the host's other listeners, as
//   docker-proxy's bind does: a process binding [::1]:8080 or [::]:8080 gets
//   EADDRINUSE.
// - TCP: one connection to the sandbox per connection accepted, piped both
//   ways, each direction ended on its own (half-close: a client that shuts
//   down its sending side still gets the whole answer); a reset on either side
//   resets the other; a sandbox that refuses resets the client.
// - UDP: a flow per client address and port, a socket of its own to the
//   sandbox (the sandbox's answers go back to that client only, from the
//   sandbox's address and port only), closed after UDP_FLOW_IDLE_MS without
//   a datagram either way; at most MAX_UDP_FLOWS per port (the least recently
//   used one makes room).
// - What the sandbox sees: a connection from the host, whose source address
//   the kernel picks for the route to the sandbox: the bridge's IPv6 gateway
//   address (docker-proxy's connections look the same). The client's own
//   address and port are not passed on.
//
// The listeners and the connections to sandboxes live in this process's own
// namespace, which is the host's for the `nsnet dns` process (openContext:
// the process's own namespace is the host) and for a server in a library's
// process (in-process.ts), as the forwarder's upstream sockets do.
import dgram from 'node:dgram';
import net from 'node:net';
import { loopbackRelays, type LoopbackRelay } from '../docker/ports.js';
import type { SandboxRecord } from '../docker/types.js';

/** A UDP flow without a datagram either way for this long is forgotten (docker-proxy's UDPConnTrackTimeout). */
export const UDP_FLOW_IDLE_MS = 90_000;
/** UDP flows per port at most; the least recently used one makes room for a new one. */
export const MAX_UDP_FLOWS = 1024;

/** One listener on [::1]: whose, where it relays, and how to close it with its connections. */
interface Relay {
  sandboxId: string;
  spec: LoopbackRelay;
  close(): void;
}

const keyOf = (r: LoopbackRelay) => `${r.proto}/${r.hostPort}`;
const same = (a: LoopbackRelay, b: LoopbackRelay) =>
  a.proto === b.proto && a.hostPort === b.hostPort && a.ip6 === b.ip6 && a.containerPort === b.containerPort;
const where = (r: LoopbackRelay) => `[::1]:${r.hostPort}/${r.proto}`;

export class PortRelays {
  /** By protocol and host port: the state's port claims give each to one sandbox. */
  private readonly relays = new Map<string, Relay>();
  /** The keys of each sandbox's listeners: a sync looks at its sandboxes' only, however many others there are. */
  private readonly bySandbox = new Map<string, Set<string>>();

  constructor(private readonly log: (line: string) => void) {}

  /** Listeners open now (`stats`). */
  get size(): number {
    return this.relays.size;
  }

  /**
   * Brings the listeners of the sandboxes in `records` (id -> record, or
   * undefined: gone) in line with their records; with `all`, these are every
   * sandbox, and the listeners of any other sandbox close. Returns, per
   * sandbox whose listeners could not all be opened, what failed (that
   * sandbox keeps none: all or nothing).
   */
  async follow(records: ReadonlyMap<string, SandboxRecord | undefined>, all: boolean): Promise<Map<string, string>> {
    // Closed first: a port one sandbox lets go of may be another's in the same sync.
    const ids = all ? [...this.bySandbox.keys()] : [...records.keys()];
    for (const id of ids) {
      const sb = records.get(id);
      const want = sb ? loopbackRelays(sb.ports) : [];
      for (const key of [...(this.bySandbox.get(id) ?? [])]) {
        const r = this.relays.get(key)!;
        if (!want.some((w) => same(w, r.spec))) this.closeRelay(key, r);
      }
    }
    const errors = new Map<string, string>();
    for (const [id, sb] of records) {
      if (!sb) continue;
      const opened: string[] = [];
      for (const spec of loopbackRelays(sb.ports)) {
        const key = keyOf(spec);
        const cur = this.relays.get(key);
        if (cur?.sandboxId === id && same(cur.spec, spec)) continue;
        // Another sandbox's listener whose removal this server missed: the state gave the port to this one.
        if (cur) this.closeRelay(key, cur);
        try {
          const close = await listen(spec, (l) => this.log(`${sb.name} ${where(spec)}: ${l}`));
          this.relays.set(key, { sandboxId: id, spec, close });
          let mine = this.bySandbox.get(id);
          if (!mine) this.bySandbox.set(id, (mine = new Set()));
          mine.add(key);
          opened.push(key);
          this.log(`relaying ${where(spec)} to [${spec.ip6}]:${spec.containerPort} (${sb.name})`);
        } catch (e) {
          for (const k of opened) this.closeRelay(k, this.relays.get(k)!);
          errors.set(id, `${sb.name}: listening on ${where(spec)} to relay it: ${(e as Error).message}`);
          break;
        }
      }
    }
    return errors;
  }

  /** Closes every listener and connection (the server stops). */
  close(): void {
    for (const [key, r] of [...this.relays]) this.closeRelay(key, r);
  }

  private closeRelay(key: string, r: Relay): void {
    if (this.relays.get(key) !== r) return;
    this.relays.delete(key);
    const mine = this.bySandbox.get(r.sandboxId);
    mine?.delete(key);
    if (mine && !mine.size) this.bySandbox.delete(r.sandboxId);
    r.close();
    this.log(`stopped relaying ${where(r.spec)}`);
  }
}

/** Opens the listener of one binding; resolves to what closes it (and every connection or flow it carries). */
function listen(spec: LoopbackRelay, log: (line: string) => void): Promise<() => void> {
  return spec.proto === 'tcp' ? listenTcp(spec, log) : listenUdp(spec, log);
}

async function listenTcp(spec: LoopbackRelay, log: (line: string) => void): Promise<() => void> {
  const conns = new Set<net.Socket>();
  // allowHalfOpen: a FIN from one side ends only that direction (pipe() passes it on as end()).
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const up = net.connect({ host: spec.ip6, port: spec.containerPort, allowHalfOpen: true });
    conns.add(client);
    conns.add(up);
    // A clean end travels through pipe() (the other side's end(), after what it still has to
    // write), and each socket closes once both its directions are done. A failure (a reset, a
    // refused connection) resets the other side at once.
    const pair = (a: net.Socket, b: net.Socket) => {
      a.on('error', () => {});
      a.on('close', (hadError) => {
        conns.delete(a);
        if (!hadError || b.destroyed) return;
        if (b.connecting) b.destroy();
        else b.resetAndDestroy();
      });
    };
    pair(client, up);
    pair(up, client);
    client.pipe(up);
    up.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '::1', port: spec.hostPort, ipv6Only: true, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (e) => log(e.message));
  return () => {
    server.close();
    for (const c of conns) c.destroy();
    conns.clear();
  };
}

interface Flow {
  sock: dgram.Socket;
  timer: NodeJS.Timeout;
}

async function listenUdp(spec: LoopbackRelay, log: (line: string) => void): Promise<() => void> {
  // By client "address port"; a Map keeps insertion order, renewed on use: the first is the least recently used.
  const flows = new Map<string, Flow>();
  const listener = dgram.createSocket({ type: 'udp6', ipv6Only: true });
  const drop = (key: string) => {
    const f = flows.get(key);
    if (!f) return;
    flows.delete(key);
    clearTimeout(f.timer);
    f.sock.close();
  };
  const touch = (key: string, f: Flow) => {
    f.timer.refresh();
    flows.delete(key);
    flows.set(key, f);
  };
  listener.on('message', (msg, from) => {
    const key = `${from.address} ${from.port}`;
    let f = flows.get(key);
    if (!f) {
      if (flows.size >= MAX_UDP_FLOWS) drop(flows.keys().next().value!);
      const sock = dgram.createSocket('udp6');
      const flow: Flow = { sock, timer: setTimeout(() => drop(key), UDP_FLOW_IDLE_MS).unref() };
      sock.on('message', (answer, src) => {
        // Only the sandbox's own address and port answer this flow.
        if (src.address !== spec.ip6 || src.port !== spec.containerPort || flows.get(key) !== flow) return;
        touch(key, flow);
        listener.send(answer, from.port, from.address);
      });
      sock.on('error', (e) => {
        log(`flow from [${from.address}]:${from.port}: ${e.message}`);
        drop(key);
      });
      flows.set(key, (f = flow));
    } else touch(key, f);
    f.sock.send(msg, spec.containerPort, spec.ip6);
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.bind({ address: '::1', port: spec.hostPort, exclusive: true }, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  listener.on('error', (e) => log(e.message));
  return () => {
    for (const key of [...flows.keys()]) drop(key);
    listener.close();
  };
}
