import { defineConfig } from 'vitest/config';

// One `vitest run` at the root runs every package's tests (see each package's vitest.config.ts).
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'deploy'],
  },
});
