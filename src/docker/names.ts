// Names and IDs of Docker objects, and the checks on names users give.
//
// Docker derives kernel names from random IDs so teardown can find what it
// made by name alone: a network ID is 64 random hex digits and its bridge is
// `br-` + the first 12 (lnw `drivers/bridge/bridge_linux.go`
// `parseNetworkOptions`); both ends of a new veth are `veth` + 7 random hex,
// 11 characters (`vethPrefix`, `vethLen`, `createVeth`), renamed to eth<N>
// once inside the container. A sandbox's netns is bind-mounted under the first
// 12 characters of its ID (lnw `osl/namespace_linux.go` `GenerateKey`).
//
// Pure apart from the random source.
import { closeSync, openSync, readSync } from 'node:fs';

/**
 * Random bytes from the kernel. Read from /dev/urandom rather than through
 * node:crypto, whose loading alone costs a CLI call several milliseconds.
 */
function randomBytes(n: number): Buffer {
  if (n > POOL_SIZE) return readUrandom(n);
  if (pool.length - used < n) {
    pool = readUrandom(POOL_SIZE);
    used = 0;
  }
  used += n;
  return Buffer.from(pool.subarray(used - n, used)); // a copy: callers never share bytes
}

/** Bytes are read ahead, a few sandboxes' worth at a time (each takes ~70: two ids and a veth name). */
const POOL_SIZE = 512;
let pool: Buffer = Buffer.alloc(0);
let used = 0;

function readUrandom(n: number): Buffer {
  const buf = Buffer.alloc(n);
  const fd = openSync('/dev/urandom', 'r');
  try {
    readSync(fd, buf, 0, n, null);
  } finally {
    closeSync(fd);
  }
  return buf;
}

const ID_HEX = 64;
const SHORT_ID = 12;
const VETH_HEX = 7;
const NAME_MAX = 64;

/** A fresh object ID: 64 random lower-case hex digits, as Docker's. */
export function newId(): string {
  return randomBytes(ID_HEX / 2).toString('hex');
}

/** The 12-character form Docker prints and names things by. */
export function shortId(id: string): string {
  return id.slice(0, SHORT_ID);
}

/** The hostname Docker gives a container that sets none: the first 12 characters of its ID. */
export function defaultHostname(sandboxId: string): string {
  if (sandboxId.length < SHORT_ID) throw new Error(`sandbox ID "${sandboxId}" is shorter than ${SHORT_ID} characters`);
  return shortId(sandboxId);
}

/** The bridge of a user-defined network: "br-" + the first 12 hex of its ID (15 chars, the kernel's maximum). */
export function bridgeNameFor(networkId: string): string {
  if (!/^[0-9a-f]{12}/.test(networkId)) throw new Error(`network ID "${networkId}" does not start with 12 hex digits`);
  return `br-${shortId(networkId)}`;
}

/**
 * A host veth name: "veth" + 7 lower-case hex. `random` supplies the hex (the
 * first 7 characters are used); the caller retries on EEXIST with a new one,
 * as Docker's `netutils.GenerateIfaceName` does.
 */
export function vethName(random: () => string = () => randomBytes(4).toString('hex')): string {
  const hex = random().slice(0, VETH_HEX);
  if (!/^[0-9a-f]{7}$/.test(hex)) throw new Error(`veth name needs ${VETH_HEX} lower-case hex digits, got "${hex}"`);
  return `veth${hex}`;
}

/** Network and sandbox names: Docker's `^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`, at most 64 characters. */
export function checkName(kind: 'network' | 'sandbox', name: string): void {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name)) {
    // The `+` makes one character too short; say so rather than blame the charset.
    const why = /^[a-zA-Z0-9]$/.test(name) ? 'at least 2 characters are needed' : 'only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed';
    throw new Error(`invalid ${kind} name ${JSON.stringify(name)}: ${why}`);
  }
  if (name.length > NAME_MAX) throw new Error(`invalid ${kind} name "${name}": at most ${NAME_MAX} characters are allowed`);
}
