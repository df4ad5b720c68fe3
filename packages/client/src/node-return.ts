// What the client does when a node comes back: seen up again by the failure detector, or taken
// (back) into its ring.
import type { Cluster } from './cluster.js';
import { fenceIfPending, fenceUntilAnswered, owesFence } from './hints.js';
import type { NodeClient } from './node-client.js';
import { restoreReturned } from './restore.js';

/**
 * A node is up again: fence it if it missed writes while it was down, then restore its keys from
 * the other replicas if no other client claimed that — or even if one did, once this fence went
 * out: it made unverified again what that restore vouched for, and the next node of a rolling
 * restart going down would leave those keys unverified on both replicas. Until the fence is
 * answered the node stays out of routing: a partitioned node does not know it missed anything, and
 * an `incr` or `touch` reaching it before its hints are replayed would stamp its stale value above
 * the write it missed.
 */
export function nodeReturned(cluster: Cluster, node: NodeClient): void {
  const owesFence = cluster.fenceOnReturn.has(node);
  const fenced = owesFence ? fenceUntilAnswered(cluster, node) : fenceIfPending(cluster, node);
  if (owesFence) node.holdOutUntil(fenced.then(() => undefined));
  runReturn(
    cluster,
    node,
    // Only the return that sent the fence restores anyway: another, seen meanwhile, waits for that
    // fence and claims as usual (its restore would run beside the first, at half its pace each).
    fenced.then((sent) => restoreReturned(cluster, node, sent ? 'restore anyway' : 'skip')),
  );
}

/**
 * A batch answer named a start of the node not seen before: it restarted, perhaps too fast for the
 * failure detector to see it down. Taken as a return — once the returns and joins of the node
 * under way have ended, if any is: a join times its fence after writes still landing, which a
 * fence sent now would come before, and a restore under way stops once its claim's renewal meets
 * the new start, which has a claim of its own to restore.
 */
export function nodeRestarted(cluster: Cluster, node: NodeClient): void {
  if ((returning.get(node) ?? 0) > 0) {
    restartedMeanwhile.add(node);
    return;
  }
  nodeReturned(cluster, node);
}

/** Returns (fence and restore) and joins under way, per node. */
const returning = new WeakMap<NodeClient, number>();
/** Nodes seen restarting while a return or join of theirs was under way: a return follows it. */
const restartedMeanwhile = new WeakSet<NodeClient>();

function runReturn(cluster: Cluster, node: NodeClient, work: Promise<void>): void {
  returning.set(node, (returning.get(node) ?? 0) + 1);
  cluster.track(
    work.finally(() => {
      const left = (returning.get(node) ?? 1) - 1;
      returning.set(node, left);
      if (left > 0 || !restartedMeanwhile.delete(node)) return;
      // A node down by now is returned to when the failure detector sees it up again.
      if (!cluster.closing && cluster.isMember(node) && node.up) nodeReturned(cluster, node);
    }),
  );
}

/**
 * A node joined this client's ring (after its first membership): fence it, then restore it. While
 * the node was out of this ring, this client's writes of the keys it owns went to other nodes only
 * and buried nothing on it once the transition window had closed; meanwhile a client whose ring
 * took it back sooner (DNS views differ by up to one discovery interval) may have restored it,
 * vouching for copies this client then overwrote elsewhere, and that restore is claimed once per
 * node start. The fence makes every entry it holds unverified again, so reads check them against a
 * peer that has the overwrite; it waits for the requests already on the wire to the other nodes
 * (writes made under the ring without it) to land first: a peer checked before one landed would
 * vouch for the copy it replaces. The restore then runs even when another client claimed it: it
 * copies the overwrites and vouches again for what stands, before the next node of a rolling
 * restart goes down (a key whose copies are both unverified reads as a miss until rewritten).
 */
export function nodeJoined(cluster: Cluster, node: NodeClient): void {
  const others = cluster.nodes.filter((other) => other !== node);
  cluster.fenceOnReturn.add(node);
  // Marked as returning too: a return meanwhile would send the fence before those writes landed.
  runReturn(
    cluster,
    node,
    // A turn first: operations queued in this tick leave in it.
    new Promise((resolve) => setImmediate(resolve))
      .then(() => Promise.all(others.map((other) => other.settled())))
      .then(() => fenceJoined(cluster, node))
      .then(() => restoreReturned(cluster, node, 'restore anyway')),
  );
}

/**
 * The join's fence, and while it goes unanswered (a timeout: a node too busy, a partition that
 * flaps) and the node is still seen up, the node held out and fenced again until it answers: left
 * routed unfenced, it would serve as current the copies another client's restore vouched for and
 * this client overwrote elsewhere, until it was next seen down and up — which may be never.
 */
async function fenceJoined(cluster: Cluster, node: NodeClient): Promise<void> {
  const first = fenceIfPending(cluster, node);
  if ((await first) || !owesFence(cluster, node)) return;
  // Held out from the first failure on; the retries follow it after `probeInterval`.
  const fenced = fenceUntilAnswered(cluster, node, first).then(() => undefined);
  node.holdOutUntil(fenced);
  await fenced;
}
