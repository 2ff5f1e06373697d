// Which cluster store nsnet uses, if any: `--cluster-store URL`, else
// NSNET_CLUSTER_STORE, else "cluster-store" in the config file
// (/etc/nsnet/config.json, or the file NSNET_CONFIG names) - the key Docker's
// daemon.json had for the same thing. None of them: no store, and nothing of
// the cluster store's code is loaded.
import { readFileSync } from 'node:fs';

export const CONFIG_FILE = '/etc/nsnet/config.json';

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
  let config: unknown;
  try {
    config = JSON.parse(o.configText);
  } catch (e) {
    throw new Error(`config file ${o.configPath}: not valid JSON: ${(e as Error).message}`);
  }
  if (!config || typeof config !== 'object' || Array.isArray(config)) throw new Error(`config file ${o.configPath}: expected a JSON object`);
  const v = (config as Record<string, unknown>)['cluster-store'];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw new Error(`config file ${o.configPath}: "cluster-store" must be a string (etcd://HOST:2379[,HOST:2379...])`);
  return { url: v, from: o.configPath };
}

/** The cluster store setting for a CLI call (reads the config file only when neither the flag nor the variable is set). */
export function clusterStoreSetting(flag: string | undefined, env: NodeJS.ProcessEnv): ClusterStoreSetting | undefined {
  const configPath = env.NSNET_CONFIG || CONFIG_FILE;
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
