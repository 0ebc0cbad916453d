// Test runner settings: every *.test.ts under test/, at most two worker
// processes (the CI machines have two cores and each test spawns processes),
// no watch mode, timeouts sized for spawning sandboxed programs, and
// test/setup.ts in every worker.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    watch: false,
    pool: 'forks',
    poolOptions: { forks: { minForks: 1, maxForks: 2 } },
    fileParallelism: true,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 10_000,
    reporters: ['default'],
  },
});
