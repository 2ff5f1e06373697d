// What `nsnet compose up` makes of a service, pure: which services a command
// acts on, the sandbox request (first network at create, the others
// connected after) and the digest that tells whether a sandbox is up to date.
import { createHash } from 'node:crypto';
import { NsnetError } from '../docker/errors.js';
import type { SandboxCreateRequest } from '../docker/sandboxes.js';
import { LABEL } from './labels.js';
import type { ComposeProject, ComposeService } from './types.js';

/** The services to act on: the ones named (with everything they depend on), or all. */
export function selectServices(p: ComposeProject, names: string[]): ComposeService[] {
  if (names.length === 0) return p.services;
  const byName = new Map(p.services.map((s) => [s.name, s]));
  const want = new Set<string>();
  const add = (n: string) => {
    const s = byName.get(n);
    if (!s) throw new NsnetError('InvalidArgument', `no such service: ${n}`);
    if (want.has(n)) return;
    want.add(n);
    s.dependsOn.forEach(add);
  };
  names.forEach(add);
  return p.services.filter((s) => want.has(s.name));
}

/** A digest of everything `up` makes from a service, so a changed file recreates the sandbox. */
export function configHash(p: ComposeProject, s: ComposeService): string {
  const nets = s.networks.map((n) => ({ ...n, name: p.networks.find((x) => x.key === n.key)?.name }));
  return createHash('sha256').update(JSON.stringify({ ...s, networks: nets })).digest('hex');
}

/** The sandbox request for a service: its first network at create, the others connected after. */
export function serviceRequest(p: ComposeProject, s: ComposeService): { req: SandboxCreateRequest; connect: { network: string; ip?: string; ip6?: string; aliases: string[] }[] } {
  const netName = (key: string) => p.networks.find((n) => n.key === key)!.name;
  const container = (service: string) => p.services.find((x) => x.name === service)?.containerName ?? service;
  const mode = (m: string | undefined) => (m?.startsWith('service:') ? `container:${container(m.slice('service:'.length))}` : m);
  const [first, ...others] = s.networks;
  const req: SandboxCreateRequest = {
    name: s.containerName,
    network: first ? netName(first.key) : mode(s.networkMode)!,
    // Compose makes the service name an alias on every network the service joins.
    ...(first && { aliases: [s.name, ...first.aliases] }),
    ...(first?.ipv4Address && { ip: first.ipv4Address }),
    ...(first?.ipv6Address && { ip6: first.ipv6Address }),
    ...(s.mac && { mac: s.mac }),
    ...(s.hostname && { hostname: s.hostname }),
    links: [...s.links.map((l) => `${container(l.service)}:${l.alias}`), ...s.externalLinks],
    // Docker discards published ports in host mode, with a warning (upService prints it).
    publish: s.networkMode === 'host' ? [] : s.ports,
    expose: s.expose,
    dns: s.dns,
    dnsSearch: s.dnsSearch,
    dnsOptions: s.dnsOptions,
    addHosts: s.extraHosts,
    ...(s.pid && { pid: mode(s.pid)! }),
    labels: { ...s.labels, [LABEL.project]: p.name, [LABEL.service]: s.name, [LABEL.number]: '1', [LABEL.oneoff]: 'False', [LABEL.hash]: configHash(p, s) },
  };
  return {
    req,
    connect: others.map((n) => ({ network: netName(n.key), aliases: [s.name, ...n.aliases], ...(n.ipv4Address && { ip: n.ipv4Address }), ...(n.ipv6Address && { ip6: n.ipv6Address }) })),
  };
}

