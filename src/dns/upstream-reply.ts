// Which replies from upstream servers the forwarder (forward.ts) takes, as RFC
// 5452 asks of a stub resolver: only from the address and port the query went
// to, with its id (from a cryptographic random source) and its question.
//
// Pure, but for randomId's buffer of random bytes.
import { randomFillSync } from 'node:crypto';
import { HEADER } from './message.js';

/** One query as it went out. */
export interface Sent {
  id: number;
  /** The question as sent, in wire form: QNAME, QTYPE, QCLASS. */
  question: Buffer;
  /** Where it went. */
  address: string;
  port: number;
}

/** Why a reply was dropped. */
export const DROP_REASONS = ['source-address', 'source-port', 'malformed', 'not-response', 'id', 'qdcount', 'name', 'type', 'class'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** ASCII letters folded to lower case (RFC 4343); length bytes (<= 63) are never letters. */
const fold = (c: number) => (c >= 0x41 && c <= 0x5a ? c | 0x20 : c);

/**
 * Whether `reply`, received from `from`, answers `sent`. Pure; never throws.
 * Checked in the order a forger gets them wrong: source, shape, QR, id, question.
 */
export function acceptReply(sent: Sent, from: { address: string; port: number }, reply: Buffer): 'ok' | DropReason {
  if (from.address.toLowerCase() !== sent.address.toLowerCase()) return 'source-address';
  if (from.port !== sent.port) return 'source-port';
  if (reply.length < HEADER) return 'malformed';
  if (!(reply[2]! & 0x80)) return 'not-response';
  if (((reply[0]! << 8) | reply[1]!) !== sent.id) return 'id';
  if (reply[4] !== 0 || reply[5] !== 1) return 'qdcount';
  const q = sent.question;
  if (reply.length < HEADER + q.length) return 'malformed';
  // Byte by byte over the sent name: equal after folding means the same labels (a length byte
  // can't fold to or from a letter), and its final 0 ends both names at the same place.
  const nameEnd = q.length - 4;
  for (let i = 0; i < nameEnd; i++) if (fold(reply[HEADER + i]!) !== fold(q[i]!)) return 'name';
  if (reply[HEADER + nameEnd] !== q[nameEnd] || reply[HEADER + nameEnd + 1] !== q[nameEnd + 1]) return 'type';
  if (reply[HEADER + nameEnd + 2] !== q[nameEnd + 2] || reply[HEADER + nameEnd + 3] !== q[nameEnd + 3]) return 'class';
  return 'ok';
}

// Query ids: 2 bytes each from a buffer refilled by the kernel's CSPRNG (one getrandom per 1024 ids).
const ids = Buffer.allocUnsafe(2048);
let idAt = ids.length;

/** A query id from a cryptographic random source. */
export function randomId(): number {
  if (idAt >= ids.length) {
    randomFillSync(ids);
    idAt = 0;
  }
  const id = (ids[idAt]! << 8) | ids[idAt + 1]!;
  idAt += 2;
  return id;
}
