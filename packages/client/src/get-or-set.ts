// getOrSet: cache-aside reads through the cluster, one load per key at a time in this process.
import type { SingleFlight } from '@dcache/core';
import type { Cluster } from './cluster.js';
import { decodeValue } from './codec.js';
import type { EncodedValue } from './codec.js';
import { isCacheUnavailableError } from './errors/cache-unavailable-error.js';
import { readEntry } from './read.js';
import type { Hit, ReadOptions } from './read.js';
import { storeIfPrimaryAgrees } from './replicated-ops.js';
import { asError } from './results.js';
import type { CallSpan } from './telemetry-call.js';
import { assertValue } from './validate.js';

/** Loads the value of a key missing from the cache (from the database, say). */
export type Loader<T> = (key: string) => T | PromiseLike<T>;

/** What a read-through needs from the client. */
export interface ReadThrough {
  cluster: Cluster;
  loads: SingleFlight<unknown>;
  /** The loads' stores under way, by key: each settles (never rejects) once its add has. */
  stores: Map<string, Promise<void>>;
  /** Loads running and stores under way, by key (a count: a stale load may overlap a fresh one). */
  busy: Map<string, number>;
  batch: boolean;
  /** The client's `timeout` (ms): how long a call waits for another load's store at most. */
  timeoutMs: number;
  closed: () => boolean;
  /** The client's value encoding (`valueEncoding`). */
  encode: (value: unknown) => EncodedValue;
}

export function assertLoader(loader: unknown): asserts loader is Loader<unknown> {
  if (typeof loader !== 'function') {
    throw new TypeError(
      `loader must be a function, got ${loader === null ? 'null' : typeof loader}`,
    );
  }
}

/**
 * The cached value of `key`, or the one `loader` returns, stored with an add. The read comes first
 * for every caller (so a caller sees a value written before its call, as with core's getOrSet);
 * only a miss joins the key's running load (or, while the last load's store is under way, waits
 * for it and reads again — until `timeoutMs` after the call began, then it loads). No replica
 * reachable counts as a miss: the source still answers. A node refusing the read (a wrong token)
 * rejects, as `get` does.
 */
export async function readThrough<T>(
  context: ReadThrough,
  key: string,
  loader: Loader<T>,
  ttl: number | null,
  call?: CallSpan,
  signal?: AbortSignal,
): Promise<T> {
  const options = call === undefined && signal === undefined ? undefined : { trace: call, signal };
  const deadline = performance.now() + context.timeoutMs;
  const busyBefore = context.busy.has(key);
  let read = await readOrMiss(context, key, options);
  // A miss while the key's last load is still being stored — an add sent after this read, or in
  // a transition window one still reading the key's previous owners first — would load the key
  // again: the add's outcome answers instead, read once it has landed (the loaded value, or what
  // outranked it). Not when no replica answered: the store would only fail too. So too when a
  // load ran as this read left and its store has landed since: the read (in a window, a new
  // owner's miss and then the previous owners') may have been answered before the add arrived.
  if (read.answered && read.hit === undefined) {
    const storing = context.stores.get(key);
    if (storing !== undefined || (busyBefore && !context.busy.has(key))) {
      const again = await readAfterStore(context, key, storing, options, deadline);
      if (again !== undefined) read = again;
    }
  }
  const { hit } = read;
  call?.found(hit === undefined ? 0 : 1, 1);
  if (hit !== undefined) return decodeValue(hit.bytes, hit.flags) as T;
  // The caller gave up while the read was out: the call has rejected, and a load it had not
  // started yet must not run (a query to the source nobody waits for) nor be stored.
  signal?.throwIfAborted();
  // One SingleFlight serves every key, so its values are `unknown`; a key's load is this T's.
  const load = context.loads.run(key, async (isStale) => {
    busy(context.busy, key, 1);
    let storing = false;
    try {
      // After the read, whose answers this clock observed: a write, delete or flush of the key
      // anywhere from now on is stamped above it, and keeps the loaded value out of the cache.
      const since = context.cluster.clock.tick();
      const value = await loader(key);
      // undefined cannot be stored (it reads back as a miss): returned, not cached, like
      // lru-cache's fetch. A function or symbol cannot be stored either: that rejects, as `set`
      // would.
      if (value === undefined) return value;
      assertValue(value);
      const encoded = context.encode(value);
      // A delete or flush made during the load may have followed a write to the source the loader
      // read before it: its value may be stale, so it goes to the waiters only. In this process,
      // isStale says so; in another, the nodes do (`since`).
      if (!isStale() && !context.closed()) {
        store(context, key, encoded, ttl, since);
        storing = true;
      }
      return value;
    } finally {
      // A store under way keeps the key busy until it settles (store).
      if (!storing) busy(context.busy, key, -1);
    }
  });
  return load as Promise<T>;
}

