import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'keyv',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Integration tests run real nodes on a 2-core machine shared with other builds: allow for load.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
