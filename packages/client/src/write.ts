import { isStamp } from '@dcache/core';
import type { NodeClient } from './node-client.js';
import type { Cluster } from './cluster.js';
import { countFailover } from './telemetry-call.js';
import type { CallTrace } from './telemetry-call.js';
import { asError, rejection } from './results.js';
import type { BatchOp, BatchResult } from './wire.js';
import type { ReplicaSet, WritePolicy } from './write-policy.js';
import { handOff, planHints } from './hints.js';

/** An operation on one key (every one but flush). */
export type KeyOp = Exclude<BatchOp, readonly ['flush', ...unknown[]]>;

export interface WriteOutcome {
  /** Results that counted as acknowledgements. */
  acks: number;
  /** Every result received so far, with its node. */
  results: { node: NodeClient; result: BatchResult }[];
  /** Nodes whose request failed. */
  errors: Error[];
  /**
   * The first live replica — the one reads ask first — settled without acknowledging (its request
   * failed or it refused): the write may be missing there (or land later), so no read is sure to
   * see it: its error, or its answer as an error.
   */
  primaryMissed?: Error;
}

/**
 * Sends `op` to every live replica of `target` in parallel and resolves once `policy.required`
 * results are acknowledgements (with `primaryMustAck`, the first live replica's among them unless
 * its request failed), or once all have settled. The writes still running at that point are never
 * abandoned: they are tracked by the cluster (close() waits for them), their failures feed the
 * failure detector, and their answers go to `policy.lateAnswer`.
 *
 * With `reportFailures`, every replica whose write failed (an error, or an answer that is not an
 * acknowledgement) while the caller's answer does not carry it goes to `onBackgroundError`: those
 * failing after the call resolved, and those before it when the caller will not reject — it rejects
 * only when `required` > 0 and nothing was acknowledged (storeEverywhere, delete, touch).
 */
