// What the client does when the failure detector sees a node marked down answer again.
import type { Cluster } from './cluster.js';
import { fenceIfPending } from './hints.js';
import type { NodeClient } from './node-client.js';
import { restoreReturned } from './restore.js';

/**
 * A node is up again: fence it if it missed a write no replica took a hint for (before anything
 * else reads it), then restore its keys from the other replicas if no other client claimed that.
 */
export function nodeReturned(cluster: Cluster, node: NodeClient): void {
  cluster.track(fenceIfPending(cluster, node).then(() => restoreReturned(cluster, node)));
}
