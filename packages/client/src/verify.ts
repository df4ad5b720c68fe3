// Reads of entries a node cannot vouch for, and the copies that mend replicas
// (docs/design/never-stale.md §5): a peer replica's answer decides, by stamps.
import { isStamp } from '@dcache/core';
import type { Cluster } from './cluster.js';
import type { NodeClient } from './node-client.js';
import type { Hit } from './read.js';
import { asError, rejection } from './results.js';
import type { CallTrace } from './telemetry-call.js';
import { judgeUnverified } from './verify-decision.js';
import type { PeerAnswer } from './verify-decision.js';
import type { BatchOp, BatchResult } from './wire.js';

/**
 * How many later batches a get refused for a full batch answer is tried in; each batch serves at
 * least one value (a node's default 16 MiB holds 16 values of its 1 MiB maximum).
 */
export const FULL_ANSWER_RETRIES = 64;

/**
 * Runs a get on `node`, asked again in a later batch while the node's batch answer was full
 * (413): the node caps the values of one answer at its maxBatchBytes and always serves the first
 * get, so the get moves up. The gets of a getMany's keys, and the checks each of them makes of
 * another node, ride one batch per node and can fill it. Through the batcher, not a request of
 * its own: a getMany of many big values must not open a request per value at once.
 */
export async function getPastFullAnswers(
  node: NodeClient,
  op: BatchOp,
  queued: boolean,
  trace: CallTrace | undefined,
): Promise<BatchResult> {
  let result = await node.run(op, queued, trace);
  for (let retry = 0; result[0] === 413 && queued && retry < FULL_ANSWER_RETRIES; retry++) {
    result = await node.run(op, true, trace);
  }
  return result;
}

/** The checked entry of a `[200, …]` get result, with the node that answered (one allocation). */
export function hitOf(cluster: Cluster, result: BatchResult, node: NodeClient): Hit | undefined {
  const [, bytes, flags, version, ttl, stamp, unverified] = result;
  if (!(bytes instanceof Uint8Array) || typeof flags !== 'number' || typeof version !== 'number') {
    return undefined;
  }
  const stamped = isStamp(stamp);
  if (stamped) cluster.clock.observe(stamp);
  return {
    bytes,
    flags,
    version,
    ttl: typeof ttl === 'number' ? ttl : null,
    node,
    stamp: stamped ? stamp : 0,
    unverified: unverified === true,
  };
}

/**
 * Sends one mending operation (copy, bury, verify) in the background, tracked for close(). A
 * failure only leaves that replica as it was — the read already has its answer — so it is
 * reported, not returned. Resolves to whether the node applied it (204).
 */
function mend(
  cluster: Cluster,
  key: string,
  node: NodeClient,
  op: BatchOp,
  queued: boolean,
): Promise<boolean> {
  const failed = (error: Error): false => {
    cluster.reportBackgroundError(error, { operation: 'read-repair', key, node: node.url });
    return false;
  };
  const sent = node.run(op, queued).then(
    // 412: the node holds something newer (or, for verify, another write), as intended; 404 for
    // verify: it lost the entry since, which a later read finds.
    (result) => {
      if (result[0] === 204) return true;
      return result[0] === 412 || result[0] === 404
        ? false
        : failed(rejection(node.url, key, result));
    },
    (error: unknown) => failed(asError(error)),
  );
  cluster.track(sent);
  return sent;
}

/**
 * Copies `entry` (its remaining TTL, flags and stamp) to `node`; newest wins there. Counted as a
 * repair unless `repair` is false (a transition's backfill counts its own).
 */
export function copyTo(
  cluster: Cluster,
  key: string,
  entry: Hit,
  node: NodeClient,
  queued: boolean,
  repair = true,
): Promise<boolean> {
  if (repair) cluster.counters.repairs++;
  // null = never expires, which is ttl 0 on the wire (null there would mean the node's default).
  const ttl = entry.ttl ?? 0;
  const stored = cluster.storedKey(key);
  const op = ['copy', stored, entry.bytes, entry.flags, ttl, entry.stamp, 'repair'] as const;
  return mend(cluster, key, node, op, queued);
}

/** Copies a tombstone stamped `stamp` to `node` in the background; newest wins there. */
export function buryOn(
  cluster: Cluster,
  key: string,
  node: NodeClient,
  stamp: number,
  queued: boolean,
): void {
  void mend(cluster, key, node, ['bury', cluster.storedKey(key), stamp, 'repair'], queued);
}

