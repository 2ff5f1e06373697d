// Which cluster store nsnet uses, if any: `--cluster-store URL`, else
// NSNET_CLUSTER_STORE, else "cluster-store" in the config file (daemon.json,
// src/docker/daemon-config.ts: /etc/nsnet/daemon.json, DIR/daemon.json with
// --root DIR, or the file NSNET_CONFIG names) - the key Docker's daemon.json
// had for the same thing. None of them: no store, and nothing of the cluster
// store's code is loaded.
import { readFileSync } from 'node:fs';
import { daemonConfigPath, parseDaemonConfig } from '../docker/daemon-config.js';

export interface ClusterStoreSetting {
  url: string;
  /** Where it came from, for messages: "--cluster-store", "NSNET_CLUSTER_STORE", or the config file's path. */
  from: string;
}

/**
 * The setting from the three sources in order (pure: the config file's text
 * is passed in, undefined when there is no file). A config file that is not
 * a JSON object, or whose cluster-store is not a string, is an error naming it.
 */
export function chooseClusterStore(o: { flag?: string; env?: string; configPath: string; configText?: string }): ClusterStoreSetting | undefined {
  if (o.flag) return { url: o.flag, from: '--cluster-store' };
  if (o.env) return { url: o.env, from: 'NSNET_CLUSTER_STORE' };
  if (o.configText === undefined) return undefined;
  const url = parseDaemonConfig(o.configText, o.configPath).clusterStore;
  return url ? { url, from: o.configPath } : undefined;
}

/** The cluster store setting for a CLI call (reads the config file only when neither the flag nor the variable is set). */
export function clusterStoreSetting(flag: string | undefined, env: NodeJS.ProcessEnv, root?: string): ClusterStoreSetting | undefined {
  const configPath = daemonConfigPath(env, root);
  let configText: string | undefined;
  if (!flag && !env.NSNET_CLUSTER_STORE) {
    try {
      configText = readFileSync(configPath, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`config file ${configPath}: ${(e as Error).message}`);
    }
  }
  return chooseClusterStore({ ...(flag && { flag }), ...(env.NSNET_CLUSTER_STORE && { env: env.NSNET_CLUSTER_STORE }), configPath, ...(configText !== undefined && { configText }) });
}
