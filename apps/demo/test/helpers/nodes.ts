import { Cluster } from '../../src/cluster.js';
import type { ClusterOptions } from '../../src/cluster.js';

/**
 * Starts `count` real `dcache-server` processes (the built CLI of @dcache/server) on ephemeral
 * loopback ports. The caller stops them; the Cluster's exit handler SIGKILLs them if a test crashes.
 */
export async function startNodes(
  count: number,
  options: Omit<ClusterOptions, 'ports'> = {},
): Promise<Cluster> {
  const cluster = new Cluster({
    ports: Array.from({ length: count }, () => 0),
    ...options,
    args: ['--log-level', 'warn', ...(options.args ?? [])],
  });
  await cluster.start();
  return cluster;
}
