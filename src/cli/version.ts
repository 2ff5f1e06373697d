// `nsnet version` and `nsnet --version`: the version in package.json.
import { readFileSync } from 'node:fs';
import type { Handler, Io } from './dispatch.js';

function packageVersion(): string {
  const pkg = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

export function printVersion(io: Io): number {
  io.out(`nsnet version ${packageVersion()}`);
  return 0;
}

export const version: Handler<'version'> = async (_cmd, io) => printVersion(io);
