import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'demo',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // The walkthrough alone takes 30–40 s here (its scale section waits for transition windows).
    testTimeout: 100_000,
    hookTimeout: 60_000,
    // Every file starts real server processes (and one a browser); on a 2-core machine running them
    // one at a time keeps timings honest and the whole suite well within its budget.
    fileParallelism: false,
  },
});
