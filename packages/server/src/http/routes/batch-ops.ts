import type { NodeState } from '../app-env.js';
import { HttpError, isHttpError } from '../../errors/http-error.js';
import { checkInitial, count, counterSeed, counterValue } from '../../operations/incr.js';
import type { CounterSeed } from '../../operations/incr.js';
import { COPY_ORIGINS } from '../../replication/replica-store.js';
import type { CopyOrigin } from '../../replication/replica-store.js';
import { belowStamp, stampOf } from '../../replication/replica-order.js';
import { peerOrigin } from '../../replication/replication-options.js';
import { MAX_HINT_TARGETS } from '../../replication/hints.js';
import { Bin, MsgpackReader, NOT_SCALAR } from '../codec/msgpack-reader.js';
import { MsgpackWriter } from '../codec/msgpack-writer.js';
import type { FinishedResponse } from '../codec/msgpack-writer.js';
import type { ItemsVerdict } from '../codec/msgpack-items.js';
import { declaredArrayLength, scanItems } from '../codec/msgpack-items.js';
import type { FingerprintCondition, WriteCondition } from '../../operations/store.js';
import { tooDeep } from '../codec/nesting.js';
import { touchAfterRead } from '../../operations/touch.js';
import { checkDelay, checkFlags, checkKey, checkTtl } from '../../operations/validate.js';
import { Refused } from '../../operations/refusal.js';
import type { Refusal } from '../../operations/refusal.js';
import { storedValue, valueData, valueLength } from '../../operations/stored-value.js';

/** Elements of the longest operation: ["set", key, bytes, flags, ttl, cond, stamp, since]. */
const OP_ITEMS = 8;
/** Why scanItems refused a body, as the message of its 400 bad_batch. */
const SCAN_REFUSALS: Readonly<
  Record<Exclude<ItemsVerdict, 'ok' | 'too_deep' | 'truncated' | 'invalid'>, string>
> = {
  too_many_items: 'more msgpack items than its operations can hold (they hold scalars only)',
  extension: 'a msgpack extension type (no operation uses one)',
  trailing_bytes: 'bytes after the array of operations',
  bad_utf8: 'a string that is not valid UTF-8 (a msgpack str must be; keys are Unicode text)',
};

function badOp(message: string): Refused {
  return new Refused(400, 'bad_op', message);
}

const BAD_CONDITION = badOp(
  'a set condition is null, "add", "replace", a version number or -(fingerprint + 1)',
);
const SINCE_WITHOUT_ADD = badOp('a set carries `since` only with the condition "add"');
const NOT_AN_OPERATION = badOp('an operation is an array starting with its name');
const BAD_DELTA = new Refused(400, 'bad_delta', 'delta must be an integer');

/**
 * A set's `cond`: null, "add", "replace", this node's version (CAS), or a write's fingerprint `f`
 * as the negative integer −(f + 1) (a cluster client's compare-and-set; operations hold scalars
 * only, and a node that predates it refuses a negative condition rather than misread it).
 */
function condition(cond: unknown): WriteCondition | FingerprintCondition | Refused {
  if (cond === null || cond === undefined || cond === 'add' || cond === 'replace')
    return cond ?? null;
  if (typeof cond === 'number' && Number.isSafeInteger(cond)) {
    return cond >= 0 ? cond : { fingerprint: -cond - 1 };
  }
  return BAD_CONDITION;
}

function delta(value: unknown): bigint | Refused {
  if (typeof value === 'bigint') return value;
  // ±2^53 itself arrives as a number from a 64-bit msgpack integer (int64AsType 'auto'), exactly.
  if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) <= 2 ** 53)
    return BigInt(value);
  return BAD_DELTA;
}

/** incr's optional `initial` and `ttlMs`: what to create when the counter is missing. */
function seed(initial: unknown, ttl: unknown): CounterSeed | undefined | Refused {
  const start = initial === undefined || initial === null ? undefined : checkInitial(initial);
  if (start instanceof Refused) return start;
  const life = ttl === undefined || ttl === null ? undefined : checkTtl(ttl);
  if (life instanceof Refused) return life;
  return counterSeed(start, life);
}

/** An optional element: undefined when absent or null, else what `check` makes of it. */
function optional<T>(
  value: unknown,
  check: (value: unknown) => T | Refused,
): T | undefined | Refused {
  return value === undefined || value === null ? undefined : check(value);
}