export function writeReplicas(
  cluster: Cluster,
  target: ReplicaSet,
  op: KeyOp,
  policy: WritePolicy,
  queued: boolean,
  trace?: CallTrace,
): Promise<WriteOutcome> {
  const outcome: WriteOutcome = { acks: 0, results: [], errors: [] };
  // A list computed before an await may hold a node removed since: it gets nothing new.
  const nodes = cluster.members(target.live);
  if (nodes.length === 0) {
    // No copy to send, as when a conditional write was decided by the last replica asked after the
    // primary failed: the natural replicas that missed it still get their hints from the one that
    // decided it (`holding`), or one back from a partition would serve the value it replaced.
    if (target.holding !== undefined) {
      const hinting = hintMissed(cluster, target, op, outcome, policy.isAck);
      if (hinting !== undefined) cluster.track(hinting);
    }
    return Promise.resolve(outcome);
  }
  if (trace !== undefined) trace.nodesTried += nodes.length;
  const { isAck, reportFailures } = policy;
  const required = policy.required(cluster, nodes.length);
  // Reports name the caller's key; the op carries the key as stored (with the keyPrefix). Derived
  // only for a failure: a prefixed key would otherwise cost a string on every write.
  const callerKey = (): string => cluster.callerKey(op[1]);
  // Failures not yet reported, kept until it is known whether the caller's answer carries them.
  let unseen: [NodeClient, Error][] | undefined = reportFailures ? [] : undefined;
  const failed = (node: NodeClient, error: Error): void => {
    // The call rejects with it: reported, it would reach the caller twice.
    if (node === nodes[0] && policy.primaryFailureRejects === true) return;
    if (unseen !== undefined) unseen.push([node, error]);
    else if (reportFailures) {
      const context = { operation: 'replica-write', key: callerKey(), node: node.url } as const;
      cluster.reportBackgroundError(error, context);
    }
  };
  // Natural replicas marked down get the write too, unawaited: one may be back before this client
  // noticed (its probe runs every probeInterval), and other clients read it meanwhile. One that is
  // still down only fails again; either way the hint decision waits for their answers. Only a
  // write whose outcome does not depend on what the replica holds: one back from a partition holds
  // what it missed as current, and an incr, a touch or a condition run there would stamp that
  // stale state above the write it missed (its hint replays the outcome instead).
  const extras = landsBlind(op) ? markedDown(cluster, target, nodes) : undefined;
  const extraResults: { node: NodeClient; result: BatchResult }[] = [];
  const extraWork =
    extras === undefined
      ? undefined
      : Promise.all(
          extras.map((node) =>
            node.run(op, queued).then(
              (result) => void extraResults.push({ node, result }),
              () => undefined,
            ),
          ),
        );
  // Waited for only when the policy asks: then the call answers after the primary has.
  let primaryPending = policy.primaryMustAck && required > 0;
  const primary = nodes[0];
  // In a transition window, every replica asked that owned a moved key in an earlier ring is
  // waited for too (policy.awaitsEarlierOwners): a client whose ring differs from this one's reads
  // the key there (first, or to vouch for a copy), and under 'one' the copy would otherwise still
  // be on its way when the call answers. With 3 replicas that can be two nodes, so for a moved key
  // 'one' then waits as 'all' does, and a slow one delays the call (up to `timeout`). Only
  // replicas asked anyway, so no request more; a failure only ends the wait (a hint follows).
  const earlierOwners =
    policy.awaitsEarlierOwners && cluster.transition.open
      ? ownersBefore(cluster, op[1], nodes)
      : undefined;
  return new Promise((resolve) => {
    let pending = nodes.length;
    let resolved = false;
    const settle = (node: NodeClient): void => {
      pending--;
      if (node === primary) primaryPending = false;
      earlierOwners?.delete(node);
      if (pending === 0) {
        if (extraWork === undefined) {
          const hinting = hintMissed(cluster, target, op, outcome, isAck);
          if (hinting !== undefined) cluster.track(hinting);
        } else {
          const all = (): Promise<void> | undefined => {
            const results = [...outcome.results, ...extraResults];
            return hintMissed(cluster, target, op, { ...outcome, results }, isAck);
          };
          cluster.track(extraWork.then(all));
        }
      }
      const waiting = primaryPending || (earlierOwners !== undefined && earlierOwners.size > 0);
      if (!resolved && ((outcome.acks >= required && !waiting) || pending === 0)) {
        resolved = true;
        const held = unseen;
        unseen = undefined;
        if (held !== undefined && (required === 0 || outcome.acks > 0)) {
          for (const [node, error] of held) failed(node, error);
        }
        // A snapshot: later results must not change what the caller was told.
        resolve({
          acks: outcome.acks,
          results: [...outcome.results],
          errors: [...outcome.errors],
          primaryMissed: outcome.primaryMissed,
        });
      }
    };
    const all = nodes.map((node) =>
      node.run(op, queued, trace).then(
        (result) => {
          if (resolved) policy.lateAnswer?.(cluster, op, result);
          if (isAck(result)) outcome.acks++;
          else if (node === primary || reportFailures) {
            const refusal = rejection(node.url, callerKey(), result);
            if (node === primary) outcome.primaryMissed = refusal;
            if (reportFailures) failed(node, refusal);
          }
          outcome.results.push({ node, result });
          settle(node);
        },
        (error: unknown) => {
          const failure = asError(error);
          if (!resolved) countFailover(trace, error);
          outcome.errors.push(failure);
          if (node === primary) outcome.primaryMissed = failure;
          failed(node, failure);
          settle(node);
        },
      ),
    );
    cluster.track(Promise.all(all));
  });
}

/** The replicas asked that owned the key in a ring of the window it moved from, or undefined. */
function ownersBefore(
  cluster: Cluster,
  storedKey: string,
  asked: readonly NodeClient[],
): Set<NodeClient> | undefined {
  const before = cluster.transition.ownersBeforeMove(
    storedKey,
    cluster.replicasOfStored(storedKey),
  );
  if (before.length === 0) return undefined;
  const found = new Set(asked.filter((node) => before.includes(node.url)));
  return found.size === 0 ? undefined : found;
}

