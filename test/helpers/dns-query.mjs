// One DNS question as bytes (type A, class IN, RD set), for the helper
// scripts run inside sandboxes (dns-fuzz.mjs, dns-load.mjs, dns-resolve.mjs).
export function query(qname, id) {
  const labels = qname.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const head = Buffer.alloc(12);
  head.writeUInt16BE(id, 0);
  head.writeUInt16BE(0x0100, 2);
  head.writeUInt16BE(1, 4);
  return Buffer.concat([head, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}