/**
 * The key's entry, read again once `storing` (the key's store under way, if any) has settled; or
 * undefined when the call's `deadline` (a `performance.now()` time) comes first, and the caller
 * loads as it would without the store. A second load costs the source one query; waiting can cost
 * more: on a node stalled but not yet marked down the store and this read can each take a
 * `timeout` or two. The deadline counts from the call's start, so the call spends before loading
 * at most the longer of its first read and one `timeout`, and a first read that took the
 * `timeout` (the key's node stalled, likely the store's too) waits no more. A read still out at
 * the deadline runs to its end unheard (its failure unreported), as one whose signal aborted.
 */
function readAfterStore(
  context: ReadThrough,
  key: string,
  storing: Promise<void> | undefined,
  options: ReadOptions | undefined,
  deadline: number,
): Promise<{ hit: Hit | undefined; answered: boolean } | undefined> {
  const left = deadline - performance.now();
  if (left <= 0) return Promise.resolve(undefined);
  let late = false;
  const reading = (async () => {
    if (storing !== undefined) await storing;
    // Past the deadline as the store settled: the caller is loading, and the read is not sent.
    if (late) return undefined;
    options?.signal?.throwIfAborted();
    return readOrMiss(context, key, options);
  })();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      late = true;
      resolve(undefined);
    }, left);
    // The call's result is the promise the process waits on, not this timer.
    timer.unref();
    reading.then(
      (read) => {
        clearTimeout(timer);
        resolve(read);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * The key's entry; a miss too when no replica is reachable (`answered` false): the source still
 * answers. A node refusing the read (a wrong token) rejects, as `get` does.
 */
async function readOrMiss(
  context: ReadThrough,
  key: string,
  options: ReadOptions | undefined,
): Promise<{ hit: Hit | undefined; answered: boolean }> {
  try {
    return { hit: await readEntry(context.cluster, key, context.batch, options), answered: true };
  } catch (error) {
    if (!isCacheUnavailableError(error)) throw error;
    return { hit: undefined, answered: false };
  }
}

/**
 * Stores the loaded value in the background, tracked for close(): the waiters do not wait for it
 * (the cache being slow or down must not delay them). As an add made `since` the load began, so
 * that a write, delete or flush of the key made meanwhile, by any process, wins: the primary
 * refuses it over anything of the key, a flush, or a delete it may have forgotten, stamped after
 * `since`, and a delete reaching a replica after it outranks it there. Queued before the
 * waiters resume, so their next read of the key, through the same node queue, comes after it —
 * in a transition window only after a read of the key's previous owners, so until it settles a
 * read-through that misses waits for it and reads again (`stores`) rather than loading again —
 * up to its `timeout` (readAfterStore).
 */
function store(
  context: ReadThrough,
  key: string,
  encoded: EncodedValue,
  ttl: number | null,
  since: number,
): void {
  const { cluster, batch } = context;
  // Its read found the key on no replica: the add need not ask them again, and so is queued now.
  const known = { absent: true, since } as const;
  const stored = storeIfPrimaryAgrees(cluster, key, encoded, ttl, 'add', batch, undefined, known);
  const settled = stored.then(
    () => undefined,
    (error: unknown) => cluster.reportFailure(asError(error), 'get-or-set-store', key),
  );
  cluster.track(settled);
  const { stores } = context;
  stores.set(key, settled);
  const forget = (): void => {
    if (stores.get(key) === settled) stores.delete(key);
    busy(context.busy, key, -1);
  };
  void settled.then(forget, forget);
}

/** Counts a load or store of `key` in (+1) or out (−1); a key at 0 is forgotten. */
function busy(counts: Map<string, number>, key: string, change: 1 | -1): void {
  const count = (counts.get(key) ?? 0) + change;
  if (count > 0) counts.set(key, count);
  else counts.delete(key);
}
