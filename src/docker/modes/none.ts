// --network none: a namespace of its own with only lo, up, and its files
// (/etc/netns/NAME: resolv.conf, hosts, hostname).
//
//   ip netns add web; ip -n web link set lo up
//   ip -n web addr show         (lo only)
import { existsSync } from 'node:fs';
import path from 'node:path';
import { NETNS_RUN_DIR } from '../../kernel/netns.js';
import { conflict, invalidArg } from '../errors.js';
import { filesStep } from '../files.js';
import { namespaceStep } from '../namespace.js';
import type { Step } from '../plan.js';
import type { Context } from '../context.js';
import type { SandboxRecord } from '../types.js';
import { nonEmpty, type Mode, type SandboxEnv } from './mode.js';

/** Names the sandbox's namespace after it, refusing one that exists already (not nsnet's to take). */
export function claimNetnsName(sb: SandboxRecord): void {
  if (existsSync(path.join(NETNS_RUN_DIR, sb.name))) {
    throw conflict(`a network namespace named ${sb.name} already exists (${path.join(NETNS_RUN_DIR, sb.name)}); choose another sandbox name`);
  }
  sb.netns = sb.name;
}

/**
 * The namespace and the files: what every sandbox with a namespace of its own
 * starts with. Dual-stack endpoints only: interfaces born with IPv6 on and
 * ready for it (namespace.ts SANDBOX_IPV6_SYSCTLS, born6 below).
 */
export function namespaceSteps(ctx: Context, sb: SandboxRecord, env: SandboxEnv): Step[] {
  return [namespaceStep(env.ns!, `sandbox ${sb.name}`, { ipv6: born6(sb) }), filesStep(ctx, sb.netns!, env.files)];
}

/**
 * Is the sandbox's namespace made by its own plan with SANDBOX_IPV6_SYSCTLS
 * (IPv6 on by default): not a runtime's namespace, and every endpoint it is
 * born with is a dual-stack one (a sandbox connected to an IPv4-only network
 * since, whose namespace is made again from its record, is born with IPv6 off:
 * its dual-stack interfaces turn it on for themselves).
 */
export function born6(sb: SandboxRecord): boolean {
  return !sb.netnsPath && sb.endpoints.length > 0 && sb.endpoints.every((e) => !!e.ip6);
}

export const noneMode: Mode = {
  async plan(_ctx, _s, req, sb) {
    claimNetnsName(sb);
    sb.mode = 'none';
    sb.networkMode = 'none';
    if (nonEmpty(req.aliases)) throw invalidArg('network-scoped alias is supported only for containers in user defined networks');
  },
  steps: namespaceSteps,
};
