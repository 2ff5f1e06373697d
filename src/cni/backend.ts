// What the CNI plugin's commands do, on nsnet's docker layer (types.ts
// CniBackend; main.ts speaks the protocol around it).
//
//   ADD     the network (an nsnet network named after the configuration, made
//           on first use), then a sandbox record on the runtime's namespace:
//           what `nsnet create --network NET -p ... --ip ... --mac ... --alias ...`
//           does, but the namespace is CNI_NETNS, not made or deleted by
//           nsnet, and no /etc/netns files are written (the runtime owns
//           resolv.conf; the result's dns says 127.0.0.11).
//   DEL     `nsnet rm -f` of that record: the undos of the steps ADD ran (the
//           veth by its host end, ports, DNS); nothing there is success. In the
//           resident process (deferRemovals), DEL answers once the state is
//           committed and the veth is deleted after, its address held until
//           then (docker/removals.ts); an ADD there waits for those first.
//   CHECK   what ADD made is still there: interface, MAC, address, default
//           route, bridge port, nftables elements, address reservation, DNS.
//   GC      DEL of every attachment on this network not in the valid list.
//   STATUS  the state can be locked and read, nsnet's tables checked.
//
//   nsnet ps -a --filter name=cni-          the attachments, as sandboxes
//   nsnet inspect cni-<id12>-eth0
import { statSync } from 'node:fs';
import { openContext, type Context, type ContextOptions } from '../docker/context.js';
import { usesEmbeddedDns } from '../docker/embedded-dns.js';
import { NsnetError } from '../docker/errors.js';
import { networkCreate, subnetBlock, usingState } from '../docker/networks.js';
import { sandboxRemove } from '../docker/remove.js';
import { removalsInFlight, removalsSettled, workIn } from '../docker/removals.js';
import { sandboxCreate } from '../docker/sandboxes.js';
import type { NetworkCreateRequest } from '../docker/network.js';
import type { NetworkRecord, SandboxRecord } from '../docker/types.js';
import { addrList } from '../kernel/addr.js';
import { KernelError, isNotFound } from '../kernel/errors.js';
import { checkIfName, linkGet } from '../kernel/link.js';
import { netnsOpen, type Netns } from '../kernel/netns.js';
import { nftApply, nftTableGet } from '../kernel/nftables.js';
import { routeList } from '../kernel/route.js';
import { ipv4ToInt, isIPv4 } from '../net/ip.js';
import { formatIpv4Block, parseIpv4Block } from '../net/subnet-pool.js';
import { portElements, TABLE } from '../nft/table.js';
import { portRules } from '../docker/firewall.js';
import { isDamaged } from '../state/damaged.js';
import { leasePodCidr, podCidrStore, POD_CIDR_STORE_LABEL } from '../docker/pod-cidr.js';
import { addResult, attachmentName, createRequest, delegatesIpam, networkMismatch, networkRequest, podCidrPrefixLen, staticIpOf, wantsDefaultRoute } from './config.js';
import { validAttachments } from './env.js';
import { CNI_ERR, CniError, type CniBackend, type CniRequest, type Result } from './types.js';

/**
 * Runs the IPAM plugin that `req.config.ipam.type` names, as the spec's
 * delegation does (the same env and stdin, its result back): src/cni/delegate.ts.
 */
