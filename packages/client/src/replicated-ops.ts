// How each kind of operation is spread over a key's replicas. The public methods in client.ts
// validate and encode; these decide which nodes are asked and what their answers add up to.
import { isStamp } from '@dcache/core';
import type { Cluster } from './cluster.js';
import type { EncodedValue } from './codec.js';
import type { NodeClient } from './node-client.js';
import { countFailover } from './telemetry-call.js';
import type { CallTrace } from './telemetry-call.js';
import { asError, rejection } from './results.js';
import { wireCondition } from './wire.js';
import type { BatchOp, BatchResult, SetCondition } from './wire.js';
import { heldByAReplica } from './add-check.js';
import { isNodeTimeoutError } from './errors/node-timeout-error.js';
import { copyToRefusers } from './mend-refusers.js';
import { fingerprintOfHit, readEntry } from './read.js';
import type { Hit } from './read.js';
import { invalidateMoved, movedInWindow, warmKey, warmKeySeen } from './transition-ops.js';
import { writeReplicas } from './write.js';
import type { KeyOp, WriteOutcome } from './write.js';
import {
  COPIES,
  COUNT,
  DELETE,
  EVERY,
  STORE,
  counterOf,
  keptInstead,
  supersededCount,
} from './write-policy.js';
import type { ReplicaSet, WritePolicy } from './write-policy.js';

/** The key's replicas; rejects at once when every one is marked down. */
function replicasOf(cluster: Cluster, key: string): ReplicaSet {
  const target = cluster.replicaSet(key);
  if (target.live.length === 0) throw cluster.unavailable(key, [], []);
  return target;
}

/** Nobody acknowledged: a node's refusal of the operation wins over "unreachable". */
function noAck(
  cluster: Cluster,
  key: string,
  nodes: readonly NodeClient[],
  outcome: WriteOutcome,
): Error {
  for (const { node, result } of outcome.results) {
    if (result[0] >= 400 && result[0] !== 404 && result[0] !== 412) {
      return rejection(node.url, key, result);
    }
  }
  // None failed, yet none acknowledged (answers no node gives): the answers are the reasons, as a
  // malformed get result is (read.ts). Without any, the error would say "all marked down".
  const errors =
    outcome.errors.length > 0
      ? outcome.errors
      : outcome.results.map(({ node, result }) => rejection(node.url, key, result));
  return cluster.unavailable(key, nodes, errors);
}

/** Sends of one write at most: a write outstamped again after a re-stamp is racing a live writer. */
const MAX_RESTAMPS = 3;

/**
 * The highest stamp a replica kept instead of the write `stamp` ({@link keptInstead}), of the
 * answers `outcome` carries; undefined when every replica that answered applied it.
 */
function outstampedBy(
  outcome: WriteOutcome,
  { stampIndex, flaggedOnly }: StampedWrite,
  stamp: number,
): number | undefined {
  let standing: number | undefined;
  for (const { result } of outcome.results) {
    if (flaggedOnly === true && result[stampIndex + 1] !== true) continue;
    const kept = keptInstead(result, stampIndex, stamp);
    if (kept !== undefined && (standing === undefined || kept > standing)) standing = kept;
  }
  return standing;
}

/** A stamped write, built for any stamp so it can be sent again above one that outstamped it. */
interface StampedWrite {
  build: (stamp: number) => KeyOp;
  /** The stamp of the first send. */
  stamp: number;
  /** Where answers carry the stamp that stands. */
  stampIndex: number;
  /**
   * Kept out only where the answer says so (superseded, after the stamp): a touch, which a node of
   * the previous release applied above the entry, answering that higher stamp unflagged.
   */
  flaggedOnly?: true;
}

/**
 * Sends the write `build(stamp)` (with `alongside(stamp)` in parallel, awaited too) and, while a
 * replica answers that it kept another write instead (outstampedBy), sends it again stamped above
 * that one, at most MAX_RESTAMPS times in all; resolves to the last send's outcome.
 *
 * Stamps order two writers only as far as their clocks agree: another client's write stamped in
 * the same clock tick (or a higher one, its clock a little ahead) would hide this one, though this
 * one began after it ended. Stamped above it, the write is what the next read sees. A write kept
 * after this one's first send landed raced it, and may stand.
 */
