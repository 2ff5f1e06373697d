// --network container:NAME: the other sandbox's namespace - same interfaces,
// address, ports and files. Nothing is made: the sandbox is a record that the
// owner lists in joinedBy, and its processes are started in the owner's
// namespace.
//
//   ls -l /proc/$PID/ns/net     (the same inode as the owner's processes)
import { invalidArg } from '../errors.js';
import { findSandbox, netnsOwner } from '../lookup.js';
import { nonEmpty, type Mode } from './mode.js';

export const containerMode: Mode = {
  async plan(_ctx, s, req, sb) {
    // Docker refuses what would contradict the shared namespace.
    const refuse = (what: string) => invalidArg(`conflicting options: ${what} and the network mode`);
    if (nonEmpty(req.publish) || req.publishAll) throw invalidArg('conflicting options: port publishing and the container type network mode');
    if (req.hostname !== undefined) throw refuse('hostname');
    if (nonEmpty(req.dns) || nonEmpty(req.dnsSearch) || nonEmpty(req.dnsOptions)) throw refuse('dns');
    if (nonEmpty(req.aliases)) throw refuse('network-scoped alias');
    if (nonEmpty(req.links)) throw refuse('links');
    if (req.mac) throw refuse('mac-address');
    if (req.ip) throw refuse('ip');
    if (req.ip6) throw refuse('ip6');
    const target = await findSandbox(s, sb.networkMode.slice('container:'.length));
    const owner = await netnsOwner(s, target);
    if (!owner.netns) throw invalidArg(`cannot join the network namespace of ${target.name}: it has none of its own (${target.networkMode} mode)`);
    sb.mode = 'container';
    sb.containerOf = owner.id;
    sb.hostname = owner.hostname;
    s.sandboxes.put({ ...owner, joinedBy: [...(owner.joinedBy ?? []), sb.id] });
  },
  steps: () => [],
};