/** A write that lands the same whatever the replica holds: an unconditional set, a delete. */
function landsBlind(op: KeyOp): boolean {
  return op[0] === 'delete' || (op[0] === 'set' && op[5] === null);
}

/** The key's natural replicas not among the live ones asked (marked down), or undefined. */
function markedDown(
  cluster: Cluster,
  target: ReplicaSet,
  asked: readonly NodeClient[],
): NodeClient[] | undefined {
  if (target.natural === target.live) return undefined;
  const down = target.natural.filter((node) => !asked.includes(node) && cluster.isMember(node));
  return down.length === 0 ? undefined : down;
}

/**
 * The node refused an unconditional set as too large and so dropped the value it was to replace
 * (a tombstone just below the set's stamp, as memcached's set drops it): it holds that drop, which
 * a replica that missed the set must get too, or it would serve the replaced value after the
 * others dropped it.
 */
function droppedReplaced(op: KeyOp, result: BatchResult): boolean {
  return op[0] === 'set' && op[5] === null && result[0] === 413 && result[1] === 'too_large';
}

/**
 * Once every replica asked has settled: each natural replica without an acknowledgement (marked
 * down and not asked, or asked and failed) gets a hint, handed to a replica that acknowledged —
 * a stand-in first, which drops its own copy once the hint is delivered. Nothing is sent when every
 * natural replica acknowledged (no fault: no cost). A hint no replica takes is dropped, counted,
 * and the missed replica is fenced when it is seen up (hints.ts).
 */
function hintMissed(
  cluster: Cluster,
  target: ReplicaSet,
  op: KeyOp,
  outcome: WriteOutcome,
  isAck: (result: BatchResult) => boolean,
): Promise<void> | undefined {
  const { natural } = target;
  if (outcome.errors.length === 0 && outcome.acks === natural.length && natural === target.live) {
    return undefined;
  }
  const holding = target.holding ?? [];
  const acked: NodeClient[] = [...holding];
  const stamps = new Map<NodeClient, number>();
  for (const { node, result } of outcome.results) {
    if (!isAck(result) && !droppedReplaced(op, result)) continue;
    acked.push(node);
    const stamp = stampLeft(op, result);
    if (stamp !== undefined) stamps.set(node, stamp);
  }
  // The replica that decided a conditional write is a natural one that holds it, though the
  // copies' target leaves it out: planned as one, so that a real stand-in among the copies is
  // still handed the hint first (and drops its copy once it is delivered).
  const keepers = holding.length === 0 ? natural : [...holding, ...natural];
  const live = holding.length === 0 ? target.live : [...holding, ...target.live];
  const plan = planHints(keepers, live, acked);
  // A replica removed since the write was sent is no one's concern any more.
  const missed = plan.missed.filter((node) => cluster.isMember(node));
  if (missed.length === 0) return undefined;
  const { holders } = plan;
  return Promise.all(
    missed.map((node) => handOff(cluster, op[1], node, holders, keepers, stamps)),
  ).then(() => undefined);
}

/**
 * The stamp `op` left on a replica that answered `result`, for a stand-in's hint to name: the
 * stand-in then drops that copy only once the hint is delivered. A set or a delete carries its
 * own (one the replica answered without applying left another write standing, stamped otherwise);
 * an incr or a touch that applied is stamped by the node, as its answer says (a touch answered
 * superseded names its own, as a set does). Undefined when unknown (a set refused as too large):
 * the node then names the stamp it holds when the hint arrives.
 */
function stampLeft(op: KeyOp, result: BatchResult): number | undefined {
  switch (op[0]) {
    case 'set':
      return result[0] === 204 ? op[6] : undefined;
    case 'delete':
      return op[2];
    case 'touch':
      // Answered superseded, it left the entry as it was: the stamp there is another write's.
      return result[2] === true ? op[3] : stampIn(result[1]);
    case 'incr':
      // Answered superseded, it counted nothing: the stamp there is another write's.
      return result[3] === true ? op[5] : stampIn(result[2]);
    default:
      return undefined;
  }
}

const stampIn = (value: unknown): number | undefined => (isStamp(value) ? value : undefined);