async function writeNewest(
  cluster: Cluster,
  target: ReplicaSet,
  write: StampedWrite,
  policy: WritePolicy,
  queued: boolean,
  trace: CallTrace | undefined,
  alongside?: (stamp: number) => Promise<unknown> | undefined,
): Promise<WriteOutcome> {
  let stamp = write.stamp;
  for (let attempt = 1; ; attempt++) {
    const beside = alongside?.(stamp);
    const outcome = await writeReplicas(cluster, target, write.build(stamp), policy, queued, trace);
    if (beside !== undefined) await beside;
    if (attempt === MAX_RESTAMPS) return outcome;
    const standing = outstampedBy(outcome, write, stamp);
    if (standing === undefined) return outcome;
    cluster.counters.restampedWrites++;
    cluster.clock.observe(standing);
    stamp = cluster.clock.tick();
  }
}

/**
 * set: true at the acknowledgements `writeConsistency` asks of the copies there are now, false
 * with fewer but some, an error with none.
 */
export async function storeEverywhere(
  cluster: Cluster,
  key: string,
  value: EncodedValue,
  ttl: number | null,
  queued: boolean,
  trace?: CallTrace,
): Promise<boolean> {
  const target = replicasOf(cluster, key);
  const stored = cluster.storedKey(key);
  const build = (stamp: number): KeyOp =>
    ['set', stored, value.bytes, value.flags, ttl, null, stamp] as const;
  const outcome = await writeNewest(
    cluster,
    target,
    { build, stamp: cluster.clock.tick(), stampIndex: 2 },
    STORE,
    queued,
    trace,
    // In a transition window: the previous owners' copies go, in parallel with the write.
    (stamp) => invalidateMoved(cluster, key, stamp, queued),
  );
  // Reads ask the primary first: without its acknowledgement the write is not known to be what the
  // next read sees (a request that timed out may never have been sent, or land later), so it is
  // only partly done — false — however many other replicas took it. Their hints fix the primary.
  if (outcome.primaryMissed === undefined) {
    if (outcome.acks >= STORE.required(cluster, target.live.length)) return true;
  }
  if (outcome.acks > 0) return false;
  throw noAck(cluster, key, target.live, outcome);
}

/**
 * delete / touch: waits for every replica, since only then is "was it there" known and every copy
 * changed. True when any replica held the key. With `primaryMustAnswer` (delete), a primary that
 * did not answer rejects the call with its error even though other replicas did: reads ask the
 * primary first, and it may still serve the value, so the delete is not done (its outcome is
 * unknown, as after a lost connection); the replicas that answered keep their tombstones and the
 * primary gets a hint. A delete or touch is sent again above a write that outstamped it
 * (writeNewest): a node applies a touch only above the entry's stamp. With `mendRefusers` (touch), the
 * replicas that answered 404 while another touched get the touched entry before the call answers
 * (mend-refusers.ts).
 */
async function onEveryReplica(
  cluster: Cluster,
  key: string,
  write: StampedWrite,
  queued: boolean,
  trace: CallTrace | undefined,
  { primaryMustAnswer = false, mendRefusers = false } = {},
): Promise<boolean> {
  const target = replicasOf(cluster, key);
  const policy = primaryMustAnswer ? DELETE : EVERY;
  const outcome = await writeNewest(cluster, target, write, policy, queued, trace);
  const missed = outcome.primaryMissed;
  if (primaryMustAnswer && missed !== undefined && outcome.acks > 0) throw missed;
  const done = outcome.results.find(({ result }) => result[0] === 204)?.node;
  if (done !== undefined) {
    if (mendRefusers) await copyToRefusers(cluster, key, done, target.natural, outcome, queued);
    return true;
  }
  if (outcome.acks > 0) return false;
  throw noAck(cluster, key, target.live, outcome);
}

export async function deleteEverywhere(
  cluster: Cluster,
  key: string,
  queued: boolean,
  trace?: CallTrace,
): Promise<boolean> {
  const stamp = cluster.clock.tick();
  // In a transition window the previous owners' copies are buried too, in parallel.
  const invalidation = invalidateMoved(cluster, key, stamp, queued, true);
  const stored = cluster.storedKey(key);
  const build = (at: number): KeyOp => ['delete', stored, at];
  const write = { build, stamp, stampIndex: 1 };
  const deleted = onEveryReplica(cluster, key, write, queued, trace, { primaryMustAnswer: true });
  if (invalidation === undefined) return deleted;
  // Both settle before the answer; "was it there" counts a previous owner's copy too.
  const [heldBefore, heldNow] = await Promise.allSettled([invalidation, deleted]);
  if (heldNow.status === 'rejected') throw heldNow.reason;
  return heldNow.value || (heldBefore.status === 'fulfilled' && heldBefore.value);
}

