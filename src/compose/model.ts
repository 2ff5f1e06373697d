// A compose file, read as Compose reads its network part: the project, its
// networks and its services, validated and normalised, with every error
// naming the key that is wrong ("services.web.ports[1]: ...").
//
//   name: shop                    # or -p, COMPOSE_PROJECT_NAME, the directory's name
//   services:
//     web:                        # a sandbox named shop_web_1
//       command: python3 -m http.server 80
//       ports: ["8080:80"]
//       networks:
//         front: { aliases: [www] }
//         back:
//     db:
//       network_mode: service:web # or host, none, container:NAME
//   networks:
//     front:                      # a bridge network named shop_front
//     back: { internal: true }
//
// What Compose does and nsnet copies: services without `networks:` join
// `<project>_default`; the service name is an alias on each of its networks;
// `links`, `depends_on`, `network_mode: service:X` and `pid: service:X` order
// the services; networks are `<project>_<key>` unless `name:` or `external:`
// says otherwise. Keys with no network meaning (image, volumes, restart, ...)
// are accepted and ignored; unknown keys are ignored with a warning.
//
// Pure: the caller parses YAML and reads files (env_file) through `readFile`.
//
// The parts: types.ts (what the file becomes), read-values.ts (value readers
// and ComposeError), networks.ts and services.ts (one entry of each),
// shell-words.ts (command strings); this file reads the whole project.
import { interpolateTree } from './interpolate.js';
import { readNetwork } from './networks.js';
import { ComposeError, isMap, mapping, optScalar, stringList, warnUnknownKeys } from './read-values.js';
import { readService } from './services.js';
import type { ComposeNetwork, ComposeProject, ComposeService, LoadOptions } from './types.js';

export { ComposeError } from './read-values.js';
export { shellWords } from './shell-words.js';
export type { ComposeNetwork, ComposeProject, ComposeService, LoadOptions, ServiceNetwork } from './types.js';

const TOP_KEYS = new Set(['version', 'name', 'services', 'networks', 'volumes', 'secrets', 'configs', 'include', 'models']);

// ---- project name ----------------------------------------------------------

const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** A directory name made into a project name, as Compose does: lower case, only [a-z0-9_-]. */
export function normalizeProjectName(dirName: string): string {
  return dirName.toLowerCase().replace(/[^a-z0-9_-]/g, '').replace(/^[_-]+/, '');
}

function checkProjectName(name: string, from: string): string {
  if (!PROJECT_NAME.test(name)) {
    throw new ComposeError(`${from}: invalid project name "${name}": must contain only lowercase letters, digits, dashes and underscores, and start with a letter or digit`);
  }
  return name;
}

// ---- the project -----------------------------------------------------------

/** Services in an order where each comes after what it depends on; names the cycle if there is one. */
function startOrder(services: ComposeService[]): ComposeService[] {
  const byName = new Map(services.map((s) => [s.name, s]));
  const out: ComposeService[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (s: ComposeService, trail: string[]) => {
    if (state.get(s.name) === 'done') return;
    if (state.get(s.name) === 'visiting') throw new ComposeError(`dependency cycle detected: ${[...trail, s.name].join(' -> ')}`);
    state.set(s.name, 'visiting');
    for (const d of s.dependsOn) visit(byName.get(d)!, [...trail, s.name]);
    state.set(s.name, 'done');
    out.push(s);
  };
  for (const s of services) visit(s, []);
  return out;
}

/** Reads a compose document (already parsed from YAML) into a project. */
export function loadProject(doc: unknown, o: LoadOptions): ComposeProject {
  if (!isMap(doc)) throw new ComposeError('the compose file must be a mapping at the top level');
  warnUnknownKeys(doc, TOP_KEYS, '', o.warn);
  const tree = interpolateTree(doc, o.env, '', o.warn) as Record<string, unknown>;
  if (tree.include !== undefined) o.warn('include: not supported by nsnet, ignored');

  const fromFile = optScalar(tree.name, 'name');
  const project = o.projectName !== undefined ? checkProjectName(o.projectName, 'project name')
    : fromFile !== undefined ? checkProjectName(fromFile, 'name')
    : normalizeProjectName(o.projectDir.split('/').filter(Boolean).pop() ?? '');
  if (!project) throw new ComposeError(`cannot derive a project name from the directory "${o.projectDir}": use -p NAME`);

  const rawServices = mapping(tree.services, 'services');
  if (Object.keys(rawServices).length === 0) throw new ComposeError('no service defined in "services"');
  const rawNetworks = mapping(tree.networks, 'networks');
  const networks = new Map<string, ComposeNetwork>();
  for (const [key, raw] of Object.entries(rawNetworks)) networks.set(key, readNetwork(project, key, raw, o.warn));
  if (!networks.has('default')) networks.set('default', { key: 'default', name: `${project}_default`, driver: 'bridge', external: false, internal: false, options: {}, labels: {} });

  // Services with `profiles:` start only when one of their profiles is enabled (COMPOSE_PROFILES).
  const enabled = new Set((o.env.COMPOSE_PROFILES ?? '').split(',').map((p) => p.trim()).filter(Boolean));
  const all: ComposeService[] = [];
  for (const [name, raw] of Object.entries(rawServices)) {
    if (!/^[a-zA-Z0-9._-]+$/.test(name)) throw new ComposeError(`services.${name}: invalid service name: only [a-zA-Z0-9._-] are allowed`);
    const profiles = isMap(raw) ? stringList(raw.profiles, `services.${name}.profiles`) : [];
    if (profiles.length && !profiles.some((p) => enabled.has(p) || enabled.has('*'))) continue;
    all.push(readService(project, name, raw, o));
  }

  const names = new Set(all.map((s) => s.name));
  const containers = new Map<string, string>();
  for (const s of all) {
    const path = `services.${s.name}`;
    for (const n of s.networks) {
      if (!networks.has(n.key)) throw new ComposeError(`service "${s.name}" refers to undefined network ${n.key}: invalid compose project`);
      const net = networks.get(n.key)!;
      // An external network's IPv6 is nsnet's to tell, at up.
      if (n.ipv6Address && !net.external && !net.enableIPv6) {
        throw new ComposeError(`${path}.networks.${n.key}.ipv6_address: network ${n.key} has no IPv6 (set enable_ipv6: true on it)`);
      }
    }
    for (const d of s.dependsOn) {
      if (!names.has(d)) throw new ComposeError(`${path}: depends on undefined service "${d}"`);
    }
    const other = containers.get(s.containerName);
    if (other) throw new ComposeError(`${path}.container_name: "${s.containerName}" is already used by service "${other}"`);
    containers.set(s.containerName, s.name);
  }
  const used = new Set(all.flatMap((s) => s.networks.map((n) => n.key)));
  return { name: project, networks: [...networks.values()].filter((n) => used.has(n.key)), services: startOrder(all) };
}
