// The cluster store's API driven from a simulated host, as the overlay driver
// will drive it: one process per call, so concurrency is between processes
// (and hosts), as with real `nsnet run`s. Uses the compiled dist/ (the test's
// global set-up builds it).
//
//   node cluster-client.mjs URL create NAME [SUBNET]        prints the network record
//   node cluster-client.mjs URL show NAME                   prints it (exit 3: none)
//   node cluster-client.mjs URL claim NAME HOST [SANDBOX]   prints the address claimed
//   node cluster-client.mjs URL publish NAME HOSTID HOSTADDR TTL N
//        joins with a lease of TTL s, publishes N endpoints on it, prints "ready", renews until killed
//   node cluster-client.mjs URL watch NAME                  prints {"snapshot":[ids]}, {"put":id}, {"delete":id} lines
import { ClusterStore } from '../../dist/state/cluster/cluster-store.js';

const [url, op, ...a] = process.argv.slice(2);
const store = new ClusterStore(url);
const out = (v) => process.stdout.write(`${typeof v === 'string' ? v : JSON.stringify(v)}\n`);

async function network(name) {
  const net = await store.findNetwork(name);
  if (!net) {
    process.stderr.write(`no overlay network ${name}\n`);
    process.exit(3);
  }
  return net;
}

try {
  switch (op) {
    case 'create':
      out(await store.createNetwork({ name: a[0], ...(a[1] && { subnet: a[1] }) }));
      break;
    case 'show':
      out(await network(a[0]));
      break;
    case 'claim':
      out(await store.claimAddress(await network(a[0]), { host: a[1], ...(a[2] && { sandbox: a[2] }) }));
      break;
    case 'publish': {
      const [name, id, address, ttl, n] = a;
      const net = await network(name);
      const host = await store.join({ id, address }, Number(ttl));
      for (let i = 0; i < Number(n); i++) {
        const ip = await store.claimAddress(net, { host: id, sandbox: `${id}-s${i}`, lease: host.lease });
        await store.putEndpoint({ network: net.id, sandbox: `${id}-s${i}`, name: `${id}-s${i}`, aliases: [], ip, mac: '02:42:00:00:00:01', host: id, hostAddress: address }, host.lease);
      }
      out('ready');
      store.keep(host, Number(ttl), { onExpired: () => out('expired') });
      await new Promise(() => {});
      break;
    }
    case 'watch': {
      const net = await network(a[0]);
      await store.watchEndpoints(net.id, {
        onSnapshot: (eps) => out({ snapshot: eps.map((e) => e.sandbox) }),
        onPut: (e) => out({ put: e.sandbox }),
        onDelete: (id) => out({ delete: id }),
        onError: (e) => process.stderr.write(`watch: ${e.message}\n`),
      });
      await new Promise(() => {});
      break;
    }
    default:
      throw new Error(`unknown op ${op}`);
  }
  store.close();
} catch (e) {
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
}
