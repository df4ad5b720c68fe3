import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'core',
    // CI runs every package's suite at once on 2 cores: CPU-heavy property tests need headroom.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
  },
});
