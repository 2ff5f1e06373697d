// Names of sandboxes on other hosts: the cluster store's endpoints (as the
// host's watcher holds them, docker/overlay-watch.ts) turned into the records
// the name index takes (names.ts), so `ping web` works from a sandbox on host
// 1 to `web` on host 3 when both are on one overlay network. The store keeps a
// sandbox's name and its aliases on each network: those are what resolve
// (and its short id, as for a local sandbox). Pure.
import type { SandboxRecord } from '../docker/types.js';
import type { OverlayEndpoint } from '../state/cluster/keys.js';

/** A remote sandbox as the name index sees it, from its endpoints (one per overlay network it is on). */
export function remoteSandbox(eps: OverlayEndpoint[]): SandboxRecord {
  const first = eps[0]!;
  return {
    id: first.sandbox, name: first.name, created: '', status: 'running', mode: 'bridge', networkMode: '',
    hostname: first.name, ports: [], links: [], dns: [], dnsSearch: [], dnsOptions: [], extraHosts: [],
    endpoints: eps.map((e) => ({
      networkId: e.network, endpointId: '', ifname: '', hostVeth: '', ip: e.ip, prefixlen: 0, mac: e.mac, gateway: '',
      aliases: e.aliases, staticIp: false,
    })),
  };
}

/**
 * The changes for the name index after the watcher's endpoints changed:
 * each sandbox in `ids` (all, when undefined) that is on another host, with
 * its record, or undefined when it has no endpoint left.
 */
export function remoteChanges(endpoints: Iterable<OverlayEndpoint>, hostId: string | undefined, ids: Set<string> | undefined):
  Map<string, SandboxRecord | undefined> {
  const bySandbox = new Map<string, OverlayEndpoint[]>();
  for (const ep of endpoints) {
    if (ep.host === hostId || (ids && !ids.has(ep.sandbox))) continue;
    const list = bySandbox.get(ep.sandbox);
    if (list) list.push(ep);
    else bySandbox.set(ep.sandbox, [ep]);
  }
  const out = new Map<string, SandboxRecord | undefined>();
  for (const id of ids ?? bySandbox.keys()) {
    const eps = bySandbox.get(id);
    out.set(id, eps ? remoteSandbox(eps) : undefined);
  }
  return out;
}
