import { defineConfig } from 'vitest/config';

// No `module` condition: the testkit's AWS fakes import the AWS SDK, whose `module` entry (dist-es)
// is not loadable by Node's ESM resolver.
export default defineConfig({
  resolve: { conditions: ['source', 'node', 'import', 'default'] },
  ssr: { resolve: { conditions: ['source', 'node', 'import', 'default'] } },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
