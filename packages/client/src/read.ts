import { isStamp, writeFingerprint } from '@dcache/core';
import type { Cluster } from './cluster.js';
import { NodeRequestError } from './errors/node-request-error.js';
import type { NodeClient } from './node-client.js';
import { countFailover } from './telemetry-call.js';
import type { CallTrace } from './telemetry-call.js';
import { asError, rejection } from './results.js';
import type { Entry } from './results.js';
import { fallbackRead, newestOfPrevious } from './transition-ops.js';
import { FULL_ANSWER_RETRIES, buryOn, copyTo, hitOf, verifyHit } from './verify.js';
import type { BatchOp, BatchResult } from './wire.js';
import { writeReplicas } from './write.js';
import { TOUCH_REST } from './write-policy.js';

export interface ReadOptions {
  /**
   * Await the read repair of the primary (getVersioned, and a replace or compare-and-set decided
   * again): the primary, which decides them, then holds the write read.
   */
  awaitRepair?: boolean;
  /** Get-and-touch: the TTL in ms (0 = never expires) every replica of a hit gets. */
  touch?: number;
  /** The traced call this read belongs to (nodes asked, failovers, repairs). */
  trace?: CallTrace;
  /**
   * The caller's signal: once it aborts, the call has rejected, so no further replica is asked
   * (what was already sent still completes).
   */
  signal?: AbortSignal | undefined;
}

export interface Hit extends Entry {
  /** The node that answered; after a read repair of the primary, the primary. */
  node: NodeClient;
  /** The stamp of the write that stored it (0 from a node that does not stamp). */
  stamp: number;
  /** The node cannot vouch for it (restored from a snapshot, or it stalled): a peer must. */
  unverified: boolean;
}

/** A compare-and-set's version of what a read found: its write's fingerprint, on any replica. */
export function fingerprintOfHit(hit: Hit): number {
  return writeFingerprint(hit.stamp, hit.flags, hit.bytes);
}

/**
 * Reads `key` from its replicas in preference order: the primary first, the next replica on a miss
 * or an error. A value found after misses is written back to the nodes that missed it (read
 * repair) with its remaining TTL, flags and stamp, as a copy so a newer write there wins. An
 * entry its node cannot vouch for (unverified) is checked against a peer first (verify.ts).
 * With `awaitRepair` the primary's repair is awaited (for CAS). With
 * `touch` it is a get-and-touch: the node that answers sets that TTL as it reads, the replicas
 * after it get a `touch` in the background, and a repair writes the new TTL.
 */
export function readEntry(
  cluster: Cluster,
  key: string,
  queued: boolean,
  options?: ReadOptions,
): Promise<Hit | undefined> {
  const read = readOwners(cluster, key, queued, options);
  // In a transition window a previous owner of the key may hold a newer copy than its owner now
  // (written there after an earlier change moved it away): the newest wins (transition-ops.ts).
  if (!cluster.transition.open) return read;
  return read.then((hit) =>
    hit === undefined
      ? undefined
      : newestOfPrevious(cluster, key, hit, queued, options?.trace, options?.touch),
  );
}