export type IpamExec = (command: 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS', req: CniRequest) => Promise<Result | undefined | void>;

export interface CniBackendOptions extends ContextOptions {
  /** A context to work in as it is (tests; a runtime embedding nsnet): not closed after. Default: openContext(options) per command. */
  context?: Context;
  /** The delegated IPAM (configurations whose ipam.type is not "nsnet"). */
  ipam?: IpamExec;
  /** Run on each context this backend opens, before the command (the plugin revives a killed DNS server). */
  prepare?: (ctx: Context) => Promise<unknown>;
  /**
   * This process lives on after answering (the resident nsnet process): DEL
   * answers before the veth is deleted (Context.deferRemovals). Never in a
   * process per call, which would exit with the work undone.
   */
  deferRemovals?: boolean;
  /** A firewall watcher runs in this process (the resident process's DNS server): Context.tablesWatched. */
  tablesWatched?: boolean;
  /** NSNET_CNI_TRACE: the backend's own stages. */
  trace?: (what: string) => void;
}

/** The CNI error a failure reads as: nsnet's kinds and the kernel's errors, with their codes. */
export function asCniError(e: unknown): CniError {
  if (e instanceof CniError) return e;
  if (e instanceof NsnetError) {
    const code = { InvalidArgument: CNI_ERR.invalidConfig, NotFound: CNI_ERR.unknownContainer, Conflict: CNI_ERR.state, Unavailable: CNI_ERR.notAvailable, Internal: CNI_ERR.kernel }[e.kind];
    return new CniError(code, e.message);
  }
  if (e instanceof KernelError) {
    return new CniError(CNI_ERR.kernel, e.message, [e.code, e.extack?.message].filter(Boolean).join(': '));
  }
  if (isDamaged(e)) return new CniError(CNI_ERR.io, (e as Error).message);
  if (e instanceof AggregateError) return new CniError(CNI_ERR.kernel, e.message);
  return new CniError(CNI_ERR.kernel, e instanceof Error ? e.message : String(e));
}

/** The attachment's record, if it is this one (container id, interface, network). */
function isAttachment(sb: SandboxRecord | undefined, req: CniRequest): sb is SandboxRecord {
  return !!sb && sb.cni?.containerId === req.containerId && sb.cni.ifname === req.ifname && sb.networkMode === req.config.name;
}

/**
 * The configuration's network: the existing one (refused with code 7 when it
 * disagrees), or made now. Two first ADDs at once: networkCreate checks the
 * name under the state lock, so the second one finds the first's network.
 */
async function ensureNetwork(ctx: Context, want: NetworkCreateRequest, req: CniRequest): Promise<NetworkRecord> {
  const agree = (n: NetworkRecord) => {
    const why = networkMismatch(n, want, req.config);
    if (why) throw new CniError(CNI_ERR.invalidConfig, why);
    return n;
  };
  const found = await usingState(ctx, (s) => s.networks.find((n) => n.name === want.name));
  if (found) return agree(found);
  try {
    return await networkCreate(ctx, await leased(ctx, want, req));
  } catch (e) {
    const again = await usingState(ctx, (s) => s.networks.find((n) => n.name === want.name));
    if (again) return agree(again);
    throw e instanceof NsnetError ? new CniError(CNI_ERR.invalidConfig, `creating network ${want.name}: ${e.message}`) : e;
  }
}

/**
 * A network about to be made whose subnet is a pod CIDR leased from the
 * cluster store (docs/cni.md "Pod CIDRs from etcd"), when the configuration
 * asks for one and a store is configured; else `want` as it is. Only when the
 * network is not there yet: later ADDs read no store.
 */
async function leased(ctx: Context, want: NetworkCreateRequest, req: CniRequest): Promise<NetworkCreateRequest> {
  const prefixLen = podCidrPrefixLen(req.config);
  if (prefixLen === undefined || !want.clusterCidr) return want;
  const store = podCidrStore(ctx, req.config.clusterStore);
  if (!store) return want;
  const { subnet } = await leasePodCidr(ctx, { store, clusterCidr: want.clusterCidr, prefixLen });
  return { ...want, subnet, labels: { ...want.labels, [POD_CIDR_STORE_LABEL]: store.url } };
}

/** The runtime's namespace inode (so nothing later attaches to another namespace at a reused /proc/PID path). */
function netnsInode(req: CniRequest): number {
  if (!req.netns) throw new CniError(CNI_ERR.invalidEnv, 'CNI_NETNS is empty: ADD needs the container\'s network namespace');
  try {
    return statSync(req.netns).ino;
  } catch (e) {
    throw new CniError(CNI_ERR.invalidEnv, `CNI_NETNS ${req.netns}: ${(e as Error).message}`);
  }
}

function checkIfname(req: CniRequest): void {
  try {
    checkIfName(req.ifname);
  } catch (e) {
    throw new CniError(CNI_ERR.invalidEnv, `CNI_IFNAME: ${(e as Error).message}`);
  }
}

export function cniBackend(opts: CniBackendOptions = {}): CniBackend {
  const withCtx = async <T>(fn: (ctx: Context) => Promise<T>): Promise<T> => {
    if (opts.context) return fn(opts.context);
    const ctx = await openContext(opts);
    if (opts.deferRemovals) ctx.deferRemovals = true;
    if (opts.tablesWatched) ctx.tablesWatched = true;
    try {
      await opts.prepare?.(ctx);
      return await fn(ctx);
    } finally {
      // A host handle given to the backend is its owner's. Removals finishing after the answer work in this context: closed when they are done.
      const work = workIn(ctx);
      if (!opts.host) {
        if (work) void work.finally(() => ctx.host.close());
        else await ctx.host.close();
      }
    }
  };
  /** An ADD after a DEL whose veth is still being deleted: the same container's interface or static address must be free. */
  const settled = async () => {
    if (!removalsInFlight()) return;
    const t = performance.now();
    const n = await removalsSettled();
    opts.trace?.(`waited ${(performance.now() - t).toFixed(1)} ms for ${n} removal(s) of this process still deleting their veth`);
  };
  const ipam = (req: CniRequest): IpamExec => {
    if (!opts.ipam) throw new CniError(CNI_ERR.invalidConfig, `ipam type ${JSON.stringify(req.config.ipam?.type)} needs a delegated IPAM plugin, and none can be run here`);
    return opts.ipam;
  };

  /**
   * Removes the attachment's record and what its steps made; nothing there is
   * success. With `req`, only if the record is that attachment (checked in
   * the removal's own locked section); a damaged one: rm -f removes what it can find.
   */
  const remove = async (ctx: Context, name: string, req: CniRequest | undefined) => {
    await sandboxRemove(ctx, [name], { force: true, ...(req && { only: (sb: SandboxRecord) => isAttachment(sb, req) }) }).catch((e: unknown) => {
      if (!(e instanceof NsnetError && e.kind === 'NotFound')) throw e;
    });
  };

  return {
    async add(req) {
      const conf = req.config;
      checkIfname(req);
      const inode = netnsInode(req);
      await settled();
      return withCtx(async (ctx) => {
        let ip = staticIpOf(conf);
        let pool: { subnet?: string; gateway?: string } = {};
        let delegated = false;
        if (delegatesIpam(conf)) {
          const r = (await ipam(req)('ADD', req)) || undefined;
          delegated = true;
          const first = r?.ips?.find((x) => isIPv4(x.address.split('/')[0]!));
          if (!first) {
            await ipam(req)('DEL', req).catch(() => {});
            throw new CniError(CNI_ERR.invalidConfig, `ipam ${conf.ipam!.type} gave no IPv4 address (nsnet is IPv4-only)`);
          }
          ip = first.address.split('/')[0]!;
          pool = { subnet: formatIpv4Block(parseIpv4Block(first.address)), ...(first.gateway && { gateway: first.gateway }) };
        }
        let made: SandboxRecord | undefined;
        try {
          const net = await ensureNetwork(ctx, networkRequest(conf, pool), req);
          made = await sandboxCreate(ctx, createRequest(req, inode, ip));
          const e = made.endpoints[0]!;
          const [bridge, hostVeth] = await Promise.all([linkGet(ctx.host, net.bridge!), linkGet(ctx.host, e.hostVeth)]);
          return addResult(conf, {
            bridge: { name: bridge.name, mac: bridge.address }, hostVeth: { name: hostVeth.name, mac: hostVeth.address },
            ifname: req.ifname, mac: e.mac, netns: req.netns, ip: e.ip, prefixlen: e.prefixlen, gateway: e.gateway,
            defaultRoute: wantsDefaultRoute(conf) && !net.internal, mtu: net.mtu,
            embeddedDns: !!ctx.dns && usesEmbeddedDns([net], made),
          });
        } catch (e) {
          if (made) await remove(ctx, made.name, undefined).catch(() => {});
          if (delegated) await ipam(req)('DEL', req).catch(() => {});
          throw asCniError(e);
        }
      });
    },

    async del(req) {
      const name = attachmentName(req.containerId, req.ifname);
      await withCtx(async (ctx) => {
        const errors: unknown[] = [];
        await remove(ctx, name, req).catch((e: unknown) => errors.push(e));
        if (delegatesIpam(req.config)) await ipam(req)('DEL', req).catch((e: unknown) => errors.push(e));
        if (errors.length) throw asCniError(errors[0]);
      });
    },

    async check(req) {
      checkIfname(req);
      const name = attachmentName(req.containerId, req.ifname);
      await withCtx(async (ctx) => {
        const found = await usingState(ctx, async (s) => {
          const sb = await s.sandboxes.get(name);
          if (!isAttachment(sb, req)) return undefined;
          const net = s.networks.find((n) => n.id === sb.endpoints[0]?.networkId);
          const e = sb.endpoints[0];
          if (!net || !e) return { sb, net, reserved: false };
          const { base, size } = subnetBlock(net);
          const used = await s.addresses.usedTest(net.id, base, size);
          return { sb, net, reserved: used(ipv4ToInt(e.ip)) };
        });
        if (!found) throw new CniError(CNI_ERR.unknownContainer, `no attachment ${name} (container ${req.containerId}, ${req.ifname}) on network ${req.config.name}`);
        const { sb, net } = found;
        const e = sb.endpoints[0];
        if (!net || !e) throw new CniError(CNI_ERR.kernel, `attachment ${name}: its network is gone from nsnet's state`);
        const missing = await checkAttachment(ctx, req, sb, net, found.reserved);
        // prevResult: what the runtime was told is what is there.
        const told = req.config.prevResult?.ips?.map((x) => x.address) ?? [];
        for (const a of told) if (a !== `${e.ip}/${e.prefixlen}` && isIPv4(a.split('/')[0]!)) missing.push(`prevResult's address ${a} (the attachment has ${e.ip}/${e.prefixlen})`);
        if (missing.length) throw new CniError(CNI_ERR.kernel, `CHECK of ${name} failed: ${missing.join('; ')}`);
        if (delegatesIpam(req.config)) await ipam(req)('CHECK', req);
      }).catch((e: unknown) => {
        throw asCniError(e);
      });
    },

    async gc(req) {
      // Top level, where libcni puts it (or runtimeConfig); without a list there is nothing to tell garbage by.
      const valid = validAttachments(req.config);
      if (!valid) return;
      const keep = new Set(valid.map((a) => `${a.containerID}\0${a.ifname}`));
      await withCtx(async (ctx) => {
        const stale = await usingState(ctx, async (s) => (await s.sandboxes.all())
          .filter((sb) => sb.cni && sb.networkMode === req.config.name && !keep.has(`${sb.cni.containerId}\0${sb.cni.ifname}`)));
        const errors: unknown[] = [];
        for (const sb of stale) await remove(ctx, sb.name, undefined).catch((e: unknown) => errors.push(e));
        if (delegatesIpam(req.config)) await ipam(req)('GC', req).catch((e: unknown) => errors.push(e));
        if (errors.length) throw asCniError(errors[0]);
      });
    },

    async status(req) {
      await withCtx(async (ctx) => {
        // The lock taken, the state read, nsnet's tables checked (and rebuilt if stale): what every ADD starts with.
        await usingState(ctx, () => undefined);
        if (delegatesIpam(req.config)) await ipam(req)('STATUS', req);
      }).catch((e: unknown) => {
        const c = asCniError(e);
        throw c.code === CNI_ERR.notAvailable || c.code === CNI_ERR.limitedConnectivity ? c : new CniError(CNI_ERR.notAvailable, `nsnet cannot serve ADD: ${c.message}`, c.details);
      });
    },
  };
}

/** What of an attachment is not there (empty: all of it is). */
async function checkAttachment(ctx: Context, req: CniRequest, sb: SandboxRecord, net: NetworkRecord, reserved: boolean): Promise<string[]> {
  const e = sb.endpoints[0]!;
  const missing: string[] = [];
  if (!reserved) missing.push(`address ${e.ip} is not reserved in network ${net.name}'s pool`);
  // The host side: the veth's host end, a port of the network's bridge.
  try {
    const [bridge, hostEnd] = await Promise.all([linkGet(ctx.host, net.bridge!), linkGet(ctx.host, e.hostVeth)]);
    if (hostEnd.master !== bridge.index) missing.push(`${e.hostVeth} is not a port of bridge ${net.bridge}`);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    missing.push(`host interface ${e.hostVeth} or bridge ${net.bridge}`);
  }
  // nftables: the network's element, and the published ports' DNAT map elements.
  const has = (text: string) => nftApply(ctx.host, text).then(() => true, (err: unknown) => {
    if (err instanceof KernelError) return false;
    throw err;
  });
  if (!(await has(`get element ip ${TABLE} bridges { ${JSON.stringify(net.bridge)} }`))) missing.push(`nftables element ${net.bridge} in set ip ${TABLE} bridges`);
  for (const line of portElements('delete', portRules(sb.ports)).split('\n').filter(Boolean)) {
    const get = line.replace(/^delete element/, 'get element');
    if (!(await has(get))) missing.push(`nftables ${get.replace(/^get /, '')}`);
  }
  // The pod's side, in the runtime's namespace.
  let ns: Netns | undefined;
  try {
    ns = await netnsOpen({ path: req.netns || sb.netnsPath! });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    return [...missing, `network namespace ${req.netns || sb.netnsPath}`];
  }
  try {
    if (sb.netnsInode !== undefined && ns.ino !== sb.netnsInode) return [...missing, `network namespace ${req.netns}: not the one ADD attached (inode ${ns.ino}, was ${sb.netnsInode})`];
    let link;
    try {
      link = await linkGet(ns, req.ifname);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      return [...missing, `interface ${req.ifname} in ${req.netns}`];
    }
    // A plugin chained after nsnet (tuning) may have set another MAC and said so in the result: prevResult is what to expect.
    const told = req.config.prevResult?.interfaces?.find((i) => i.name === req.ifname && i.sandbox === req.netns && i.mac)?.mac;
    const mac = told ?? e.mac;
    if (link.address.toLowerCase() !== mac.toLowerCase()) missing.push(`MAC ${mac} on ${req.ifname} (it has ${link.address})`);
    if (!link.up) missing.push(`${req.ifname} is down`);
    const addrs = await addrList(ns, { link: link.index, family: 4 });
    if (!addrs.some((a) => a.address === e.ip && a.prefixlen === e.prefixlen)) missing.push(`address ${e.ip}/${e.prefixlen} on ${req.ifname}`);
    if (!sb.cni?.noDefaultRoute && !net.internal) {
      const routes = await routeList(ns, { family: 4 });
      if (!routes.some((r) => r.dst === 'default' && r.gateway === e.gateway && r.table === 254)) missing.push(`default route via ${e.gateway}`);
    }
    if (ctx.dns && usesEmbeddedDns([net], sb)) {
      await nftTableGet(ns, 'ip', 'nsnet_dns').catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
        missing.push('the embedded DNS server\'s redirect (table ip nsnet_dns) in the namespace');
      });
    }
  } finally {
    await ns.close();
  }
  return missing;
}
