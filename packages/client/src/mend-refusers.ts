// A read-modify-write (incr, touch) that one replica did and another answered "not here": that one
// lacks the key, or holds a copy it cannot vouch for (restored from a snapshot, fenced) and would
// not count on or re-stamp. It gets the result before the call answers.
import type { Cluster } from './cluster.js';
import type { NodeClient } from './node-client.js';
import { copyTo, hitOf } from './verify.js';
import type { BatchResult } from './wire.js';
import type { WriteOutcome } from './write.js';

/**
 * Copies the entry as `done` holds it now to each replica of `outcome` that answered 404, and
 * waits for the copies. Left to the hint `done` holds, the copy would land after the call had
 * answered, and meanwhile a copy of the key's previous value — a restore that read a replica
 * before this write — would be applied there (it is newer than the unverified copy) and vouched
 * for: the next read would get the value from before the write the caller was told was done. The
 * entry `done` wrote is stamped above what it held before, so such a copy arriving later loses.
 * A failure leaves the hint to mend the replica, as before; it is reported, not thrown.
 */
export async function copyToRefusers(
  cluster: Cluster,
  key: string,
  done: NodeClient,
  outcome: WriteOutcome,
  queued: boolean,
): Promise<void> {
  const refusers: NodeClient[] = [];
  for (const { node, result } of outcome.results) {
    if (result[0] === 404 && node !== done && cluster.isMember(node)) refusers.push(node);
  }
  if (refusers.length === 0) return;
  let read: BatchResult;
  try {
    read = await done.run(['get', cluster.storedKey(key)], queued);
  } catch {
    return; // The failure detector has it; the hint mends the refusers.
  }
  // Deleted or fenced since: nothing it can vouch for to hand on.
  const hit = read[0] === 200 ? hitOf(cluster, read, done) : undefined;
  if (hit === undefined || hit.unverified) return;
  await Promise.all(refusers.map((node) => copyTo(cluster, key, hit, node, queued)));
}
