import { availableParallelism } from 'node:os';
import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'client',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Integration tests run real nodes on a 2-core machine shared with other builds: allow for load.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // At least two files at once, also on 2 cores (vitest's default there is one): most of a file's
    // time is spent waiting on its nodes and timers, not in the worker. Files do not share nodes:
    // each starts its own on ephemeral ports, and a partition's iptables rules name a node's
    // address and port, so a rule never touches another file's node on the same address.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