/** touch: a new TTL (ms, 0 = never expires) on every replica holding the key. */
export async function touchEverywhere(
  cluster: Cluster,
  key: string,
  ttl: number,
  queued: boolean,
  trace?: CallTrace,
  signal?: AbortSignal,
): Promise<boolean> {
  const touch = (): Promise<boolean> => {
    // In a window it runs after the warming reads: a caller that gave up meanwhile has been told
    // the call was abandoned, and its touch is not sent.
    signal?.throwIfAborted();
    return onEveryReplica(
      cluster,
      key,
      {
        build: (stamp) => ['touch', cluster.storedKey(key), ttl, stamp],
        stamp: cluster.clock.tick(),
        // A node leaves an entry stamped at or above the touch as it is (the touch was issued
        // before that write, as far as stamps tell), answering its stamp: sent again above it.
        stampIndex: 1,
        flaggedOnly: true,
      },
      queued,
      trace,
      { mendRefusers: true },
    );
  };
  if (!cluster.transition.open) return touch();
  // Warmed first: a new owner may hold an older copy than a previous owner (a client that has not
  // seen the change wrote there, or the key moved back), and the touch would stamp that older copy
  // above the newer one, which the bury after it then removes — the newer value lost for good.
  return inWindow(cluster, key, queued, trace, touch, (held) => held, true);
}

/**
 * getAndTouch: the node that answers the read touches the key as it reads it (read.ts). Not a key
 * that moved in an open window: its new owner may hold an older copy than a previous owner, and
 * touched first it would be stamped above the newer copy, which the read then no longer sees as
 * newer — served stale, and kept for good. There the read goes first (the newest copy wins and is
 * backfilled), then the touch, which warms the new owners before it stamps (touchEverywhere).
 *
 * A key that moves while its read is under way (the ring changed meanwhile) was read and touched
 * on the replicas of the ring before; one of them that is no owner now is a previous owner, which
 * the background touch no longer reaches (it goes to members) and the window's reads ask. It gets
 * the moved key's touch too, which buries it: kept under the old TTL, it would serve the value
 * past the new one. Outside a window that costs one check.
 */
export async function getAndTouchEverywhere(
  cluster: Cluster,
  key: string,
  ttl: number,
  queued: boolean,
  trace?: CallTrace,
  signal?: AbortSignal,
): Promise<Hit | undefined> {
  if (!cluster.transition.open || !movedInWindow(cluster, key)) {
    const read = await readEntry(cluster, key, queued, { touch: ttl, trace, signal });
    if (read === undefined || !cluster.transition.open || !movedInWindow(cluster, key)) return read;
    // Not the caller's signal: the read's touch already reached some replicas, so the rest of it
    // is not abandoned half done (as the read's own background touch is not).
    await touchEverywhere(cluster, key, ttl, queued, trace);
    return read;
  }
  const hit = await readEntry(cluster, key, queued, { trace, signal });
  if (hit === undefined) return undefined;
  // The caller gave up during the read: its touch, a later round, is not sent.
  signal?.throwIfAborted();
  await touchEverywhere(cluster, key, ttl, queued, trace, signal);
  return { ...hit, ttl: ttl === 0 ? null : ttl };
}

/**
 * An operation that changes the key where it is (touch, incr) during a transition window: when it
 * found nothing on the new owners and the key moved, the previous owners' copy is backfilled and
 * it runs once more (also when no copy applied: a write racing it may have stored the key there);
 * then the previous owners' copies are buried. Their tombstone takes a stamp from before the
 * operation, so it stays below whatever the operation stored (a node stamps an incr or touch at
 * least at its op's stamp): were the key to move back, the tombstone would not hide that value.
 * `warmFirst` backfills before the first run instead, so that it runs on the newest copy.
 * `stampedAt`: the operation is stamped at that (a read-through's add, as of its load's start),
 * older than a stamp taken now; the tombstone goes just below it.
 */
