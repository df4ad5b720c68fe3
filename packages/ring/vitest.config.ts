import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'ring',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
  },
});
