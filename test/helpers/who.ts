// "Who am I talking to?": a tiny HTTP server that answers with the client's
// address, so a test sees what NAT did to its packets (masqueraded to the
// host's address, to the gateway, or untouched).
import { execa } from 'execa';

export const WHO = "require('http').createServer((q,s)=>s.end(q.socket.remoteAddress.replace('::ffff:',''))).listen(Number(process.argv[1]),process.argv[2])";

/** Starts WHO in a namespace (ip netns exec), on `address:port`; stop() ends it and waits. */
export function startWho(netns: string, address: string, port = 80): { stop(): Promise<void> } {
  const p = execa('ip', ['netns', 'exec', netns, 'node', '-e', WHO, String(port), address], { reject: false });
  return {
    async stop() {
      p.kill();
      await p;
    },
  };
}
