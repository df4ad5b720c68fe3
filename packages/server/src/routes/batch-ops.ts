import type { NodeState } from '../app-env.js';
import { HttpError, isHttpError } from '../errors/http-error.js';
import { counterSeed, counterValue, increment, validateInitial } from '../incr.js';
import type { CounterSeed } from '../incr.js';
import { COPY_ORIGINS } from '../replica-store.js';
import type { CopyOrigin } from '../replica-store.js';
import { stampOf } from '../replica-order.js';
import { peerOrigin } from '../replication-options.js';
import { MsgpackReader, NOT_SCALAR } from '../operations/msgpack-reader.js';
import { MsgpackWriter } from '../operations/msgpack-writer.js';
import type { ItemsVerdict } from '../msgpack-items.js';
import { declaredArrayLength, scanItems } from '../msgpack-items.js';
import type { WriteCondition } from '../store.js';
import { tooDeep } from '../nesting.js';
import { touchAfterRead } from '../touch.js';
import { validateDelay, validateFlags, validateKey, validateTtl } from '../validate.js';

/** Elements of the longest operations: ["set", key, bytes, flags, ttl, cond, stamp], copy's 7. */
const OP_ITEMS = 7;
/** Why scanItems refused a body, as the message of its 400 bad_batch. */
const SCAN_REFUSALS: Readonly<
  Record<Exclude<ItemsVerdict, 'ok' | 'too_deep' | 'truncated' | 'invalid'>, string>
> = {
  too_many_items: 'more msgpack items than its operations can hold (they hold scalars only)',
  extension: 'a msgpack extension type (no operation uses one)',
  trailing_bytes: 'bytes after the array of operations',
};

function badOp(message: string): HttpError {
  return new HttpError(400, 'bad_op', message);
}

function condition(cond: unknown): WriteCondition {
  if (cond === null || cond === undefined || cond === 'add' || cond === 'replace')
    return cond ?? null;
  if (typeof cond === 'number' && Number.isSafeInteger(cond) && cond >= 0) return cond;
  throw badOp('a set condition is null, "add", "replace" or a version number');
}

function delta(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  // ±2^53 itself arrives as a number from a 64-bit msgpack integer (int64AsType 'auto'), exactly.
  if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) <= 2 ** 53)
    return BigInt(value);
  throw new HttpError(400, 'bad_delta', 'delta must be an integer');
}

/** incr's optional `initial` and `ttlMs`: what to create when the counter is missing. */
function seed(initial: unknown, ttl: unknown): CounterSeed | undefined {
  return counterSeed(
    initial === undefined || initial === null ? undefined : validateInitial(initial),
    ttl === undefined || ttl === null ? undefined : validateTtl(ttl),
  );
}

/**
 * The node's clock on every batch response (the newest stamp it issued or observed): clients
 * observe it, so their next write is stamped above everything this node had seen.
 */
export const CLOCK_HEADER = 'dcache-clock';

/**
 * The body of `POST /v1/batch` in, the msgpack of its results out (docs/wire-protocol.md); throws
 * an HttpError when the batch as a whole is refused. Shared by the hono route and the node's
 * fast path, so both answer byte for byte the same.
 */
