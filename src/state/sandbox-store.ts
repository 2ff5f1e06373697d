// Runtime state kept so that no operation on one sandbox reads or writes a
// file that grows with the number of sandboxes:
//
//   <runDir>/sandboxes/<name>.json     one record per sandbox
//   <runDir>/ids/<id>                  the sandbox's name, for lookups by id
//   <runDir>/ipam/<network id>.bits    one bit per address of the network's subnet
//   <runDir>/ports/<proto>-<port>.json the bindings of one host port
//   <runDir>/creating/<name>           a create in progress: its process (pid, start time)
//   <runDir>/removing/<id>.json        a removal whose veth is deleted after it answered (removals.ts)
//
// Everything is read lazily and written only when the locked section that
// changed it succeeds (withState in store.ts), each file atomically.
//
// The records are the truth; the id index, the address bitmaps, the port
// claims and the creating index are indexes of them. Every file is checked
// as it is read (validate.ts, bitmap.ts): a damaged record is reported by
// path (DamagedStateError) and can still be removed by name; a damaged or
// missing bitmap or port claim is rebuilt from the records by the caller's
// rebuildFrom, which says so.
//
//   sandbox-records.ts  the records, the id index and the creating index
//   address-bits.ts     the address bitmaps
//   port-claims.ts      the port claims
//   small-files.ts      how each file is read and written
export { AddressBits, type RebuildAddresses } from './address-bits.js';
export { PortClaims, type PortClaim, type RebuildClaims } from './port-claims.js';
export { RecordFiles, recordHint, type Creator, type DamagedRecord } from './sandbox-records.js';
