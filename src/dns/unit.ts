// The systemd unit for the DNS server (`nsnet dns --install-unit`). With it,
// systemd is the supervisor: it starts the server at boot and restarts it
// whenever it dies, and the server runs without nsnet's own supervisor
// (NSNET_DNS_MANAGER=systemd tells the CLI to leave restarts to systemd).
//
// systemd gives a service a bare environment (no nvm, no PATH of the user's
// shell), so ExecStart names the node binary and bin/nsnet.js by absolute
// path: those of the nsnet that wrote the unit, with the V8 flags the server
// runs with everywhere (control.ts SERVER_NODE_FLAGS).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DNS_LOCK_BUSY_STATUS, SERVER_NODE_FLAGS } from './control.js';

export const UNIT_NAME = 'nsnet-dns.service';
export const UNIT_DIR = '/etc/systemd/system';
/** Environment that decides where nsnet keeps its state: carried into the unit when set. */
export const UNIT_ENV = ['NSNET_DATA_DIR', 'NSNET_RUN_DIR', 'NSNET_ETC_NETNS', 'NSNET_RESOLV_CONF'] as const;

export interface UnitOptions {
  /** Absolute path of the node binary (process.execPath). */
  node: string;
  /** Absolute path of bin/nsnet.js. */
  bin: string;
  /** `--root` given to the installing command. */
  root?: string;
  env?: NodeJS.ProcessEnv;
}

/** systemd's quoting for one ExecStart word. */
function word(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `"${s.replace(/(["\\])/g, '\\$1')}"`;
}

/** The unit's text (pure). */
export function renderUnit(o: UnitOptions): string {
  const exec = [o.node, ...SERVER_NODE_FLAGS, o.bin, ...(o.root ? ['--root', o.root] : []), 'dns'].map(word).join(' ');
  const env = UNIT_ENV.filter((k) => o.env?.[k]).map((k) => `Environment=${word(`${k}=${o.env![k]}`)}\n`).join('');
  return `# nsnet's embedded DNS server (127.0.0.11 in every sandbox; docs/dns.md).
# Written by \`nsnet dns --install-unit\`, with the paths of the node and nsnet
# that wrote it (systemd gives services a bare environment). Then:
#   systemctl daemon-reload && systemctl enable --now nsnet-dns
# systemd restarts the server whenever it dies; it re-attaches to every sandbox.
# Without the unit, nsnet starts the server on demand under its own supervisor.
[Unit]
Description=nsnet embedded DNS server (127.0.0.11 in every sandbox)
After=network.target
# Never give up restarting (each restart waits RestartSec).
StartLimitIntervalSec=0

[Service]
Type=simple
Environment=NSNET_DNS_MANAGER=systemd
${env}ExecStart=${exec}
Restart=always
RestartSec=200ms
# ${DNS_LOCK_BUSY_STATUS}: another nsnet DNS server holds the lock; restarting would not help.
RestartPreventExitStatus=${DNS_LOCK_BUSY_STATUS}
LimitNOFILE=1048576

[Install]
WantedBy=multi-user.target
`;
}

/** Writes the unit into `unitDir` (atomically); returns its path. */
export async function installUnit(unitDir: string, o: UnitOptions): Promise<string> {
  const file = path.join(unitDir, UNIT_NAME);
  await fs.mkdir(unitDir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, renderUnit(o), { mode: 0o644 });
  await fs.rename(tmp, file);
  return file;
}