export type RunBatch = (body: Uint8Array) => Uint8Array;

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

  function responseTooLarge(): HttpError {
    return new HttpError(
      413,
      'too_large',
      `the values in one batch response are limited to ${maxBatchBytes} bytes (maxBatchBytes); get this key in another batch`,
    );
  }

  /** An optional stamp element: undefined (the node stamps) when absent or null. */
  function stampIn(value: unknown): number | undefined {
    return value === undefined || value === null ? undefined : replicas.received(value);
  }

  function valueIn(bytes: unknown, what: string): Uint8Array {
    if (!(bytes instanceof Uint8Array)) throw badOp(`${what} needs its value as msgpack bin`);
    if (bytes.length > maxValueBytes) {
      throw new HttpError(
        413,
        'too_large',
        `the value exceeds the limit of ${maxValueBytes} bytes`,
      );
    }
    return bytes;
  }

  function originIn(value: unknown): CopyOrigin {
    if (COPY_ORIGINS.includes(value as CopyOrigin)) return value as CopyOrigin;
    throw badOp(`origin must be one of ${COPY_ORIGINS.map((o) => `"${o}"`).join(', ')}`);
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
  function miss(tombstone: number | null): void {
    out.array(3);
    out.number(404);
    if (tombstone === null) out.nil();
    else out.number(tombstone);
    out.number(replicas.vouchingFloor());
  }

  function status(code: number): void {
    out.array(1);
    out.number(code);
  }

  /** `[code, stamp]`: a write's or copy's outcome. */
  function stamped(code: number, stamp: number): void {
    out.array(2);
    out.number(code);
    out.number(stamp);
  }

  /**
   * Runs one operation and writes its result. Whatever it refuses it refuses before writing
   * (a throw the caller turns into `[status, code, message]`).
   */
  function run(op: readonly unknown[], length: number): void {
    if (typeof op[0] !== 'string') {
      throw badOp('an operation is an array starting with its name');
    }
    // The one operation without a key: ["flush"] or ["flush", delayMs] (null or 0 = now), which
    // sets the node's one flush time as POST /v1/flush does (a string there is a 400 bad_delay).
    if (op[0] === 'flush') {
      if (length > 2) throw badOp('flush takes at most a delay: ["flush", delayMs?]');
      flush.flush(op[1] === undefined || op[1] === null ? 0 : validateDelay(op[1]));
      return status(204);
    }
    const key = validateKey(op[1], maxKeyBytes);
    switch (op[0]) {
      case 'get': {
        // An optional third element makes it a get-and-touch (memcached's gat): checked first,
        // so a bad one fails the operation before it counts a hit.
        const newTtl = op[2] === undefined || op[2] === null ? undefined : validateTtl(op[2]);
        // A refused get must be no hit and promote nothing, so when a value might not fit, look
        // without touching first. Only then: the common get does one lookup.
        if (valueBytesLeft < maxValueBytes && valueBytesLeft < maxBatchBytes) {
          const peeked = replicas.peekRaw(key);
          if (peeked !== undefined && peeked.value.bytes.length > valueBytesLeft) {
            throw responseTooLarge();
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
        valueBytesLeft = Math.max(0, valueBytesLeft - value.bytes.length);
        const ttl = touchAfterRead(replicas, key, entry.ttl, newTtl);
        const verified = replicas.isVerified(entry);
        out.array(verified ? 6 : 7);
        out.number(200);
        out.bin(value.bytes);
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
        const flags = op[3] === undefined || op[3] === null ? 0 : validateFlags(op[3]);
        const ttl = op[4] === undefined || op[4] === null ? undefined : validateTtl(op[4]);
        const cond = condition(op[5]);
        const written = replicas.write(key, { bytes, flags }, ttl, cond, stampIn(op[6]));
        if (written === undefined) return status(412);
        out.array(3);
        out.number(204);
        out.number(written.version);
        out.number(written.stamp);
        return;
      }
      case 'delete': {
        const { removed, stamp } = replicas.remove(key, stampIn(op[2]));
        return stamped(removed ? 204 : 404, stamp);
      }
      case 'touch': {
        const ttl = validateTtl(op[2]);
        const stamp = replicas.retouch(key, ttl, stampIn(op[3]));
        return stamp === undefined ? status(404) : stamped(204, stamp);
      }
      case 'incr': {
        const stamp = stampIn(op[5]);
        const counted = increment(replicas, key, delta(op[2]), seed(op[3], op[4]), stamp);
        if (counted === undefined) return status(404);
        out.array(3);
        out.number(200);
        out.integer(counterValue(counted.value));
        out.number(counted.stamp);
        return;
      }
      case 'copy': {
        const bytes = valueIn(op[2], 'copy');
        const flags = validateFlags(op[3]);
        const ttl = op[4] === undefined || op[4] === null ? 0 : validateTtl(op[4]);
        const stamp = replicas.received(op[5]);
        const origin = originIn(op[6]);
        const outcome = replicas.copy(key, { bytes, flags }, ttl, stamp);
        if (outcome.applied && origin === 'restore') replicas.countRestored(1);
        return stamped(outcome.applied ? 204 : 412, outcome.stamp);
      }
      case 'bury': {
        const stamp = replicas.received(op[2]);
        const origin = originIn(op[3]);
        const outcome = replicas.bury(key, stamp);
        if (outcome.applied && origin === 'restore') replicas.countRestored(1);
        return stamped(outcome.applied ? 204 : 412, outcome.stamp);
      }
      case 'hint': {
        let target: string;
        try {
          target = peerOrigin('a hint target', op[2]);
        } catch (error) {
          throw badOp((error as Error).message);
        }
        if (options.peers !== undefined && !options.peers.includes(target)) {
          throw new HttpError(403, 'peer_refused', `${target} is not one of this node's --peers`);
        }
        hints.add(target, key, op[3] === true);
        return status(204);
      }
      case 'verify': {
        const outcome = replicas.verify(key, replicas.received(op[2]));
        if (outcome.verified) return status(204);
        return outcome.stamp === undefined ? status(404) : stamped(412, outcome.stamp);
      }
      default:
        throw badOp(`unknown operation ${JSON.stringify(op[0])}`);
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
    try {
      if (!Array.isArray(op)) throw badOp('an operation is an array starting with its name');
      run(op, op === elements ? length : op.length);
    } catch (error) {
      // One bad operation fails alone; anything that is not a client error is a bug to surface.
      if (!isHttpError(error)) throw error;
      out.rollback(mark);
      out.array(3);
      out.number(error.status);
      out.str(error.code);
      out.str(error.message);
    }
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
    const verdict = scanItems(body, maxItems);
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
