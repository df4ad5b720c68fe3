// An add is decided by one replica, and that replica's "absent" proves little: one that restarted
// empty, holds the key unverified (a stall, a snapshot restore) or evicted it cannot tell a key
// nobody wrote from one it lost, while another replica still holds it and a read there finds it.
// So before the add, every live natural replica is asked for the key, as a read would find it;
// when one holds it, the add answers false without writing anything, and the replicas that lack
// the value get it back (never-stale.md §15).
import type { Cluster } from './cluster.js';
import type { Hit } from './read.js';
import type { CallTrace } from './telemetry-call.js';
import { askPeer, copyTo } from './verify.js';
import type { ReplicaSet } from './write-policy.js';

/** What one replica answered for the key: a value it vouches for, a tombstone, or nothing. */
type Found =
  | { readonly kind: 'value'; readonly hit: Hit }
  | { readonly kind: 'tombstone'; readonly stamp: number }
  | { readonly kind: 'none' };

const NONE: Found = { kind: 'none' };

/**
 * Whether a live natural replica of `key` holds a value that no newer tombstone on another one
 * buries — the value a read would serve. When one does, the replicas that answered without it get
 * a copy (newest wins) before this resolves, so the next add is decided where the value is.
 * A replica that fails or answers with an unverified entry counts as holding nothing: nothing
 * better is known of it, and the add then runs as it did without this check.
 */
export async function heldByAReplica(
  cluster: Cluster,
  key: string,
  target: ReplicaSet,
  queued: boolean,
  trace?: CallTrace,
  /** The newest tombstone known from elsewhere (a previous owner's, in a transition window). */
  deletedAt = 0,
): Promise<boolean> {
  const asked = cluster.members(target.live.filter((node) => target.natural.includes(node)));
  if (asked.length < 2) return false;
  const answers = await Promise.all(
    asked.map(async (node) => foundIn(await askPeer(cluster, key, node, queued, trace))),
  );
  let newest: Hit | undefined;
  let buriedAt = deletedAt;
  for (const found of answers) {
    if (found.kind === 'tombstone' && found.stamp > buriedAt) buriedAt = found.stamp;
    if (found.kind === 'value' && (newest === undefined || found.hit.stamp > newest.stamp)) {
      newest = found.hit;
    }
  }
  if (newest === undefined || newest.stamp <= buriedAt) return false;
  const held = newest;
  const lacking = asked.filter((node, i) => {
    const found = answers[i]!;
    return found.kind !== 'value' || found.hit.stamp < held.stamp;
  });
  if (lacking.length > 0) {
    // The replica that decides the add (the first that answers) lacked it: the add would have
    // stored over the value the others hold.
    if (lacking.includes(asked[0]!)) cluster.counters.addsHeldElsewhere++;
    await Promise.all(lacking.map((node) => copyTo(cluster, key, held, node, queued)));
  }
  return true;
}

/**
 * What a replica's answer shows: a failure counts as nothing (the failure detector has it), an
 * unverified entry too (it may be what the others replaced), and one expiring this instant.
 */
function foundIn({ answer, hit }: Awaited<ReturnType<typeof askPeer>>): Found {
  if (answer.kind === 'miss') {
    return answer.tombstone === undefined ? NONE : { kind: 'tombstone', stamp: answer.tombstone };
  }
  if (hit === undefined || hit.unverified || (hit.ttl !== null && hit.ttl <= 0)) return NONE;
  return { kind: 'value', hit };
}
