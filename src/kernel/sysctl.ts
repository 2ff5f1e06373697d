// sysctls of a network namespace: each namespace has its own
// net.ipv4.ip_forward, net.ipv4.conf.*.route_localnet, and so on.
//
//   ip netns exec web sysctl net.ipv4.ip_forward
//   ip netns exec web sysctl -w net.ipv4.ip_forward=1
//
// Man pages: sysctl(8), and the kernel's Documentation/networking/ip-sysctl.rst.
import { native } from '../native.js';
import { attempt } from './errors.js';
import type { Netns } from './netns.js';

/**
 * Reads a sysctl inside the namespace ("net.ipv4.ip_forward" or "net/ipv4/ip_forward").
 * Equivalent to: `ip netns exec NS sysctl -n KEY`
 */
export function sysctlGet(ns: Netns, key: string): Promise<string> {
  return attempt(`reading sysctl ${key} in ${ns}`, `ip netns exec ${ns.name ?? '?'} sysctl -n ${key}`,
    () => native().sysctlRead(ns.fd, key));
}

/** A key as sysctl(8) shows it: dotted, unless a part (an interface name) has a dot of its own. */
const shown = (key: string) => (key.includes('/') && !key.split('/').some((p) => p.includes('.')) ? key.replaceAll('/', '.') : key);

/** The `sysctl -w` command that sysctlSet amounts to (in a named namespace, or the host's: undefined). */
export function sysctlSetCommand(ns: string | undefined, key: string, value: string | number): string {
  return `${ns ? `ip netns exec ${ns} ` : ''}sysctl -w ${shown(key)}=${value}`;
}

/**
 * Writes a sysctl inside the namespace.
 * Equivalent to: `ip netns exec NS sysctl -w KEY=VALUE`
 */
export function sysctlSet(ns: Netns, key: string, value: string | number, o: { for?: string } = {}): Promise<void> {
  return attempt(`setting sysctl ${key}=${value} in ${ns}`, sysctlSetCommand(ns.name, key, value),
    () => native().sysctlWrite(ns.fd, key, String(value)), o.for);
}