async function inWindow<T>(
  cluster: Cluster,
  key: string,
  queued: boolean,
  trace: CallTrace | undefined,
  run: () => Promise<T>,
  found: (result: T) => boolean,
  warmFirst = false,
  stampedAt?: number,
): Promise<T> {
  const before = stampedAt === undefined ? cluster.clock.tick() : stampedAt - 1;
  const warmed = warmFirst && (await warmKey(cluster, key, queued, trace));
  let result = await run();
  if (!found(result) && !warmed && (await warmKey(cluster, key, queued, trace))) {
    result = await run();
  }
  // invalidateMoved buries one below the stamp it is given.
  await invalidateMoved(cluster, key, before + 1, queued);
  return result;
}

/** The first replica, in preference order, that counted, with its count. */
function firstCount(
  nodes: readonly NodeClient[],
  outcome: WriteOutcome,
): { node: NodeClient; value: number } | undefined {
  for (const node of nodes) {
    const answer = outcome.results.find((entry) => entry.node === node)?.result;
    if (answer === undefined || supersededCount(answer) !== undefined) continue;
    const value = counterOf(answer);
    if (value !== undefined) return { node, value };
  }
  return undefined;
}

/**
 * Sends an incr (`op`, built for any stamp) to `target`. One that no replica counted, some
 * answering that the write their count starts from is stamped at or above it (supersededCount: a
 * write this client's clock had not reached — a node takes such an incr as issued before that
 * write, delivered late), is sent again to those, stamped above the highest such stamp, as a set
 * is (writeNewest), at most MAX_RESTAMPS sends in all. Never once a replica counted: sent again it
 * would count twice there, while the replicas that answered so hold a write newer than the incr,
 * which wins. Nor to a replica that failed or lacked the key: its answer stays in the outcome.
 */
async function countAbove(
  cluster: Cluster,
  target: ReplicaSet,
  op: (stamp: number) => KeyOp,
  queued: boolean,
  trace: CallTrace | undefined,
  signal: AbortSignal | undefined,
): Promise<WriteOutcome> {
  let outcome = await writeReplicas(
    cluster,
    target,
    op(cluster.clock.tick()),
    COUNT,
    queued,
    trace,
  );
  for (let attempt = 1; attempt < MAX_RESTAMPS; attempt++) {
    if (firstCount(target.live, outcome) !== undefined) return outcome;
    let standing: number | undefined;
    const again: NodeClient[] = [];
    for (const { node, result } of outcome.results) {
      const kept = supersededCount(result);
      if (kept === undefined) continue;
      again.push(node);
      if (standing === undefined || kept > standing) standing = kept;
    }
    if (standing === undefined) return outcome;
    // The caller gave up meanwhile: counting now would count a call it was told was abandoned.
    signal?.throwIfAborted();
    cluster.counters.restampedWrites++;
    // Above it even when this client's clock refuses to take it (further ahead than its
    // maxSkewMs, as a node with a wider --max-clock-skew takes): sent below it again, the incr
    // would count nowhere. The nodes took that stamp, so they take one just above it.
    cluster.clock.observe(standing);
    const stamp = Math.max(cluster.clock.tick(), standing + 1);
    const live = cluster.members(again);
    const sent = await writeReplicas(
      cluster,
      { natural: target.natural, live },
      op(stamp),
      COUNT,
      queued,
      trace,
    );
    const others = outcome.results.filter(({ node }) => !again.includes(node));
    outcome = {
      acks: others.filter(({ result }) => COUNT.isAck(result)).length + sent.acks,
      results: [...others, ...sent.results],
      errors: [...outcome.errors, ...sent.errors],
      primaryMissed: outcome.primaryMissed ?? sent.primaryMissed,
    };
  }
  return outcome;
}

/**
 * incr/decr on every replica; the first replica in preference order that counted answers.
 *
 * With a seed (`initial`) the counter is created only when no replica counted and one lacked it:
 * the plain incr goes first. Sent seeded at once, a primary that lost the counter (a restart, an
 * eviction) would create it afresh and answer first, while a replica still counted the real total
 * — a rate limiter silently reset. So creation costs a second round trip, once per counter.
 */
