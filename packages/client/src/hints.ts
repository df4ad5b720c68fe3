// Hinted handoff, the client's half (docs/design/never-stale.md §6.1): a write a natural replica
// missed is recorded on a replica that has it, which replays it when the missed one answers again.
// Kept by nodes, not here, so that it survives this process exiting and protects other clients.
import type { Cluster } from './cluster.js';
import type { NodeClient } from './node-client.js';
import type { BatchOp } from './wire.js';

/**
 * Which natural replicas need a hint for a write, and the replicas to hand them to, stand-ins
 * (acknowledged, not natural) first. A natural replica needs one when it did not acknowledge (not
 * asked, failed, refused), and also when a stand-in took the write in its place though it then
 * acknowledged after all (a replica marked down still gets the write): the stand-in drops its
 * temporary copy only once it has delivered a hint, so it must hold one. Nothing when none
 * acknowledged (the write is stored nowhere and the caller was told).
 */
export function planHints<N>(
  natural: readonly N[],
  live: readonly N[],
  acked: readonly N[],
): { missed: N[]; holders: N[] } {
  const standIns = acked.filter((node) => !natural.includes(node));
  const missed = natural.filter(
    (node) => !acked.includes(node) || (standIns.length > 0 && !live.includes(node)),
  );
  if (missed.length === 0 || acked.length === 0) return { missed: [], holders: [] };
  const replicas = acked.filter((node) => natural.includes(node));
  return { missed, holders: [...standIns, ...replicas] };
}

/**
 * Hands "`missed` lacks `storedKey`" to `holders` (replicas that acknowledged the write): to the
 * first stand-in that takes it, and to the first natural replica that takes it. Hints live in a
 * node's memory only, and a stand-in is no replica of the key: were it alone to hold the hint, its
 * restart (a fault on no replica of the key) would lose the write for `missed`, which — back from a
 * partition, fenced by no one once the writer is gone — would serve what it held before for good.
 * None takes it: the hint is dropped, counted, and `missed` is fenced — now if it is up, else when
 * it is seen up — so that everything it holds is verified before it is served. A node that missed
 * a write is fenced when next seen up in any case, also when it was still up here at the miss (a
 * partition this client marks down only later): until its hints are replayed it holds what it
 * missed as current, and counting on it (`incr`, `touch`) would outstamp the newer write.
 * `stamps`: the stamp each stand-in holds the write at, when known (write.ts `stampLeft`).
 */
export async function handOff(
  cluster: Cluster,
  storedKey: string,
  missed: NodeClient,
  holders: readonly NodeClient[],
  natural: readonly NodeClient[],
  stamps?: ReadonlyMap<NodeClient, number>,
): Promise<void> {
  // Up or not: one still up here may have missed it to a partition this client has yet to mark
  // down (its request timed out), and back before the hint's replay it would count on its stale
  // value like one marked down. Only a return (or a fence sent now) clears the mark.
  if (cluster.isMember(missed)) cluster.fenceOnReturn.add(missed);
  const standIns = holders.filter((holder) => !natural.includes(holder));
  const replicas = holders.filter((holder) => natural.includes(holder));
  const taken = await Promise.all([
    offer(cluster, storedKey, missed, standIns, true, stamps),
    offer(cluster, storedKey, missed, replicas, false),
  ]);
  if (taken[0] || taken[1]) {
    cluster.counters.hintsHandedOff++;
    return;
  }
  cluster.counters.hintsDropped++;
  // Removed from the cluster while the hint was offered: no longer a replica, owed no fence.
  if (!cluster.isMember(missed)) return;
  cluster.fenceOnReturn.add(missed);
  if (!missed.up) return;
  // Held out until the fence is answered, and fenced again while it is not: released after one
  // failure (a timeout in a partition this client has yet to mark down, a node too busy to answer),
  // the node would stay routed unfenced — serving what it missed as current, counting on it — until
  // the failure detector next saw it down and up again, which a node that stays up never is.
  // The write that missed it waits for the first fence only, as before; the retries run in the
  // background (tracked for close()), the node held out meanwhile.
  const first = fenceIfPending(cluster, missed);
  const fenced = fenceUntilAnswered(cluster, missed, first);
  missed.holdOutUntil(fenced.then(() => undefined));
  cluster.track(fenced);
  await first;
}

