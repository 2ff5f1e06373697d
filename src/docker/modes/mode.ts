// What a network mode (`--network bridge|NETWORK|host|none|container:NAME`)
// decides for a sandbox: how a create request is validated and what it claims
// in the state (plan), and the steps that make its kernel objects and files
// (steps) - the whole of what removing it undoes.
import type { Link } from '../../kernel/link.js';
import type { Context } from '../context.js';
import type { SandboxFiles } from '../files.js';
import type { SandboxNs } from '../namespace.js';
import type { Step } from '../plan.js';
import type { NetworkRecord, SandboxRecord, State } from '../types.js';

export interface SandboxCreateRequest {
  name?: string;
  /** "bridge" (default), a network name or id, "host", "none" or "container:NAME". */
  network?: string;
  ip?: string;
  /** --ip6: a static IPv6 address on a dual-stack network. */
  ip6?: string;
  mac?: string;
  hostname?: string;
  aliases?: string[];
  links?: string[];
  publish?: string[];
  /** -P: every --expose port gets an ephemeral host port. */
  publishAll?: boolean;
  expose?: string[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  addHosts?: string[];
  /** "container:NAME" or "host" */
  pid?: string;
  command?: string[];
  labels?: Record<string, string>;
  /**
   * A CNI attachment: the runtime's namespace (a path nsnet neither makes
   * nor deletes; bridge mode only) and its container id and interface name
   * (the endpoint's name inside). No /etc/netns files are written for it.
   */
  cni?: { netnsPath: string; netnsInode: number; containerId: string; ifname: string; noDefaultRoute?: boolean };
}

/** What a plan's steps work on. */
export interface SandboxEnv {
  /** The networks the sandbox's endpoints are on. */
  networks: NetworkRecord[];
  /** The sandbox's namespace (when it has one of its own). */
  ns?: SandboxNs | undefined;
  /** Its files as they are to be written; absent for a removal. */
  files?: SandboxFiles | undefined;
  /** Bridges already looked up, by network id. */
  bridges?: Map<string, Link> | undefined;
  /**
   * Overlay networks whose bridge and vxlan device this plan's undo removes:
   * the sandbox is their last on this host (rm, decided under the state lock).
   * Absent: those objects stay (a create's rollback: releaseOverlayClaims).
   */
  overlayLast?: Set<string>;
  /** The DNS server's undo reports whether it heard (rm's final sync needs to know). */
  dnsReleased?: (ids: string[], heard: Promise<boolean>) => void;
}

export interface Mode {
  /** Validates the request against the state, claims what the sandbox needs and fills in `sb`. */
  plan(ctx: Context, s: State, req: SandboxCreateRequest, sb: SandboxRecord, net?: NetworkRecord): Promise<void>;
  /** The steps that make the sandbox's kernel objects and files, each with its undo. */
  steps(ctx: Context, sb: SandboxRecord, env: SandboxEnv): Step[];
}

/** Is the list given and not empty? (a flag used at least once) */
export const nonEmpty = (a: string[] | undefined): boolean => !!a && a.length > 0;
