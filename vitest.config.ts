// Test runner settings: every *.test.ts under test/, at most two worker
// processes (the CI machines have two cores and each test spawns processes),
// no watch mode, and timeouts sized for spawning sandboxed programs.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
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