async function readOwners(
  cluster: Cluster,
  key: string,
  queued: boolean,
  options?: ReadOptions,
): Promise<Hit | undefined> {
  // Read field by field: a destructuring default would allocate an object on every read.
  const touch = options?.touch;
  const awaitRepair = options?.awaitRepair === true;
  const trace = options?.trace;
  const signal = options?.signal;
  const nodes = cluster.route(key);
  const flushes = cluster.flushes;
  const stored = cluster.storedKey(key);
  // A get-and-touch is stamped here, once for every replica asked: stamped by the node when it
  // runs, one delivered late (its node paused or cut off) would outrank the writes made meanwhile.
  const touchStamp = touch === undefined ? 0 : cluster.clock.tick();
  const op: BatchOp =
    touch === undefined ? ['get', stored] : ['get', stored, touch, null, touchStamp];
  // Allocated only when needed: most reads hit on the primary.
  let errors: Error[] | undefined;
  /** The nodes whose request failed (`errors`' nodes). */
  let failed: NodeClient[] | undefined;
  let missed: NodeClient[] | undefined;
  /** Each node of `missed`'s vouching floor (0: none given). */
  let floors: number[] | undefined;
  /** The newest tombstone a replica answered with (0: none). */
  let deletedAt = 0;
  // The key's primary did not answer (marked down, or failed below) and a replica's copy may lack
  // a write that only the primary acknowledged ('one'): what the next one serves is possibly
  // stale. Counted, here and — flagged in the get — on the node that serves it.
  const unvouched = cluster.failoverUnvouched;
  let primaryMissing = unvouched && cluster.primaryDown(key);
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    // Removed from the cluster while this read waited on an earlier replica.
    if (i > 0 && !cluster.isMember(node)) continue;
    // The caller gave up while an earlier replica was asked: its failover is not sent.
    signal?.throwIfAborted();
    let result: BatchResult;
    if (trace !== undefined) trace.nodesTried++;
    const flagged = primaryMissing;
    const sent: BatchOp = !flagged
      ? op
      : touch === undefined
        ? ['get', stored, null, true]
        : ['get', stored, touch, true, touchStamp];
    try {
      result = await node.run(sent, queued, trace);
      // The node's batch answer was full: asked again in a later batch, this get moves up. The
      // loop of getPastFullAnswers (verify.ts), written out here: every read passes this way,
      // and that helper's own promise would cost one more per get.
      for (let retry = 0; result[0] === 413 && queued && retry < FULL_ANSWER_RETRIES; retry++) {
        result = await node.run(sent, true, trace);
      }
    } catch (error) {
      countFailover(trace, error);
      (errors ??= []).push(asError(error));
      (failed ??= []).push(node);
      if (i === 0) primaryMissing = unvouched;
      continue;
    }
    if (result[0] === 404) {
      (missed ??= []).push(node);
      // A delete the node knows of: a copy found later that is older must not be served.
      const tombstone = result[1];
      if (isStamp(tombstone) && tombstone > deletedAt) deletedAt = tombstone;
      const floor = result[2];
      (floors ??= []).push(isStamp(floor) ? floor : 0);
      continue;
    }
    if (result[0] !== 200) throw rejection(node.url, key, result);
    let hit = hitOf(cluster, result, node);
    if (hit === undefined) {
      (errors ??= []).push(new NodeRequestError(node.url, `malformed get result for key "${key}"`));
      continue;
    }
    /** A get-and-touch's node that refused the touch: it held the entry unverified. */
    let untouched: NodeClient | undefined;
    if (hit.unverified) {
      // The node cannot vouch for it (a snapshot restore, a stall): a peer decides, by stamps.
      const answered = hit.node;
      // A get-and-touch waits for the mend (a verify, or the peer's newer copy) so that the touch
      // sent after it lands on a verified entry: the node refused the touch with the read, and
      // would otherwise keep the old TTL and serve the value past the new one.
      const awaitMend = awaitRepair || touch !== undefined;
      hit = await verifyHit(cluster, key, hit, queued, {
        trace,
        awaitMend,
        signal,
        missed,
        failed,
      });
      if (hit === undefined) return undefined;
      if (touch !== undefined) untouched = answered;
    }
    if (hit.stamp <= deletedAt && deletedAt > 0) {
      // Deleted since this copy was written (the delete has not reached this replica yet, or it
      // missed it): a miss, and the tombstone follows it there.
      cluster.counters.staleReadsPrevented++;
      buryOn(cluster, key, hit.node, deletedAt, queued);
      return undefined;
    }
    if (missed !== undefined && doubtedStandIn(cluster, stored, hit, missed, floors!)) {
      // A stand-in's copy its key's replicas have moved on from: a miss, and it goes there too
      // (a tombstone at its own stamp: a newer write still wins).
      cluster.counters.staleReadsPrevented++;
      buryOn(cluster, key, hit.node, hit.stamp, queued);
      return undefined;
    }
    if (flagged) {
      cluster.counters.unvouchedReads++;
      if (trace !== undefined) trace.unvouchedReads++;
    }
    // The node that answered touched the entry under the touch's stamp, or left it as it was:
    // unverified, or stamped at or above the touch (a write this client's clock had not seen yet).
    const touchedThere = touch !== undefined && untouched === undefined && hit.stamp === touchStamp;
    const leftAsItWas = touchedThere ? undefined : (untouched ?? hit.node);
    // A flush since the read began: the value predates it, and writing it back would undo it.
    const repairing = missed !== undefined && cluster.flushes === flushes;
    if (touch !== undefined && (leftAsItWas === undefined || !repairing)) {
      touchTheOthers(cluster, key, stored, touch, nodes.slice(i + 1), hit, {
        untouched: leftAsItWas,
        missed,
        queued,
      });
    }
    if (missed === undefined || !repairing) return hit;
    const copies = repair(cluster, key, hit, missed, queued, trace);
    if (touch !== undefined && leftAsItWas !== undefined) {
      // The repair copies the write untouched (its old TTL, or its own stamp below the one the
      // others are touched at): the replicas it goes to are touched with the others, once their
      // copies have landed — sent together, the touch could reach one first, find nothing, and
      // leave it the copy as it was.
      const rest = [...missed, ...nodes.slice(i + 1)];
      const touchAll = (): void =>
        touchTheOthers(cluster, key, stored, touch, rest, hit, {
          untouched: leftAsItWas,
          missed: undefined,
          queued,
        });
      cluster.track(Promise.all(copies).then(touchAll));
    }
    if (awaitRepair && missed[0] === nodes[0] && copies.length > 0) await copies[0];
    return hit;
  }
  if (missed === undefined) throw cluster.unavailable(key, nodes, errors ?? []);
  // Every new owner asked missed (one that failed may hold a newer write: then no fallback). In a
  // transition window the key may still be where it was before the ring changed.
  if (errors !== undefined || !cluster.transition.open) return undefined;
  signal?.throwIfAborted();
  return fallbackRead(cluster, key, missed, deletedAt, flushes, queued, trace, touch, awaitRepair);
}

