import { defineConfig } from 'vitest/config';

// Tests of the repository's own scripts (setup, runtime): they install pnpm from the npm registry
// into scratch prefixes, so they get generous timeouts.
export default defineConfig({
  // Vite's cache would make scripts/ look like a package to `pnpm exec`; keep it with the workspace's.
  cacheDir: '../node_modules/.vite/scripts',
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 60_000,
  },
});