/**
 * Offers the hint to each of `holders` in turn until one takes it; resolves to whether one did.
 * A stand-in keeps the key only until the hint is delivered (`standIn`); a natural replica keeps it.
 * A stand-in's hint names the stamp it took the write at (`stamps`), so that it drops that copy
 * only — not a newer write it took meanwhile as a natural replica (of another client's ring, after
 * a change), which the stamp it holds when the hint arrives would be.
 */
async function offer(
  cluster: Cluster,
  storedKey: string,
  missed: NodeClient,
  holders: readonly NodeClient[],
  standIn: boolean,
  stamps?: ReadonlyMap<NodeClient, number>,
): Promise<boolean> {
  for (const holder of holders) {
    if (!cluster.isMember(holder)) continue;
    const stamp = standIn ? stamps?.get(holder) : undefined;
    const op: BatchOp =
      stamp === undefined
        ? ['hint', storedKey, missed.url, standIn]
        : ['hint', storedKey, missed.url, true, stamp];
    try {
      // Its own lane: the caller's `timeout` may be too short for a hint to be sure to land.
      const result = await holder.runInBackground(op);
      if (result[0] === 204) return true;
    } catch {
      // The next holder, if any; the failure itself reached the failure detector.
    }
  }
  return false;
}

/**
 * Sends `POST /v1/fence` to a node some hint for which was dropped: every entry it holds becomes
 * unverified, so reads check them against a peer. Kept pending when the node does not answer.
 */
export function fenceIfPending(cluster: Cluster, node: NodeClient): Promise<boolean> {
  // One at a time: a node's return seen twice at once (the failure detector, a new start in a
  // batch answer) must not send a second fence after the restore began vouching for entries.
  // The second return waits for that fence, but did not send it: false.
  const sending = fencing.get(node);
  if (sending !== undefined) return sending.then(() => false);
  if (!cluster.fenceOnReturn.has(node) || !cluster.isMember(node)) return Promise.resolve(false);
  const fence = sendFence(cluster, node).finally(() => fencing.delete(node));
  fencing.set(node, fence);
  return fence;
}

/**
 * Fences a node that owes a fence, again every `probeInterval` while the fence is not answered (a
 * timeout, a lost connection: a partition that flaps, a node too busy to answer) and the failure
 * detector still has it up. Released after one failure, the node would be routed unfenced —
 * serving what it missed as current, and counting on it — and nothing would fence it before it was
 * next seen down and up again. Resolves to whether this call sent the fence; once the node is
 * marked down, left the ring or the client closes, to false (its next return fences). `first`: a
 * fence already sent, which the retries follow.
 */
export async function fenceUntilAnswered(
  cluster: Cluster,
  node: NodeClient,
  first: Promise<boolean> = fenceIfPending(cluster, node),
): Promise<boolean> {
  if (await first) return true;
  // Asked before the wait and again after it: close() ends the wait early so as not to be held
  // up, and a fence sent then would hold it up for the client's whole `timeout` after all.
  while (owesFence(cluster, node)) {
    await cluster.waitUnlessClosing(cluster.probeInterval);
    if (!owesFence(cluster, node)) break;
    if (await fenceIfPending(cluster, node)) return true;
  }
  return false;
}

/**
 * Whether a fence that failed is worth sending again now: the node still owes one, is a member,
 * is seen up (once marked down, its next return fences it) and the client is not closing.
 */
export function owesFence(cluster: Cluster, node: NodeClient): boolean {
  return (
    cluster.fenceOnReturn.has(node) && cluster.isMember(node) && node.health.up && !cluster.closing
  );
}

/** Fences on the wire, per node. */
const fencing = new WeakMap<NodeClient, Promise<boolean>>();

/** True once the node answered the fence. */
async function sendFence(cluster: Cluster, node: NodeClient): Promise<boolean> {
  try {
    await cluster.transport.post(node.url, '/v1/fence');
    cluster.fenceOnReturn.delete(node);
    cluster.counters.fencesSent++;
    return true;
  } catch {
    // Still pending: the next time the node is seen up, it is fenced.
    return false;
  }
}