/** A peer's get of the key, as the verification decision reads it (with the hit, if any). */
export async function askPeer(
  cluster: Cluster,
  key: string,
  peer: NodeClient,
  queued: boolean,
  trace: CallTrace | undefined,
): Promise<{ answer: PeerAnswer; hit?: Hit }> {
  let result: BatchResult;
  if (trace !== undefined) trace.nodesTried++;
  try {
    // Through a full answer: taken for a peer that cannot vouch, it dropped the value (a miss)
    // that a get alone would have served.
    result = await getPastFullAnswers(peer, ['get', cluster.storedKey(key)], queued, trace);
  } catch {
    return { answer: { kind: 'failed' } };
  }
  if (result[0] === 404) {
    const [, tombstone, floor] = result;
    return {
      answer: {
        kind: 'miss',
        tombstone: isStamp(tombstone) ? tombstone : undefined,
        floor: isStamp(floor) ? floor : 0,
      },
    };
  }
  const hit = result[0] === 200 ? hitOf(cluster, result, peer) : undefined;
  if (hit === undefined) return { answer: { kind: 'failed' } };
  return { answer: { kind: 'hit', stamp: hit.stamp, unverified: hit.unverified }, hit };
}

export interface VerifyOptions {
  /** The traced call the read belongs to. */
  trace?: CallTrace | undefined;
  /** Await the mend of the node that answered (its verify, or the newer copy). */
  awaitMend?: boolean;
  /** The caller's signal: once it aborts, the call has rejected, and no further peer is asked. */
  signal?: AbortSignal | undefined;
  /** The nodes that missed the key earlier in this read: its repair copies the value to them. */
  missed?: readonly NodeClient[] | undefined;
  /**
   * The nodes whose request failed earlier in this read: not asked again. A hung node (paused,
   * partitioned, not yet marked down) would cost the caller a second `timeout`, as a read's
   * failover never does; a miss is the safe answer when no other replica can vouch.
   */
  failed?: readonly NodeClient[] | undefined;
}

/**
 * The value a read of an unverified `hit` returns: asks the key's other replicas in preference
 * order, one node further than `replicas` (a peer may be unverified too or fail), until one can
 * vouch — then mends in the background what the answer showed. None can: a miss (the safe answer
 * in a cache), counted `unverifiedDropped`. With `awaitMend` the mend of the node that answered
 * (its verify, or the newer copy) is awaited: verifying stores the entry again, under a new version.
 */
export async function verifyHit(
  cluster: Cluster,
  key: string,
  hit: Hit,
  queued: boolean,
  options: VerifyOptions,
): Promise<Hit | undefined> {
  const { trace, awaitMend = false, signal, missed, failed } = options;
  /** A mend of the node that answered: awaited with `awaitMend`, so its version can be read. */
  const mendNode = async (sent: Promise<boolean>): Promise<void> => {
    if (awaitMend) await sent;
  };
  const { counters } = cluster;
  // A cluster of one node: no other node can have taken a newer write of the key while this one
  // was away (they failed), so what it holds is the newest there is.
  if (cluster.nodes.length === 1) return hit;
  const stored = cluster.storedKey(key);
  const candidates = cluster.preference(key, cluster.replicas + 1);
  const natural = cluster.replicasOfStored(cluster.storedKey(key));
  for (const peer of candidates) {
    if (peer === hit.node || !cluster.isMember(peer) || failed?.includes(peer) === true) continue;
    // The caller gave up while an earlier peer was asked, as a read's failover (read.ts).
    signal?.throwIfAborted();
    const { answer, hit: peerHit } = await askPeer(cluster, key, peer, queued, trace);
    const verdict = judgeUnverified(hit.stamp, answer, natural.includes(peer.url));
    switch (verdict) {
      case 'ask-next':
        continue;
      case 'peer-newer':
        counters.staleReadsPrevented++;
        await mendNode(copyTo(cluster, key, peerHit!, hit.node, queued));
        return peerHit;
      case 'same':
        counters.verifications++;
        await mendNode(mend(cluster, key, hit.node, ['verify', stored, hit.stamp], queued));
        return { ...hit, unverified: false };
      case 'own-newer':
        counters.verifications++;
        await mendNode(mend(cluster, key, hit.node, ['verify', stored, hit.stamp], queued));
        // The peer is a natural replica (only those vouch): it gets the copy it lacks — from the
        // read's repair when it missed earlier in the read (one copy, one repair counted).
        if (missed === undefined || !missed.includes(peer))
          void copyTo(cluster, key, hit, peer, queued);
        return { ...hit, unverified: false };
      case 'deleted':
      case 'doubtful': {
        counters.staleReadsPrevented++;
        // A tombstone the peer holds, or one at the doubtful copy's own stamp (a tombstone wins a
        // tie): the node stops serving it, and a newer write still wins.
        const stamp =
          verdict === 'deleted' && answer.kind === 'miss' ? answer.tombstone! : hit.stamp;
        void mend(cluster, key, hit.node, ['bury', stored, stamp, 'repair'], queued);
        return undefined;
      }
    }
  }
  counters.unverifiedDropped++;
  return undefined;
}