export async function incrEverywhere(
  cluster: Cluster,
  key: string,
  delta: number,
  seed: { initial: number | null; ttl: number | null },
  queued: boolean,
  trace?: CallTrace,
  signal?: AbortSignal,
): Promise<number | undefined> {
  if (!cluster.transition.open) {
    return incrOnReplicas(cluster, key, delta, seed, queued, trace, signal);
  }
  // Unseeded first: a counter the new owners lack may still be counting on a previous owner,
  // and creating it afresh would reset it.
  let runs = 0;
  // The replicas whose incr of an earlier round failed: it may have counted there (an answer lost
  // with its connection, a paused node), so a later round leaves them out and they get a hint.
  const unsure = new Set<NodeClient>();
  const counted = await inWindow(
    cluster,
    key,
    queued,
    trace,
    () =>
      incrOnReplicas(
        cluster,
        key,
        delta,
        runs++ === 0 ? UNSEEDED : seed,
        queued,
        trace,
        signal,
        unsure,
      ),
    (value) => value !== undefined,
    // Warmed first: a new owner may hold an older count than a previous owner (a client that has
    // not seen the change counted there), and counting on it would lose those counts for good.
    true,
  );
  // Nowhere before either: created from the seed, as outside a window.
  if (counted !== undefined || seed.initial === null || runs > 1) return counted;
  return incrOnReplicas(cluster, key, delta, seed, queued, trace, signal, unsure);
}

const UNSEEDED = { initial: null, ttl: null } as const;

async function incrOnReplicas(
  cluster: Cluster,
  key: string,
  delta: number,
  seed: { initial: number | null; ttl: number | null },
  queued: boolean,
  trace?: CallTrace,
  signal?: AbortSignal,
  /** Replicas an earlier round of the call failed on (read and added to): not asked again. */
  unsure?: Set<NodeClient>,
): Promise<number | undefined> {
  // A later round of the call (a transition window's) after the caller gave up: not sent.
  signal?.throwIfAborted();
  const ring = replicasOf(cluster, key);
  const target =
    unsure === undefined || unsure.size === 0
      ? ring
      : { natural: ring.natural, live: ring.live.filter((node) => !unsure.has(node)) };
  const nodes = target.live;
  const stored = cluster.storedKey(key);
  // Reported: a replica that failed, refused (e.g. too_large) or lacked the counter while another
  // counted — the copies now differ. Not when none counted: then the call itself answers. One
  // that lacked it (or could not vouch for it) gets the count before the call answers.
  const unseeded = (stamp: number): KeyOp => ['incr', stored, delta, null, null, stamp, true];
  let outcome = await countAbove(cluster, target, unseeded, queued, trace, signal);
  const counted = firstCount(nodes, outcome);
  if (unsure !== undefined && counted === undefined) {
    // COUNT waits for every replica asked: those without an answer failed.
    for (const node of cluster.members(nodes)) {
      if (!outcome.results.some((entry) => entry.node === node)) unsure.add(node);
    }
  }
  if (counted !== undefined) {
    await copyToRefusers(cluster, key, counted.node, target.natural, outcome, queued);
    return counted.value;
  }
  const missingOn = outcome.results.filter(({ result }) => result[0] === 404);
  if (missingOn.length > 0 && seed.initial !== null) {
    // The caller gave up during the first round: creating the counter now would count a call it
    // was told was abandoned, and its retry would count again.
    signal?.throwIfAborted();
    // Only the replicas that answered "not here" create it, so the copies start equal (one that
    // counted meanwhile — another client's incr — counts this one too). A replica whose first
    // incr failed is not asked again: that incr may have counted, and a second would count twice.
    const creators = missingOn.map(({ node }) => node);
    const seeded = (stamp: number): KeyOp => [
      'incr',
      stored,
      delta,
      seed.initial,
      seed.ttl,
      stamp,
      true,
    ];
    // Asked: the creators; hinted: the key's natural replicas that did not create it (marked down,
    // or failed). A stand-in among the creators is one, not a replica: it drops its copy once the
    // hint it holds is delivered, or it would keep a counter the replicas later replaced, and
    // count on it when a replica is down again.
    const creating = { natural: target.natural, live: creators };
    const created = await countAbove(cluster, creating, seeded, queued, trace, signal);
    const createdBy = firstCount(creators, created);
    // Both rounds as one outcome: the first round's failures and refusals (those not asked again)
    // with the second round's answers, for the report on success or the error on failure.
    const firstRound = outcome;
    outcome = {
      acks: created.acks,
      results: [
        ...firstRound.results.filter(({ result }) => result[0] !== 404),
        ...created.results,
      ],
      errors: [...firstRound.errors, ...created.errors],
    };
    if (createdBy !== undefined) {
      // The call succeeds, so the first round's failures are the caller's no longer: report them.
      for (const error of firstRound.errors) cluster.reportFailure(error, 'replica-write', key);
      for (const { node, result } of firstRound.results) {
        if (result[0] !== 404) {
          cluster.reportFailure(rejection(node.url, key, result), 'replica-write', key);
        }
      }
      await copyToRefusers(cluster, key, createdBy.node, target.natural, created, queued);
      return createdBy.value;
    }
    // Every replica answered "not here" to the seeded incr too: nodes holding a count they cannot
    // vouch for, of an earlier release whose seeded incr creates nothing over it (a rolling
    // upgrade). Up and answering, so never "unreachable": a miss, as the unseeded incr answers.
    const { errors, results } = outcome;
    if (
      errors.length === 0 &&
      results.length > 0 &&
      results.every(({ result }) => result[0] === 404)
    ) {
      return undefined;
    }
  } else if (missingOn.length > 0) {
    return undefined;
  }
  throw noAck(cluster, key, nodes, outcome);
}

