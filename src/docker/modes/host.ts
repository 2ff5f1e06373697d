// --network host: no namespace of its own. The sandbox's processes see the
// host's interfaces, routes and ports; nothing is made, so nothing is undone.
//
//   ip netns identify $PID      (empty: the host's namespace)
import os from 'node:os';
import { invalidArg } from '../errors.js';
import { nonEmpty, type Mode } from './mode.js';

export const hostMode: Mode = {
  async plan(ctx, _s, req, sb) {
    sb.mode = 'host';
    sb.networkMode = 'host';
    sb.hostname = req.hostname ?? os.hostname();
    if (nonEmpty(req.publish) || req.publishAll) ctx.warn('WARNING: Published ports are discarded when using host network mode');
    if (nonEmpty(req.aliases)) throw invalidArg('network-scoped alias is supported only for containers in user defined networks');
  },
  steps: () => [],
};
