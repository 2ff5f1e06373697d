import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    // A fresh process per test file: a leaked setns or mount can't spread
    // to other files (docs/testing.md).
    pool: 'forks',
    // Kernel tests take 1-12 s on a quiet 2-vCPU VM; twice that under load
    // (test files run in parallel). The limit is for hangs, not for speed.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
