// --network bridge (the default bridge) or a user-defined network: a namespace
// of its own, wired to the network's bridge by a veth (a macvlan network: a
// macvlan of its parent, macvlan.ts; no published ports), with an address from
// the network's pool, the default route via its gateway, its published ports
// as DNAT map elements, and (user-defined networks) the embedded DNS server.
// An overlay network: its endpoint (overlay-endpoint.ts), and, unless the
// network is internal, a second one on nsnet_gwbridge, its way out (gwbridge.ts).
//
//   ip netns add web; ip -n web link set lo up
//   ip link add veth1a2b3c4 master br-0123456789ab up type veth peer name eth0 netns web address 02:42:ac:12:00:02
//   ip -n web addr add 172.18.0.2/16 dev eth0; ip -n web link set eth0 up
//   ip -n web route add default via 172.18.0.1
//   nft add element ip nsnet ports { tcp . 8080 : 172.18.0.2 . 80 }
import { dnsStep, usesEmbeddedDns } from '../embedded-dns.js';
import { endpointSteps, planEndpoint } from '../endpoint.js';
import { invalidArg } from '../errors.js';
import { checkMacvlanEndpoint } from '../macvlan.js';
import { findSandbox } from '../lookup.js';
import { planPorts, portsStep, relayStep } from '../publish.js';
import type { Step } from '../plan.js';
import { nonEmpty, type Mode } from './mode.js';
import { born6, claimNetnsName, namespaceSteps } from './none.js';
import { runtimeNamespaceStep } from '../namespace.js';
import { overlayEndpointSteps, planOverlayEndpoint } from '../overlay-endpoint.js';
import { planGwbridgeEndpoint } from '../gwbridge.js';

export const bridgeMode: Mode = {
  async plan(ctx, s, req, sb, net) {
    if (req.cni) {
      // The runtime's namespace: not named after the sandbox, not nsnet's to make or delete.
      sb.netnsPath = req.cni.netnsPath;
      sb.netnsInode = req.cni.netnsInode;
      sb.cni = { containerId: req.cni.containerId, ifname: req.cni.ifname, ...(req.cni.noDefaultRoute && { noDefaultRoute: true }) };
    } else {
      claimNetnsName(sb);
    }
    if (!net) throw new Error('bridge mode needs a network');
    if (net.driver === 'overlay' && req.cni) throw invalidArg('CNI attachments to overlay networks are not supported');
    if (net.defaultBridge && nonEmpty(req.aliases)) throw invalidArg('network-scoped alias is supported only for containers in user defined networks');
    sb.networkMode = net.name;
    if (net.driver === 'overlay') {
      // Checks first, the store's address claim last: nothing after it can fail and leave it behind.
      if (req.ip6) throw invalidArg(`overlay network ${net.name} has no IPv6`);
      for (const l of req.links ?? []) {
        const [lname, alias] = l.split(':');
        sb.links.push({ name: (await findSandbox(s, lname!)).name, alias: alias || lname! });
      }
      // The way out (Docker's docker_gwbridge): eth1 on nsnet_gwbridge, with the default route and the
      // published ports (DNAT to its address). Not for an internal network: no way out at all.
      const gw = net.internal ? undefined : await planGwbridgeEndpoint(ctx, s, sb, net.subnet!);
      if (gw) sb.ports = await planPorts(ctx, s, req, gw.ip, sb.id);
      else if (nonEmpty(req.publish) || req.publishAll) ctx.warn(`WARNING: Published ports are discarded when using an internal overlay network (${net.name} has no way out)`);
      sb.endpoints.push(await planOverlayEndpoint(ctx, sb, net, { ...(req.ip && { ip: req.ip }), ...(req.mac && { mac: req.mac }), aliases: req.aliases ?? [] }));
      if (gw) sb.endpoints.push(gw);
      return;
    }
    // macvlan passthru: one sandbox, with the parent's MAC.
    const mv = net.driver === 'macvlan' ? await checkMacvlanEndpoint(ctx, s, net, req) : {};
    const mac = mv.mac ?? req.mac;
    sb.endpoints.push(await planEndpoint(s, sb, net, {
      ...(req.ip && { ip: req.ip }), ...(req.ip6 && { ip6: req.ip6 }), ...(mac && { mac }), aliases: req.aliases ?? [], ...(req.cni && { ifname: req.cni.ifname }),
    }));
    for (const l of req.links ?? []) {
      const [lname, alias] = l.split(':');
      const target = await findSandbox(s, lname!);
      if (net.defaultBridge && !target.endpoints.some((e) => e.networkId === net.id)) {
        throw invalidArg(`Cannot link to /${target.name}, as it does not belong to the default network`);
      }
      sb.links.push({ name: target.name, alias: alias || target.name });
    }
    if (net.driver === 'macvlan') {
      // The sandbox is on the LAN with an address of its own: nothing to publish (Docker ignores them too).
      if (nonEmpty(req.publish) || req.publishAll) ctx.warn('WARNING: Published ports are discarded when using a macvlan network');
    } else if (!net.internal) sb.ports = await planPorts(ctx, s, req, sb.endpoints[0]!.ip, sb.id, sb.endpoints[0]!.ip6);
  },

  steps(ctx, sb, env) {
    // The runtime's namespace (CNI): opened, never made or deleted, no /etc/netns files (the runtime writes resolv.conf).
    const steps: Step[] = sb.netnsPath ? [runtimeNamespaceStep(env.ns!, sb.cni?.ifname ?? sb.endpoints[0]?.ifname ?? 'eth0', `sandbox ${sb.name}`)] : namespaceSteps(ctx, sb, env);
    // Asked as soon as the namespace exists, awaited before create returns.
    const dnsSynced = !!ctx.dns && usesEmbeddedDns(env.networks, sb);
    if (dnsSynced) steps.push(dnsStep(ctx, sb, env.ns!, env.dnsReleased));
    // The default route goes through the first endpoint that is not an overlay one (which has no way out):
    // eth0 on a bridge or macvlan network, eth1 on nsnet_gwbridge for an overlay sandbox.
    const carrier = sb.endpoints.findIndex((e) => !e.overlay);
    for (const [i, e] of sb.endpoints.entries()) {
      if (e.overlay) {
        steps.push(...overlayEndpointSteps(ctx, sb, e, env.ns!, { last: !!env.overlayLast?.has(e.networkId), ownVeth: false }));
        continue;
      }
      const net = env.networks.find((n) => n.id === e.networkId);
      if (!net) continue; // a network lost from a damaged networks.json: its bridge side can't be known
      // In the runtime's namespace the veth must go by itself (the namespace stays, or is gone already): by its host end.
      steps.push(...endpointSteps(ctx, sb, net, e, { ns: env.ns!, bridge: env.bridges?.get(net.id) },
        { defaultRoute: i === carrier && !net.internal && sb.cni?.noDefaultRoute !== true, ownVeth: sb.netnsPath ? 'host-end' : false, born6: born6(sb) }));
    }
    if (sb.ports.length) steps.push(portsStep(ctx, sb));
    // [::1] for a dual-stack sandbox's ports: relayed by the resident process (no DNAT can serve ::1).
    const relay = relayStep(ctx, sb, dnsSynced);
    if (relay) steps.push(relay);
    return steps;
  },
};
