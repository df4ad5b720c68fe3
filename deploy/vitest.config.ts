import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'deploy',
    include: ['test/**/*.test.ts'],
    // The Dockerfile test runs a real `pnpm install` and build in a temp dir: minutes on a busy
    // 2-core CI machine, not seconds.
    testTimeout: 300_000,
    hookTimeout: 60_000,
  },
});
