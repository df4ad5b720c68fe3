// What a read does with an unverified entry once a peer replica answered for the same key
// (docs/design/never-stale.md §5): decided by stamps alone, so it is a table.

/** A peer's answer to a get of the key, reduced to what the decision reads. */
export type PeerAnswer =
  | { readonly kind: 'hit'; readonly stamp: number; readonly unverified: boolean }
  | { readonly kind: 'miss'; readonly tombstone: number | undefined; readonly floor: number }
  | { readonly kind: 'failed' };

/**
 * - `ask-next`: this peer cannot vouch (it failed, or its copy is unverified too).
 * - `peer-newer`: serve the peer's value; copy it to the unverified node.
 * - `same`: serve the value; `verify` it on the unverified node.
 * - `own-newer`: serve the unverified value; `verify` it, and copy it to the peer.
 * - `deleted`: a miss; the peer's tombstone is at or above the stamp: `bury` it on the node.
 * - `doubtful`: a miss; the peer's absence proves nothing at this stamp (its floor is at or
 *   above it: an evicted tombstone, a flush, a restart, or older than the tombstone grace).
 */
export type Verdict = 'ask-next' | 'peer-newer' | 'same' | 'own-newer' | 'deleted' | 'doubtful';

/**
 * The verdict on an unverified entry stamped `stamp`, given one peer's answer. `natural`: the
 * peer is one of the key's natural replicas, which hold every write of it. Another node (one
 * further on the ring, a stand-in) can only refute the entry — a newer copy, a tombstone — never
 * vouch for it: its miss or older copy says nothing of writes the other replicas took.
 */
export function judgeUnverified(stamp: number, peer: PeerAnswer, natural = true): Verdict {
  const verdict = judge(stamp, peer);
  if (natural || verdict === 'peer-newer' || verdict === 'deleted') return verdict;
  return 'ask-next';
}

function judge(stamp: number, peer: PeerAnswer): Verdict {
  if (peer.kind === 'failed') return 'ask-next';
  if (peer.kind === 'hit') {
    if (peer.unverified) return 'ask-next';
    if (peer.stamp > stamp) return 'peer-newer';
    return peer.stamp === stamp ? 'same' : 'own-newer';
  }
  if (peer.tombstone !== undefined && peer.tombstone >= stamp) return 'deleted';
  if (stamp <= peer.floor) return 'doubtful';
  return 'own-newer';
}
