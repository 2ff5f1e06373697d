// nsnet's library API for container-runtime authors.
//
// The kernel layer: one module per kernel object, each verb documented with
// its `ip`/`nft` equivalent. Every verb takes the namespace it acts in
// explicitly (a Netns handle): there is no ambient "current namespace".
//
//   import { netnsAdd, bridgeAdd, vethAdd, addrAdd, routeAdd, linkSet } from 'nsnet';
export { KernelError, attempt, invalid, isExists, isNotFound } from './kernel/errors.js';
export { Netns, NETNS_RUN_DIR, checkNetnsName, netnsAdd, netnsDel, netnsList, netnsOpen, netnsSelf } from './kernel/netns.js';
export { checkIfName, linkDel, linkGet, linkList, linkSet, type Link, type LinkChanges, type LinkRef } from './kernel/link.js';
export { vethAdd, type Veth, type VethOptions } from './kernel/veth.js';
export { bridgeAdd, bridgeEnsure, bridgePorts, type BridgeOptions } from './kernel/bridge.js';
export { addrAdd, addrDel, addrList, type Addr } from './kernel/addr.js';
export { routeAdd, routeDel, routeList, type Route, type RouteSpec } from './kernel/route.js';
export { sysctlGet, sysctlSet } from './kernel/sysctl.js';
export { nftApply, nftList, nftTableGet, type NftFamily, type NftTable } from './kernel/nftables.js';
export { nftMonitor, type NftEvent, type NftMonitor } from './kernel/nft-monitor.js';
export { socketBind } from './kernel/socket.js';
export { overlayMtu, vxlanAdd, vxlanName, VXLAN_PORT, type VxlanOptions } from './kernel/vxlan.js';
export { fdbAdd, fdbDel, fdbList, type FdbEntry, type FdbRecord } from './kernel/fdb.js';
export { neighDel, neighList, neighReplace, type NeighEntry, type NeighRecord } from './kernel/neigh.js';
export { tryLock, withLock } from './state/lock.js';
export { formatPrefix, parsePrefix, type Prefix } from './net/ip.js';

// The Docker layer: networks and sandboxes, as `nsnet` the CLI uses them.
//
//   const ctx = await openContext();
//   await networkCreate(ctx, { name: 'mynet' });
//   const sb = await sandboxCreate(ctx, { name: 'web', network: 'mynet', publish: ['8080:80'] });
//   // hand /run/netns/web to your runtime, or: await sandboxRun(ctx, {...}, ['cmd'])
export { openContext, type Context } from './docker/context.js';
export { NsnetError, type ErrorKind } from './docker/errors.js';
export { networkCreate, networkInspect, networkList, networkPrune, networkRemove } from './docker/networks.js';
export { sandboxCreate, type SandboxCreateRequest } from './docker/sandboxes.js';
export { sandboxConnect, sandboxDisconnect } from './docker/connect.js';
export { exitFile, liveRecord, logFile, sandboxExec, sandboxRemove, sandboxRun, sandboxStart, UNKNOWN_EXIT, type ExitStatus } from './docker/process.js';
export {
  parseSignal, sandboxKill, sandboxLogs, sandboxRestart, sandboxStartCommand, sandboxStop, sandboxWait, STOP_TIMEOUT,
  type LogsOptions, type Signal,
} from './docker/lifecycle.js';
export { inProcessDns, type InProcessDns } from './dns/in-process.js';
export { composeDown, composePs, composeUp } from './compose/compose.js';
export { loadProject, type ComposeProject } from './compose/model.js';
export type { EndpointRecord, NetworkRecord, SandboxRecord } from './docker/types.js';
