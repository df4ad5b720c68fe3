// What a replicated write waits for and what it does about the replicas it missed: one object per
// kind of write, so the policy reads in one place instead of in positional arguments at each call.
import type { Cluster } from './cluster.js';
import type { NodeClient } from './node-client.js';
import type { BatchResult } from './wire.js';
import type { KeyOp } from './write.js';

/** A key's replicas for a write: the ring's natural ones (up or down) and the live ones asked. */
export interface ReplicaSet {
  /** The ring's first `replicas` nodes for the key, marked down or not. */
  readonly natural: readonly NodeClient[];
  /** The nodes the write is sent to, in preference order (a stand-in replaces a node down). */
  readonly live: readonly NodeClient[];
  /** Replicas that already hold this write (the one that decided a conditional set): hint holders. */
  readonly holding?: readonly NodeClient[];
}

export interface WritePolicy {
  /** Acks that answer the call, of `asked` live replicas. */
  readonly required: (cluster: Cluster, asked: number) => number;
  /**
   * The first live replica must be among them, unless its request failed: reads ask it first, so
   * a write the call reported done is what the next read sees.
   */
  readonly primaryMustAck: boolean;
  readonly isAck: (result: BatchResult) => boolean;
  /** Replica failures the caller's answer does not carry go to onBackgroundError. */
  readonly reportFailures: boolean;
  /**
   * The first live replica's failure (an error, or an answer that is not an acknowledgement) is
   * the caller's answer even when another replica acknowledged: the call rejects with it (delete),
   * so it is not reported as well.
   */
  readonly primaryFailureRejects?: boolean;
  /**
   * In a transition window the call also waits for the replicas that owned a moved key in an
   * earlier ring (write.ts): a client on that ring reads the key there. Off where the call waits
   * for every replica anyway, and for the touches after a get-and-touch, which nobody waits for.
   */
  readonly awaitsEarlierOwners: boolean;
  /** Sees each answer that came after the call had resolved (nobody waits for it any more). */
  readonly lateAnswer?: (cluster: Cluster, op: KeyOp, result: BatchResult) => void;
}

/**
 * The stamp a replica kept instead of the write stamped `stamp`, which `result` carries at
 * `stampIndex`; undefined when it applied the write. Kept: a higher stamp, or the same stamp with
 * `true` after it — a tie the write lost (ties go to a tombstone, then to the greater value),
 * which its stamp alone does not show.
 */
export function keptInstead(
  result: BatchResult,
  stampIndex: number,
  stamp: number,
): number | undefined {
  if (result[0] !== 204 && result[0] !== 404) return undefined;
  const answered = result[stampIndex];
  if (typeof answered !== 'number' || answered < stamp) return undefined;
  if (answered === stamp && result[stampIndex + 1] !== true) return undefined;
  return answered;
}

/**
 * A set's answer after the call resolved ('one'; 'quorum' with 3 or more replicas) saying the
 * replica kept another write: it now differs from the replicas that took the set, and no re-stamp
 * follows — the call has answered, and a later write of the key may already be on its way, which a
 * re-stamp would overwrite. Counted: the exception the README's Consistency section names.
 */
function countLateSuperseded(cluster: Cluster, op: KeyOp, result: BatchResult): void {
  if (op[0] === 'set' && keptInstead(result, 2, op[6]) !== undefined) {
    cluster.counters.lateSupersededWrites++;
  }
}

/** A set stored: 204. */
export const stored = (result: BatchResult): boolean => result[0] === 204;

/** A delete or touch got an answer: done (204) or the key was not there (404). */
export const answered = (result: BatchResult): boolean => result[0] === 204 || result[0] === 404;

/** A counter in a result: a number, or a bigint beyond 2^53 that nodes send for huge counters. */
export function counterOf(result: BatchResult): number | undefined {
  if (result[0] !== 200) return undefined;
  const value = result[1];
  if (typeof value === 'number') return value;
  return typeof value === 'bigint' ? Number(value) : undefined;
}

/**
 * The stamp that stands where an incr counted nothing, `result` saying so (`[200, value, stamp,
 * true]`): the entry's write is stamped at or above the incr, which a node takes as issued before
 * it. Undefined for a count, or any other answer.
 */
export function supersededCount(result: BatchResult): number | undefined {
  if (result[0] !== 200 || result[3] !== true) return undefined;
  const stamp = result[2];
  return typeof stamp === 'number' ? stamp : undefined;
}

/**
 * An incr answered with a counter: counted, or counted nothing under a newer write that stands
 * (supersededCount) — ordered before that write, as a set that lost is, so no hint follows.
 */
const counted = (result: BatchResult): boolean => counterOf(result) !== undefined;

const everyOneAsked = (_cluster: Cluster, asked: number): number => asked;

/** set: `writeConsistency`'s acks of the copies there are now, the primary's among them. */
export const STORE: WritePolicy = {
  required: (cluster) => cluster.required,
  primaryMustAck: true,
  isAck: stored,
  reportFailures: true,
  awaitsEarlierOwners: true,
  lateAnswer: countLateSuperseded,
};

/** delete, touch: every replica asked answers, since only then is "was it there" known. */
export const EVERY: WritePolicy = {
  required: everyOneAsked,
  primaryMustAck: false,
  isAck: answered,
  reportFailures: true,
  awaitsEarlierOwners: false,
};

/** delete: as EVERY, and a primary that did not answer is the call's rejection. */
export const DELETE: WritePolicy = { ...EVERY, primaryFailureRejects: true };

/** incr/decr: every replica asked counts. */
export const COUNT: WritePolicy = {
  required: everyOneAsked,
  primaryMustAck: false,
  isAck: counted,
  reportFailures: true,
  awaitsEarlierOwners: false,
};

/** The copies after add/replace/compareAndSet was decided by one replica. */
export const COPIES: WritePolicy = {
  required: (cluster) => cluster.required - 1,
  primaryMustAck: false,
  isAck: stored,
  reportFailures: true,
  awaitsEarlierOwners: true,
};

/**
 * get-and-touch's touches of the replicas after the one that answered: nobody waits for them.
 * Natural replicas that miss one get a hint, as a touch's do (read.ts touchTheOthers), and as
 * every write's do (write.ts).
 */
export const TOUCH_REST: WritePolicy = {
  required: () => 0,
  primaryMustAck: false,
  isAck: answered,
  reportFailures: true,
  awaitsEarlierOwners: false,
};