/** A failed request that may have reached its node: all but one that never left this client. */
function mayHaveLanded(error: Error): boolean {
  return !(isNodeTimeoutError(error) && error.waitedForConnection);
}

/** What the caller already found out about the key, so a conditional write need not ask again. */
export interface Known {
  /** Every replica was just read without finding the key (getOrSet's read before its add). */
  readonly absent?: boolean;
  /**
   * getOrSet's stamp from before its load: the add is stamped with it, and the deciding replica
   * refuses it when anything it holds of the key (a write or a tombstone), its flush, or a delete
   * it may have forgotten is stamped after it (a delete made during the load may have followed a
   * change to the source the loader read before).
   */
  readonly since?: number;
  /** A read that looked for the key on every replica has run (a replace's second try). */
  readonly read?: boolean;
  /** The newest tombstone the key's previous owners hold (a transition window; 0: none). */
  readonly buriedAt?: number;
  /**
   * The caller's signal: once it aborts, the call has rejected, so no further round is sent (an
   * add after its check, a failover to the next replica, a replace or compare-and-set decided
   * again); what was already sent still completes.
   */
  readonly signal?: AbortSignal | undefined;
}

const NOTHING_KNOWN: Known = {};

/**
 * add / replace / compare-and-set: decided by the first reachable replica (the primary unless it
 * fails), then copied unconditionally to the remaining replicas. An add asks every replica for the
 * key first, and a replace the primary refused reads it before deciding once more (`known` says
 * what the caller found out already).
 */
export async function storeIfPrimaryAgrees(
  cluster: Cluster,
  key: string,
  value: EncodedValue,
  ttl: number | null,
  condition: SetCondition,
  queued: boolean,
  trace?: CallTrace,
  known: Known = NOTHING_KNOWN,
): Promise<boolean> {
  if (!cluster.transition.open) {
    return decideOnPrimary(cluster, key, value, ttl, condition, queued, trace, known);
  }
  // The condition must see the key's value, which may still be on a previous owner only; and an
  // add's check, a delete a previous owner holds that buries a new owner's older copy.
  const { deletedAt } = await warmKeySeen(cluster, key, queued, trace);
  const seen = deletedAt > 0 ? { ...known, buriedAt: deletedAt } : known;
  const decide = (): Promise<boolean> =>
    decideOnPrimary(cluster, key, value, ttl, condition, queued, trace, seen);
  // A read-through's add is stamped as of its load's start: buried above that, the previous
  // owners would hold a tombstone newer than the loaded value, and the next read of the key
  // (newestOfPrevious) would take it for a delete and bury the value on its new owners.
  const since = condition === 'add' ? known.since : undefined;
  return inWindow(cluster, key, queued, trace, decide, () => true, false, since);
}

