// A read-modify-write (incr, touch) that one replica did and another answered "not here": that one
// lacks the key, or holds a copy it cannot vouch for (restored from a snapshot, fenced) and would
// not count on or re-stamp. It gets the result before the call answers.
import type { Cluster } from './cluster.js';
import type { NodeClient } from './node-client.js';
import { copyTo, getPastFullAnswers, hitOf } from './verify.js';
import type { BatchResult } from './wire.js';
import type { WriteOutcome } from './write.js';

/**
 * Copies the entry as `done` holds it now to each natural replica (of `natural`) among the
 * answers of `outcome` that answered 404, and waits for the copies. Left for later, the copy would
 * land after the call had answered, and meanwhile a copy of the key's previous value — a restore
 * that read a replica before this write — would be applied there (it is newer than the unverified
 * copy) and vouched for: the next read would get the value from before the write the caller was
 * told was done. The entry `done` wrote is stamped above what it held before, so such a copy
 * arriving later loses.
 *
 * Not to a stand-in: it keeps a copy only until the hint it holds is delivered, and one that
 * answered 404 holds no hint. Not to a natural replica this client has marked down: its answer to
 * the write sent it anyway is not in `outcome` (write.ts), so within the settle time after it
 * returns the gap stays open for it. When this fails (the read or a copy), the refuser stays as
 * it was: for incr the hint `done` holds mends it; a touched entry is mended when a read finds it
 * unverified and a peer holds the newer stamp (verify.ts).
 */
export async function copyToRefusers(
  cluster: Cluster,
  key: string,
  done: NodeClient,
  natural: readonly NodeClient[],
  outcome: WriteOutcome,
  queued: boolean,
): Promise<void> {
  const refused = (node: NodeClient): boolean =>
    outcome.results.some((answer) => answer.node === node && answer.result[0] === 404);
  if (!natural.some((node) => node !== done && refused(node))) return;
  let read: BatchResult;
  try {
    read = await getPastFullAnswers(done, ['get', cluster.storedKey(key)], queued, undefined);
  } catch {
    return; // The failure detector has it.
  }
  // Deleted or fenced since: nothing it can vouch for to hand on.
  const hit = read[0] === 200 ? hitOf(cluster, read, done) : undefined;
  if (hit === undefined || hit.unverified) return;
  // After the await: a node removed meanwhile gets nothing new.
  const refusers = natural.filter(
    (node) => node !== done && refused(node) && cluster.isMember(node),
  );
  await Promise.all(refusers.map((node) => copyTo(cluster, key, hit, node, queued)));
}