/**
 * The node's clock on every batch response (the newest stamp it issued or observed): clients
 * observe it, so their next write is stamped above everything this node had seen.
 */
export const CLOCK_HEADER = 'dcache-clock';

/**
 * This node's start (the stamp of its store's start) on every batch response: a client that sees
 * it change knows the node restarted — empty, or from a snapshot with every entry unverified —
 * even when it never saw the node down, and restores its keys from the other replicas.
 */
export const START_HEADER = 'dcache-start';

/** How many nodes the sending client spreads keys over (ReplicaStore.noteRingNodes). */
export const RING_NODES_HEADER = 'dcache-ring-nodes';

/**
 * The body of `POST /v1/batch` in, the msgpack of its results out (docs/wire-protocol.md); throws
 * an HttpError when the batch as a whole is refused. Shared by the hono route and the node's
 * fast path, so both answer byte for byte the same. The response has room for its HTTP head before
 * it (`withHead`).
 */
export type RunBatch = (body: Uint8Array) => FinishedResponse;

export function batchRunner(node: NodeState): RunBatch {
  const { replicas, hints, flush, metrics, options, bodyBudget } = node;
  const { maxKeyBytes, maxValueBytes, maxBatchBytes } = options;
  /** The array, then one per operation: its array and at most OP_ITEMS elements. */
  const maxItems = 1 + options.maxBatchOps * (1 + OP_ITEMS);
  /** Value bytes the current batch's response may still carry (runs are synchronous, one at a time). */
  let valueBytesLeft = maxBatchBytes;

  function tooManyOperations(): HttpError {
    return new HttpError(
      413,
      'too_many_operations',
      `a batch holds at most ${options.maxBatchOps} operations`,
    );
  }

  const responseTooLarge = new Refused(
    413,
    'too_large',
    `the values in one batch response are limited to ${maxBatchBytes} bytes (maxBatchBytes); get this key in another batch`,
  );
  const valueTooLarge = new Refused(
    413,
    'too_large',
    `the value exceeds the limit of ${maxValueBytes} bytes`,
  );
  const hintTargetsFull = new Refused(
    503,
    'too_many_hint_targets',
    `this node already holds hints for ${MAX_HINT_TARGETS} other nodes; hand this one to another replica`,
  );
  const badOrigin = badOp(`origin must be one of ${COPY_ORIGINS.map((o) => `"${o}"`).join(', ')}`);
  const accept = (stamp: unknown): number | Refused => replicas.accept(stamp);

  /** A value's bytes, as the reader read its bin (a Bin) or msgpackr did (an operation it decoded). */
  function valueIn(bin: unknown, what: string): string | Uint8Array | Refused {
    let bytes: string | Uint8Array;
    if (bin instanceof Bin) bytes = bin.bytes;
    else if (bin instanceof Uint8Array) bytes = bin;
    else return badOp(`${what} needs its value as msgpack bin`);
    return bytes.length > maxValueBytes ? valueTooLarge : bytes;
  }

  function originIn(value: unknown): CopyOrigin | Refused {
    return COPY_ORIGINS.includes(value as CopyOrigin) ? (value as CopyOrigin) : badOrigin;
  }

  const out = new MsgpackWriter();
  const reader = new MsgpackReader();
  /**
   * The elements of the operation being run, decoded in place; reused, as runs are synchronous.
   * Past the operation's own length it holds undefined, as a shorter array reads.
   */
  const elements: unknown[] = new Array<unknown>(OP_ITEMS + 1).fill(undefined);
  /** Elements the previous operation set (cleared before the next). */
  let filled = 0;

  /** A miss: the tombstone's stamp when there is one, and what this node's absence proves. */
  function miss(tombstone: number | null): undefined {
    out.array(3);
    out.number(404);
    if (tombstone === null) out.nil();
    else out.number(tombstone);
    out.number(replicas.vouchingFloor());
    return undefined;
  }

  function status(code: number): undefined {
    out.array(1);
    out.number(code);
    return undefined;
  }

  /** `[code, stamp]`: a write's or copy's outcome. */
  function stamped(code: number, stamp: number): undefined {
    out.array(2);
    out.number(code);
    out.number(stamp);
    return undefined;
  }

  /**
   * Runs one operation and writes its result, or answers why it refused it (before writing
   * anything; the caller writes `[status, code, message]`). No exception for a bad operation.
   */
  function run(op: readonly unknown[], length: number): Refused | undefined {
    if (typeof op[0] !== 'string') return NOT_AN_OPERATION;
    // The one operation without a key: ["flush"] or ["flush", delayMs] (null or 0 = now), which
    // sets the node's one flush time as POST /v1/flush does (a string there is a 400 bad_delay).
    // A client's flush also carries its stamp: delivered late (the node was paused when it was
    // sent), the flush still stands where the client issued it, not above the writes made since.
    if (op[0] === 'flush') {
      if (length > 3)
        return badOp('flush takes at most a delay and a stamp: ["flush", delayMs?, stamp?]');
      const delay = optional(op[1], checkDelay) ?? 0;
      if (delay instanceof Refused) return delay;
      const stamp = optional(op[2], accept);
      if (stamp instanceof Refused) return stamp;
      if (stamp !== undefined && delay <= 0) replicas.flushAt(stamp);
      else flush.flush(delay);
      return status(204);
    }
    const key = checkKey(op[1], maxKeyBytes);
    if (key instanceof Refused) return key;
    switch (op[0]) {
      case 'get': {
        // An optional third element makes it a get-and-touch (memcached's gat): checked first,
        // so a bad one fails the operation before it counts a hit.
        const newTtl = optional(op[2], checkTtl);
        if (newTtl instanceof Refused) return newTtl;
        // A get-and-touch's fifth element: the client's stamp for the touch. Stamped by this
        // node's clock when it runs, a get-and-touch delivered late (its node was paused or cut
        // off) would outrank a write made meanwhile, and the write's copy would then be refused.
        const touchStamp = newTtl === undefined ? undefined : optional(op[4], accept);
        if (touchStamp instanceof Refused) return touchStamp;
        // A refused get must be no hit and promote nothing, so when a value might not fit, look
        // without touching first. Only then: the common get does one lookup.
        if (valueBytesLeft < maxValueBytes && valueBytesLeft < maxBatchBytes) {
          const peeked = replicas.peekRaw(key);
          if (peeked !== undefined && valueLength(peeked.value) > valueBytesLeft) {
            return responseTooLarge;
          }
        }
        const entry = replicas.lookup(key);
        if (entry === undefined) return miss(null);
        const { value } = entry;
        if (value.tombstone) return miss(stampOf(value));
        // A small request must not build a huge response (1000 gets of a 1 MiB value ≈ 1 GiB): the
        // peek above refuses what no longer fits. A value alone in its response is always served,
        // whatever its size, so every stored value stays readable and a client refetching refused
        // gets always makes progress.
        valueBytesLeft = Math.max(0, valueBytesLeft - valueLength(value));
        const verified = replicas.isVerified(entry);
        const ttl = touchAfterRead(replicas, key, entry.ttl, newTtl, verified, touchStamp);
        // A fourth element `true`: the client reads this replica because the key's primary did not
        // answer, and its writes do not wait for this one (writeConsistency 'one'): possibly stale.
        if (op[3] === true) replicas.servedUnvouched(key);
        out.array(verified ? 6 : 7);
        out.number(200);
        out.bin(valueData(value));
        out.number(value.flags);
        out.number(entry.version);
        if (ttl === undefined) out.nil();
        else out.number(ttl);
        out.number(stampOf(value));
        if (!verified) out.bool(true);
        return;
      }
      case 'set': {
        const bytes = valueIn(op[2], 'set');
        if (bytes instanceof Refused) {
          // Too large: an unconditional set drops the value it was to replace, as memcached's
          // does, so no reader gets that value after the update failed (just below its stamp:
          // a replica with more room may hold the write itself).
          if (bytes === valueTooLarge && condition(op[5]) === null) {
            const stamp = optional(op[6], accept);
            if (!(stamp instanceof Refused)) {
              replicas.remove(key, stamp === undefined ? undefined : belowStamp(stamp));
            }
          }
          return bytes;
        }
        const flags = optional(op[3], checkFlags) ?? 0;
        if (flags instanceof Refused) return flags;
        const ttl = optional(op[4], checkTtl);
        if (ttl instanceof Refused) return ttl;
        const cond = condition(op[5]);
        if (cond instanceof Refused) return cond;
        const stamp = optional(op[6], accept);
        if (stamp instanceof Refused) return stamp;
        const since = optional(op[7], accept);
        if (since instanceof Refused) return since;
        if (since !== undefined && cond !== 'add') return SINCE_WITHOUT_ADD;
        const written = replicas.write(key, storedValue(bytes, flags), ttl, cond, stamp, since);
        if (written === undefined) return status(412);
        out.array(written.superseded ? 4 : 3);
        out.number(204);
        out.number(written.version);
        out.number(written.stamp);
        if (written.superseded) out.bool(true);
        return;
      }
      case 'delete': {
        const stamp = optional(op[2], accept);
        if (stamp instanceof Refused) return stamp;
        const removed = replicas.remove(key, stamp);
        return stamped(removed.removed ? 204 : 404, removed.stamp);
      }
      case 'touch': {
        const ttl = checkTtl(op[2]);
        if (ttl instanceof Refused) return ttl;
        const stamp = optional(op[3], accept);
        if (stamp instanceof Refused) return stamp;
        const touched = replicas.retouch(key, ttl, stamp);
        if (touched === undefined) return status(404);
        if (touched.superseded !== true) return stamped(204, touched.stamp);
        // Stamped at or below the entry (issued before it, delivered late): the stamp that stands,
        // flagged as a superseded set's is, so a client whose clock lags sends it again above.
        out.array(3);
        out.number(204);
        out.number(touched.stamp);
        out.bool(true);
        return;
      }
      case 'incr': {
        const stamp = optional(op[5], accept);
        if (stamp instanceof Refused) return stamp;
        const by = delta(op[2]);
        if (by instanceof Refused) return by;
        const creates = seed(op[3], op[4]);
        if (creates instanceof Refused) return creates;
        // A seventh element `true`: the client reads a superseded answer (below) as one.
        const counted = count(replicas, key, by, creates, stamp, op[6] === true);
        if (counted instanceof Refused) return counted;
        if (counted === undefined) return status(404);
        // Superseded (issued before the write the count starts from, delivered late): the value
        // and stamp that stand, flagged as a superseded set's are; a client whose every replica
        // answered so sends it again above (a client before it reads it as a count).
        out.array(counted.superseded ? 4 : 3);
        out.number(200);
        out.integer(counterValue(counted.value));
        out.number(counted.stamp);
        if (counted.superseded) out.bool(true);
        return;
      }
      case 'copy': {
        const bytes = valueIn(op[2], 'copy');
        if (bytes instanceof Refused) return bytes;
        const flags = checkFlags(op[3]);
        if (flags instanceof Refused) return flags;
        const ttl = optional(op[4], checkTtl) ?? 0;
        if (ttl instanceof Refused) return ttl;
        const stamp = accept(op[5]);
        if (stamp instanceof Refused) return stamp;
        const origin = originIn(op[6]);
        if (origin instanceof Refused) return origin;
        const outcome = replicas.copy(key, storedValue(bytes, flags), ttl, stamp);
        if (outcome.applied && origin === 'restore') replicas.countRestored(1);
        return stamped(outcome.applied ? 204 : 412, outcome.stamp);
      }
      case 'bury': {
        const stamp = accept(op[2]);
        if (stamp instanceof Refused) return stamp;
        const origin = originIn(op[3]);
        if (origin instanceof Refused) return origin;
        const outcome = replicas.bury(key, stamp);
        if (outcome.applied && origin === 'restore') replicas.countRestored(1);
        return stamped(outcome.applied ? 204 : 412, outcome.stamp);
      }
      case 'hint': {
        let target: string;
        try {
          target = peerOrigin('a hint target', op[2]);
        } catch (error) {
          return badOp((error as Error).message);
        }
        if (options.peers !== undefined && !options.peers.includes(target)) {
          return new Refused(403, 'peer_refused', `${target} is not one of this node's --peers`);
        }
        const standIn = op[3] === true;
        // A stand-in lets its copy go once the hint is delivered, but only the write it stood in
        // for: a fifth element names the stamp the operation left. Without it (clients before it),
        // the write held when the hint arrives stands in for it — and a newer write taken meanwhile
        // as a natural replica (the ring changed) would go with the hint. An incr's or a touch's
        // stamp names no write (standInWrite): the write it restamped may be such a replica's.
        const named = standIn ? optional(op[4], accept) : undefined;
        if (named instanceof Refused) return named;
        const stamp = standIn ? replicas.standInWrite(key, named) : undefined;
        const reach = standIn ? (named ?? replicas.heldStamp(key)) : undefined;
        return hints.add(target, key, standIn, stamp, reach) ? status(204) : hintTargetsFull;
      }
      case 'verify': {
        const stamp = accept(op[2]);
        if (stamp instanceof Refused) return stamp;
        const origin = optional(op[3], originIn);
        if (origin instanceof Refused) return origin;
        const outcome = replicas.verify(key, stamp);
        if (outcome.verified && origin === 'restore') replicas.countRestored(1);
        if (outcome.verified) return status(204);
        return outcome.stamp === undefined ? status(404) : stamped(412, outcome.stamp);
      }
      default:
        return badOp(`unknown operation ${JSON.stringify(op[0])}`);
    }
  }

  /** The operation from `start` to the reader, by msgpackr; undefined (a bad op) if it refuses it. */
  function decodedOp(start: number): unknown {
    try {
      return reader.decoded(start);
    } catch {
      return undefined;
    }
  }

  /**
   * The operation at the reader: its scalars decoded in place into `elements` (the common case,
   * no array built), or — an operation that is not an array of scalars — decoded by msgpackr and
   * judged as before. Its result goes to `out`; a refused operation answers alone.
   */
  function runNext(): void {
    const start = reader.at;
    const mark = out.mark();
    let op: unknown = elements;
    const length = reader.arrayLength();
    for (let i = Math.max(length, 0); i < filled; i++) elements[i] = undefined;
    filled = Math.max(length, 0);
    if (length < 0) {
      reader.skip();
      op = decodedOp(start);
    } else {
      for (let i = 0; i < length; i++) {
        const value = reader.scalar();
        if (value === NOT_SCALAR) {
          reader.at = start;
          reader.skip();
          op = decodedOp(start);
          break;
        }
        elements[i] = value;
      }
    }
    let refused: Refusal | undefined;
    try {
      refused = Array.isArray(op)
        ? run(op, op === elements ? length : op.length)
        : NOT_AN_OPERATION;
    } catch (error) {
      // What the store still throws (413: the entry does not fit the node's memory) fails its
      // operation alone; anything that is not a client error is a bug to surface.
      if (!isHttpError(error)) throw error;
      refused = error;
    }
    if (refused === undefined) return;
    // One bad operation fails alone, answering why.
    out.rollback(mark);
    out.array(3);
    out.number(refused.status);
    out.str(refused.code);
    out.str(refused.message);
  }

  return function runBatch(body) {
    // Checked again now that the body is here (the node may have filled up meanwhile), before any
    // operation runs: a 503 must mean nothing was done.
    bodyBudget.admit();
    // A node that was stopped fences before it answers the requests that waited in its socket.
    replicas.beforeRead();
    // Refused before decoding: msgpackr would build every element first, so a 16 MiB body of empty
    // arrays (one byte each) would allocate ~0.6 GB just to be counted.
    const declared = declaredArrayLength(body);
    if (declared !== undefined && declared > options.maxBatchOps) throw tooManyOperations();
    // The header says nothing of what the operations nest: walk every item, still without decoding.
    // Every body, not only large ones: an extension lets a small body make msgpackr read what
    // follows it, and the walk costs ~0.1 µs for one get, ~7 µs for 1000 (under a fifth of decoding).
    // Strings checked too: msgpackr decodes bad UTF-8 to U+FFFD, which would make two keys one.
    const verdict = scanItems(body, maxItems, { strings: 'check' });
    if (verdict === 'too_deep') throw tooDeep('the batch body');
    if (verdict === 'truncated' || verdict === 'invalid') {
      throw new HttpError(400, 'bad_batch', 'the body is not valid msgpack');
    }
    if (verdict !== 'ok') {
      throw new HttpError(400, 'bad_batch', `the batch body holds ${SCAN_REFUSALS[verdict]}`);
    }
    reader.reset(body);
    const count = reader.arrayLength();
    if (count < 0) {
      throw new HttpError(400, 'bad_batch', 'a batch is a msgpack array of operations');
    }
    if (count > options.maxBatchOps) throw tooManyOperations();
    valueBytesLeft = maxBatchBytes;
    out.array(count);
    try {
      for (let i = 0; i < count; i++) runNext();
    } catch (error) {
      out.discard();
      throw error;
    }
    metrics.recordBatchOperations(count);
    return out.finish();
  };
}