async function decideOnPrimary(
  cluster: Cluster,
  key: string,
  value: EncodedValue,
  ttl: number | null,
  condition: SetCondition,
  queued: boolean,
  trace: CallTrace | undefined,
  known: Known,
): Promise<boolean> {
  const { signal } = known;
  const target = replicasOf(cluster, key);
  // A previous owner's delete (a transition window) made during a read-through's load.
  if (condition === 'add' && known.since !== undefined && (known.buriedAt ?? 0) > known.since) {
    return false;
  }
  // An add first asks every replica for the key: the one deciding it may have lost it (add-check.ts).
  if (
    condition === 'add' &&
    known.absent !== true &&
    (await heldByAReplica(cluster, key, target, queued, trace, known.buriedAt ?? 0))
  ) {
    return false;
  }
  // After the check's round trip, as before each replica asked below: an abandoned call sends no
  // write the caller was told nothing about (an add taking a lock after the caller gave up).
  signal?.throwIfAborted();
  const nodes = target.live;
  const { bytes, flags } = value;
  const stored = cluster.storedKey(key);
  // A read-through's add is stamped as of its load's start (the node raises it above what it
  // holds and its flush, both older or it refuses): a delete made during the load that reaches
  // the deciding replica after the add still outranks it, and its copies lose to that delete.
  const since = condition === 'add' ? known.since : undefined;
  const stamp = since ?? cluster.clock.tick();
  /** The replicas before the deciding one that failed, each with its failure. */
  const failed: [NodeClient, Error][] = [];
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    if (!cluster.isMember(node)) continue; // removed while an earlier replica was asked
    // Only a natural replica can decide: a stand-in (every natural one marked down) holds nothing
    // of the key, so an add would pass there while the key exists, and its hint would later carry
    // the add's value over the existing one. Without a natural replica the call is unavailable.
    if (!target.natural.includes(node)) continue;
    signal?.throwIfAborted();
    let result: BatchResult;
    if (trace !== undefined) trace.nodesTried++;
    try {
      const op: BatchOp =
        since !== undefined
          ? ['set', stored, bytes, flags, ttl, 'add', stamp, since]
          : ['set', stored, bytes, flags, ttl, wireCondition(condition), stamp];
      result = await node.run(op, queued, trace);
    } catch (error) {
      countFailover(trace, error);
      failed.push([node, asError(error)]);
      continue;
    }
    if (result[0] === 412) {
      // A replica before this one failed: its request may still land (a paused node applies it
      // when it resumes). This refusal cannot say nothing was stored: the outcome is unknown, as
      // a delete whose primary did not answer (onEveryReplica), so the call rejects with it.
      const unsure = failed.find(([, error]) => mayHaveLanded(error));
      if (unsure !== undefined) throw unsure[1];
      // A replace or compare-and-set that found nothing here, or another write, where a replica
      // that lost the key (restarted empty) cannot tell absent from lost: a read finds it on
      // another replica and copies it back, and the call is decided again, once — a
      // compare-and-set only when what the read found is the write it names. Otherwise it would
      // fail while reads serve the value it was read from.
      if (condition === 'add' || condition === null || known.read === true) return false;
      const found = await readEntry(cluster, key, queued, { awaitRepair: true, trace, signal });
      if (found === undefined) return false;
      if (typeof condition === 'number' && fingerprintOfHit(found) !== condition) return false;
      const again = { read: true, signal };
      return decideOnPrimary(cluster, key, value, ttl, condition, queued, trace, again);
    }
    if (result[0] !== 204) throw rejection(node.url, key, result);
    // Stored without the replicas before this one, which failed: the call says true, so say it here.
    for (const [earlier, error] of failed) {
      cluster.reportBackgroundError(error, { operation: 'replica-write', key, node: earlier.url });
    }
    // The copies carry the stamp the deciding replica stored, so every replica holds one version.
    const decided = isStamp(result[2]) ? result[2] : stamp;
    const op = ['set', stored, bytes, flags, ttl, null, decided] as const;
    // The answer is the primary's decision: a copy that fails is reported, not returned.
    const rest = {
      natural: target.natural.filter((other) => other !== node),
      live: nodes.slice(i + 1),
      holding: [node],
    };
    await writeReplicas(cluster, rest, op, COPIES, queued, trace);
    return true;
  }
  const errors = failed.map(([, error]) => error);
  throw cluster.unavailable(key, nodes, errors);
}
