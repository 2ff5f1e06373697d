// resolv.conf(5) as the host has it: parsed as glibc reads it, and which of its nameservers
// a sandbox can use. What nsnet writes into a sandbox is in sandbox-resolv-conf.ts.
//
// Mirrors moby/libnetwork (20.10) `resolvconf/resolvconf.go` (`Path`, `GetNameservers`,
// `GetSearchDomains`, `GetOptions`). docker-behaviour.md §12.3.
//
// Pure: the caller reads the host's file (see `isSystemdStub`).
import { isIP, isLoopback } from '../net/ip.js';

/** A parsed resolv.conf. Comments and blank lines are not kept. */
export interface ResolvConf {
  /** Valid IP addresses from `nameserver` lines, in file order (unparseable ones are ignored, as glibc does). */
  nameservers: string[];
  /** The last `search` or `domain` line's domains (glibc: the last of the two wins). */
  search: string[];
  /** Every `options` line's options, in order (glibc accumulates them). */
  options: string[];
  /** Any other directive (`sortlist`, `lookup`, ...), as written. */
  other: string[];
  /**
   * The file as read. Set by `parseResolvConf` so that the modes where Docker copies the host's
   * file (host, default bridge, none) keep its comments and layout byte for byte. Objects built
   * by hand may leave it out; they are then rendered canonically.
   */
  text?: string;
}

/** Upstreams the embedded server uses at most (lnw `resolver.go` `maxExtDNS`). */
export const MAX_UPSTREAMS = 3;
/** systemd-resolved's stub listener, and the file with the servers it really uses. */
export const SYSTEMD_STUB = '127.0.0.53';
export const SYSTEMD_RESOLV_CONF = '/run/systemd/resolve/resolv.conf';

/** The directive's words, with a trailing `# ...` or `; ...` comment cut off (the sandbox renderer edits the host's lines with it too). */
export function fieldsOf(line: string): string[] {
  const fields = line.trim().split(/\s+/).filter((f) => f !== '');
  const comment = fields.findIndex((f) => f.startsWith('#') || f.startsWith(';'));
  return comment < 0 ? fields : fields.slice(0, comment);
}

/** Parses resolv.conf text as glibc reads it. */
export function parseResolvConf(text: string): ResolvConf {
  const rc: ResolvConf = { nameservers: [], search: [], options: [], other: [], text };
  for (const line of text.split('\n')) {
    const fields = fieldsOf(line);
    const [keyword, ...args] = fields;
    // Blank lines and comments (`#` or `;` in the first column, resolv.conf(5)).
    if (keyword === undefined) continue;
    switch (keyword) {
      case 'nameserver': {
        const addr = args[0];
        if (addr !== undefined && isIP(addr) !== 0) rc.nameservers.push(addr);
        break;
      }
      case 'domain': // the obsolete spelling of a one-entry search list
      case 'search':
        if (args.length > 0) rc.search = args;
        break;
      case 'options':
        rc.options.push(...args);
        break;
      default:
        rc.other.push(line.trim());
    }
  }
  return rc;
}

/**
 * The host lists only systemd-resolved's stub (127.0.0.53): the caller should read
 * /run/systemd/resolve/resolv.conf instead, whose servers are reachable from a sandbox
 * (libnetwork `resolvconf.Path`).
 */
export function isSystemdStub(parsed: ResolvConf): boolean {
  return parsed.nameservers.length === 1 && parsed.nameservers[0] === SYSTEMD_STUB;
}

/**
 * The host's nameservers the embedded DNS server can forward to from the sandbox: the
 * non-loopback ones, at most 3. (Docker dials loopback ones from the host netns; nsnet leaves
 * that to the caller, which should resolve the systemd stub with `isSystemdStub` first.)
 */
export function hostUpstreams(parsed: ResolvConf): string[] {
  return parsed.nameservers.filter((ns) => !isLoopback(ns)).slice(0, MAX_UPSTREAMS);
}
