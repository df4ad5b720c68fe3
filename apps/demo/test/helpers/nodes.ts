import { Cluster } from '../../src/cluster.js';
import type { ClusterOptions } from '../../src/cluster.js';

/**
 * Starts `count` real `dcache-server` processes (the built CLI of @dcache/server) on ephemeral
 * loopback ports. The caller stops them; the Cluster's exit handler SIGKILLs them if a test crashes.
 *
 * Their stall detector is off unless `args` set `--stall-threshold`: a node starved of CPU past the
 * default 500 ms on a loaded CI box fences itself, and what it held then reads as a miss (the
 * demo's own nodes allow 3 s for the same reason, see src/demo.ts). No test here is about stalls.
 */
export async function startNodes(
  count: number,
  options: Omit<ClusterOptions, 'ports'> = {},
): Promise<Cluster> {
  const cluster = new Cluster({
    ports: Array.from({ length: count }, () => 0),
    ...options,
    args: [
      '--log-level',
      'warn',
      ...(options.args?.includes('--stall-threshold') ? [] : ['--stall-threshold', '0']),
      ...(options.args ?? []),
    ],
  });
  await cluster.start();
  return cluster;
}
