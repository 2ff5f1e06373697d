// What a damaged sandbox record still says: its id, its process, its
// endpoints (network, addresses, host veth). Read from the raw text with
// patterns, so a file cut short still gives what came before the cut (the
// record's fields are written id first, endpoints before ports). Pure.

export interface Salvaged {
  id?: string;
  pid?: number;
  pidStart?: string;
  networkMode?: string;
  endpoints: { networkId: string; ip?: string; prefixlen?: number; gateway?: string; hostVeth?: string; ip6?: string }[];
}

const IPV4 = '(?:\\d{1,3}\\.){3}\\d{1,3}';
// Loose on purpose (hex digits and colons): net/ip6.ts parses what is found, and drops it if it is not an address.
const IPV6 = '[0-9a-fA-F:]{2,39}';

export function salvageRecord(text: string): Salvaged {
  const out: Salvaged = { endpoints: [] };
  const id = /[{,]\s*"id"\s*:\s*"([0-9a-f]{64})"/.exec(text);
  if (id) out.id = id[1]!;
  const pid = /"pid"\s*:\s*(\d+)/.exec(text);
  const start = /"pidStart"\s*:\s*"(\d+)"/.exec(text);
  if (pid && start) {
    out.pid = Number(pid[1]);
    out.pidStart = start[1]!;
  }
  const mode = /"networkMode"\s*:\s*"([^"\\]{1,200})"/.exec(text);
  if (mode) out.networkMode = mode[1]!;
  // Each endpoint object starts with its networkId; its other fields follow, up to the next one.
  const starts = [...text.matchAll(/"networkId"\s*:\s*"([0-9a-f]{64})"/g)];
  for (const [i, m] of starts.entries()) {
    const part = text.slice(m.index!, starts[i + 1]?.index ?? text.length);
    const field = (re: RegExp) => re.exec(part)?.[1];
    const e: Salvaged['endpoints'][number] = { networkId: m[1]! };
    const ip = field(new RegExp(`"ip"\\s*:\\s*"(${IPV4})"`));
    const prefixlen = field(/"prefixlen"\s*:\s*(\d{1,2})/);
    const gateway = field(new RegExp(`"gateway"\\s*:\\s*"(${IPV4})"`));
    const hostVeth = field(/"hostVeth"\s*:\s*"(veth[0-9a-f]{7})"/);
    const ip6 = field(new RegExp(`"ip6"\\s*:\\s*"(${IPV6})"`));
    if (ip) e.ip = ip;
    if (prefixlen) e.prefixlen = Number(prefixlen);
    if (gateway) e.gateway = gateway;
    if (hostVeth) e.hostVeth = hostVeth;
    if (ip6) e.ip6 = ip6;
    out.endpoints.push(e);
  }
  return out;
}