/** How a get-and-touch's touch of the replicas after the node that answered goes (touchTheOthers). */
interface TouchOthers {
  /**
   * A node that answered without touching (it held the entry unverified, or stamped at or above
   * the touch): touched with the others, above the hit's stamp. Undefined: the hit's node touched.
   */
  untouched: NodeClient | undefined;
  /**
   * The nodes that missed the key earlier in the read, not touched here: the read's repair copies
   * them the hit, touched. Undefined when they are among the touched (`rest`).
   */
  missed: readonly NodeClient[] | undefined;
  queued: boolean;
}

/**
 * A get-and-touch's touch of the key's replicas after the node that answered (`rest`), in the
 * background: the copies not asked keep up with the new TTL, so a failover does not find them
 * expiring. Stamped as the node that answered stamped its touch (the hit's stamp): every replica
 * then holds the write under one stamp, which a compareAndSet's version (the write's fingerprint)
 * needs — stamped apart, a version read from one replica would never match another's. A node that
 * did not touch is touched with them, above the hit's stamp: a node applies a touch only above
 * the entry's.
 *
 * The key's natural replicas the read did not reach (marked down, or their get failed) get a hint,
 * as a touch's missed replicas do (write.ts), handed to a replica that took the touch — the node
 * that answered among them — and replayed once they answer again. Without it, one back from a
 * partition or a pause keeps the TTL it held: after a shorter new TTL it serves the value once the
 * others have expired it, and after a longer one it misses early.
 */
function touchTheOthers(
  cluster: Cluster,
  key: string,
  stored: string,
  ttl: number,
  rest: NodeClient[],
  hit: Hit,
  how: TouchOthers,
): void {
  const { untouched, missed, queued } = how;
  let stamp = hit.stamp;
  if (untouched !== undefined) {
    rest.unshift(untouched);
    cluster.clock.observe(hit.stamp);
    stamp = cluster.clock.tick();
  }
  const touched = untouched === undefined ? hit.node : undefined;
  // With every node up, the route's own list: nothing allocated.
  const { natural } = cluster.replicaSet(key);
  let unreached = false;
  for (const node of natural) {
    if (node !== touched && !rest.includes(node) && missed?.includes(node) !== true) {
      unreached = true;
    }
  }
  if (rest.length === 0 && !unreached) return;
  // The node that touched holds the touch, so it can hold hints for it too. A stand-in is sent
  // the touch again (under its own stamp it changes nothing there): acknowledged as a stand-in's,
  // its hint names the touch's stamp, which names no write (a node holding the key as a natural
  // replica of another ring keeps it once the hint is delivered), as a plain touch's does.
  let holding: NodeClient[] | undefined;
  if (touched !== undefined) {
    if (natural.includes(touched)) holding = [touched];
    else rest.unshift(touched);
  }
  const target = unreached
    ? {
        natural: natural.filter((node) => node !== touched && missed?.includes(node) !== true),
        live: rest,
        holding,
      }
    : { natural: rest, live: rest, holding };
  void writeReplicas(cluster, target, ['touch', stored, ttl, stamp], TOUCH_REST, queued);
}

/**
 * Whether `hit`, from a node that is no natural replica of the key (a stand-in, asked while a
 * replica is down), is a copy a natural replica that missed the key cannot vouch for: its miss
 * came with a vouching floor at or above the copy's stamp (it lost a value that new by expiry or
 * eviction, was flushed, or restarted since), so the copy may be a write the replicas have moved
 * on from. A stand-in drops its copy once the hint it was handed is delivered, but one that took
 * the write after its request timed out was handed none, and keeps it, verified, for good. A
 * natural replica's copy is served as before: the replica that missed it may simply have lost it.
 */
function doubtedStandIn(
  cluster: Cluster,
  stored: string,
  hit: Hit,
  missed: readonly NodeClient[],
  floors: readonly number[],
): boolean {
  const natural = cluster.replicasOfStored(stored);
  if (natural.includes(hit.node.url)) return false;
  for (let i = 0; i < missed.length; i++) {
    const floor = floors[i]!;
    if (floor > 0 && hit.stamp <= floor && natural.includes(missed[i]!.url)) return true;
  }
  return false;
}

/**
 * Copies the entry to every node that missed it, newest-wins (a newer write there is kept): the
 * copies, in the order of `missed` (none for an entry already expired).
 */
function repair(
  cluster: Cluster,
  key: string,
  entry: Hit,
  missed: readonly NodeClient[],
  queued: boolean,
  trace: CallTrace | undefined,
): Promise<boolean>[] {
  const copies: Promise<boolean>[] = [];
  if (entry.ttl !== null && entry.ttl <= 0) return copies;
  for (const node of missed) {
    if (!cluster.isMember(node)) continue;
    if (trace !== undefined) trace.repairs++;
    copies.push(copyTo(cluster, key, entry, node, queued));
  }
  return copies;
}
