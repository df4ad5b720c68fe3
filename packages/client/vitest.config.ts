import { fileURLToPath } from 'node:url';
import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'client',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Integration tests run real nodes on a 2-core machine shared with other builds: allow for load.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
  resolve: {
    alias: {
      // TEMPORARY while @dcache/server is unbuilt: run its source.
      '@dcache/server': fileURLToPath(new URL('../server/src/index.ts', import.meta.url)),
    },
  },
});
