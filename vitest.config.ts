import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    // A fresh process per test file: a leaked setns or mount can't spread
    // to other files (docs/testing.md).
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
