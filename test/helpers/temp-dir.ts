// A directory under the machine's /tmp for one test, removed when the test
// ends (the test sandbox has a mount namespace of its own, but /tmp is the
// machine's: what a test leaves there outlives it).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { onTestFinished } from 'vitest';

export function testDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
