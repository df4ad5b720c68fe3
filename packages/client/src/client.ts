import { SingleFlight } from '@dcache/core';
import { abortable, INCR_OPTIONS, SET_OPTIONS, signalOption } from './abortable.js';
import { AddressBook } from './address-book.js';
import { Cluster } from './cluster.js';
import { Discovery } from './discovery.js';
import type { MembershipDiff } from './discovery.js';
import type { DiscoveryError } from './errors/discovery-error.js';
import { callHook } from './hooks.js';
import { decodeValue, encodeValue } from './codec.js';
import { encodeJsonValue } from './json-values.js';
import type { EncodedValue } from './codec.js';
import { isCacheUnavailableError } from './errors/cache-unavailable-error.js';
import { isNodeRequestError } from './errors/node-request-error.js';
import { DcacheError } from './errors/dcache-error.js';
import { normaliseNode, resolveNode, resolveOptions } from './options.js';
import type { ClientOptions, NodeSpec, ResolvedOptions } from './options.js';
import { fingerprintOfHit, readEntry } from './read.js';
import type { ReplicationStats } from './replication-stats.js';
import type { BatchingStats } from './batching-stats.js';
import type { TransitionStats } from './transition.js';
import type { Hit, ReadOptions } from './read.js';
import { clusterStats } from './stats.js';
import type { ClusterStats } from './stats.js';
import { flushEveryNode } from './flush.js';
import { assertLoader, readThrough } from './get-or-set.js';
import type { Loader, ReadThrough } from './get-or-set.js';
import {
  assertDelta,
  assertKey,
  assertTtl,
  assertValue,
  assertVersion,
  incrOptions,
  ttlOption,
} from './validate.js';
import type { SetCondition } from './wire.js';
import { startCall, traced } from './telemetry-call.js';
import type { CallSpan } from './telemetry-call.js';
import {
  deleteEverywhere,
  getAndTouchEverywhere,
  incrEverywhere,
  storeEverywhere,
  storeIfPrimaryAgrees,
  touchEverywhere,
} from './replicated-ops.js';

/** Code of the process warning a failed DNS discovery lookup becomes without `onDiscoveryError`. */
export const DISCOVERY_WARNING = 'DCACHE_DISCOVERY_FAILED';

/** What every call takes. */
export interface CallOptions {
  /**
   * Stops waiting when it aborts: the call rejects with its reason and sends nothing more (nothing
   * at all if it had already aborted). `AbortSignal.timeout(ms)` bounds the whole call, failover
   * included.
   */
  signal?: AbortSignal;
}

export interface IncrOptions extends CallOptions {
  /** Creates a missing counter holding this (a whole number ≥ 0), returned as is. */
  initial?: number;
  /** Time to live in ms of a counter created from `initial`; 0 = never expires. @default the node's */
  ttl?: number;
}

export interface SetOptions extends CallOptions {
  /** Time to live in milliseconds; 0 = never expires. @default the node's defaultTtl */
  ttl?: number;
}

/** For the bulk calls: a key with no replica reachable gets `fallback`; other errors are rethrown. */
function unavailableAs<T>(fallback: T): (error: unknown) => T {
  return (error) => {
    if (isCacheUnavailableError(error)) return fallback;
    throw error;
  };
}
const skipUnavailable = unavailableAs(undefined);
const unavailableAsFalse = unavailableAs(false);

/**
 * For deleteMany: a key none of whose replicas answered, or whose primary did not (a delete that
 * is only partly done rejects with the primary's error), counts as not deleted, as before. A
 * node's refusal (a 4xx: a wrong token) still rejects the call.
 */
function unansweredAsFalse(error: unknown): boolean {
  if (isNodeRequestError(error) && !error.refused) return false;
  return unavailableAsFalse(error);
}

/**
 * A read's options from its call's trace and signal; none for an untraced call without a signal,
 * so the common read allocates nothing for them.
 */
function readOptions(
  trace: CallSpan | undefined,
  signal: AbortSignal | undefined,
): ReadOptions | undefined {
  if (signal === undefined) return trace && { trace };
  return { trace, signal };
}

/** A traced single-key read's outcome: a hit or a miss. */
const foundOne = (call: CallSpan, hit: Hit | undefined): void =>
  call.found(hit === undefined ? 0 : 1, 1);

/** A value with the version a later `compareAndSet` must match. */
export interface VersionedValue<T> {
  value: T;
  version: number;
  /** Remaining time to live in milliseconds; undefined when it never expires. */
  ttl: number | undefined;
}

/**
 * The dcache cluster client: spreads keys over nodes with a consistent-hash ring, keeps
 * `replicas` copies, falls back to replicas on misses and errors, repairs the primary, skips nodes
 * that keep failing and batches operations per node and tick.
 */
export class DistributedCacheClient {
  readonly #options: ResolvedOptions;
  readonly #cluster: Cluster;
  /** getOrSet loads running in this process, one per key. */
  readonly #loads = new SingleFlight<unknown>();
  /** Their stores under way, one per key (get-or-set.ts). */
  readonly #stores = new Map<string, Promise<void>>();
  /** Their loads and stores under way, counted per key (get-or-set.ts). */
  readonly #busy = new Map<string, number>();
  readonly #readThrough: ReadThrough;
  /** The `valueEncoding` option's encoder. */
  readonly #encode: (value: unknown) => EncodedValue;
  #closed = false;
  /** The first close()'s shutdown, which every later close() answers too. */
  #closing: Promise<void> | undefined;
  /** Set when `nodes` was a discovery URL: DNS then owns the membership. */
  readonly #discovery: Discovery | undefined;
  readonly #addresses = new AddressBook();

  /**
   * `nodes`: base URLs, or `{ url, weight }` for nodes that should hold more (or fewer) keys than
   * others — `weight` is a node's share relative to weight-1 nodes (default 1). Or a discovery URL
   * (`dns+srv://`, `dns+srvs://`, `dns://host:port`, `dnss://host:port`): the nodes are then read
   * from DNS now and every `discovery.intervalMs`, and calls made before the first lookup has
   * finished wait for it.
   */
  constructor(nodes: readonly NodeSpec[] | string, options?: ClientOptions) {
    this.#options = resolveOptions(nodes, options);
    const discovery = this.#options.discovery;
    // A node removed from the records stays a fallback source until the window closes: its name
    // must stay resolvable as long (AddressBook), then it is forgotten.
    const onTransition = this.#options.onTransition;
    this.#cluster = new Cluster(
      {
        ...this.#options,
        onTransition: (event) => {
          if (event.phase === 'close') this.#addresses.dropDeparted();
          // Returned: callHook turns a rejecting hook's promise into a warning.
          return onTransition?.(event);
        },
      },
      discovery && this.#addresses.lookup,
    );
    if (discovery !== undefined) {
      this.#discovery = new Discovery(discovery, {
        changed: (diff) => this.#discovered(diff),
        failed: (error, stats) => this.#discoveryFailed(error, stats.consecutiveFailures),
      });
    }
    this.#encode = this.#options.valueEncoding === 'json' ? encodeJsonValue : encodeValue;
    this.#readThrough = {
      cluster: this.#cluster,
      loads: this.#loads,
      stores: this.#stores,
      busy: this.#busy,
      batch: this.#options.batch,
      timeoutMs: this.#options.timeout,
      closed: () => this.#closed,
      encode: this.#encode,
    };
  }

  /** The node URLs, normalised: those given, in order, then those added. */
  get nodes(): readonly string[] {
    return this.#cluster.nodes.map((node) => node.url);
  }

  /**
   * Adds a node at run time (scaling out): the ring gives it its share of keys at once. Those keys
   * are still found on their previous replicas, and a read writes them back to the new node (read
   * repair). `node` is a URL or `{ url, weight }`, as in the constructor. Throws for a malformed
   * URL or weight (TypeError/RangeError) or a node already in the cluster (RangeError).
   */
  addNode(node: NodeSpec): void {
    this.#assertOpen();
    this.#assertStaticMembership('addNode');
    const resolved = resolveNode(node, 'node', this.#options.vnodes);
    if (this.#cluster.has(resolved.url)) throw new RangeError(`${resolved.url} is already a node`);
    void this.#cluster.change([resolved], [], 'addNode');
  }

  /**
   * Takes a node out at run time: no new operation goes to it, its keys go to the next nodes on
   * the ring (found there through their replicas and read repair). Resolves, true, once what was
   * already issued to it has finished; false when it was not a node. The last node cannot go.
   */
  async removeNode(url: string): Promise<boolean> {
    this.#assertOpen();
    this.#assertStaticMembership('removeNode');
    const normalised = normaliseNode(url, 'url');
    if (!this.#cluster.has(normalised)) return false;
    if (this.#cluster.nodes.length === 1) {
      throw new RangeError(`${normalised} is the last node; a cluster needs one`);
    }
    await this.#cluster.change([], [normalised], 'removeNode');
    return true;
  }

  /**
   * Resolves once the client knows its nodes: at once for a node list; with DNS discovery, once a
   * lookup has found nodes (however many fail first). `signal` stops the wait.
   */
  async ready(options?: CallOptions): Promise<void> {
    this.#assertOpen();
    // Checked first, as every call checks its options: an aborted signal rejects even when the
    // nodes are known already.
    const signal = signalOption(options);
    const discovery = this.#discovery;
    if (discovery === undefined || discovery.found) return abortable(signal, async () => undefined);
    return abortable(signal, () => discovery.whenFound());
  }

  /**
   * The key's replica list in preference order, skipping nodes marked down. `key` is the caller's
   * (without `keyPrefix`); the ring is asked for `keyPrefix + key`.
   */
  nodesFor(key: string): string[] {
    assertKey(key);
    return this.#cluster.preference(key).map((node) => node.url);
  }

  async get<T = unknown>(key: string, options?: CallOptions): Promise<T | undefined> {
    this.#assertOpen();
    assertKey(key);
    const signal = signalOption(options);
    const call = startCall('get', 1);
    const hit = await traced(
      call,
      this.#guarded(signal, () =>
        readEntry(this.#cluster, key, this.#options.batch, readOptions(call, signal)),
      ),
      foundOne,
    );
    return hit === undefined ? undefined : (decodeValue(hit.bytes, hit.flags) as T);
  }

  /**
   * Reads the key and gives it a new time to live in milliseconds (0 = never expires): in the same
   * request on the node that answers, in the background on the replicas after it, and with the
   * read repair of those that missed — memcached's `gat`, Redis' `GETEX PX`: a sliding expiry.
   */
  async getAndTouch<T = unknown>(
    key: string,
    ttl: number,
    options?: CallOptions,
  ): Promise<T | undefined> {
    this.#assertOpen();
    assertKey(key);
    assertTtl(ttl);
    const signal = signalOption(options);
    const call = startCall('getAndTouch', 1);
    const hit = await traced(
      call,
      this.#guarded(signal, () =>
        getAndTouchEverywhere(this.#cluster, key, ttl, this.#options.batch, call, signal),
      ),
      foundOne,
    );
    return hit === undefined ? undefined : (decodeValue(hit.bytes, hit.flags) as T);
  }

  async has(key: string, options?: CallOptions): Promise<boolean> {
    this.#assertOpen();
    assertKey(key);
    const signal = signalOption(options);
    const call = startCall('has', 1);
    const hit = await traced(
      call,
      this.#guarded(signal, () =>
        readEntry(this.#cluster, key, this.#options.batch, readOptions(call, signal)),
      ),
      foundOne,
    );
    return hit !== undefined;
  }

  /**
   * Cache-aside read-through: the cached value, or on a miss the value of `loader(key)`, stored
   * with an add (a write of the key made meanwhile wins) and returned. Concurrent calls for a key
   * that missed share one `loader` call. No replica reachable counts as a miss, and a failed store
   * does not fail the call (it goes to `onBackgroundError`); a loader that throws rejects every
   * waiter and stores nothing; `undefined` is returned but not stored. `ttl` is the first caller's.
   * A caller whose `signal` aborts stops waiting; a load it started still finishes and is stored.
   */
  async getOrSet<T>(key: string, loader: Loader<T>, options?: SetOptions): Promise<T> {
    this.#assertOpen();
    assertKey(key);
    assertLoader(loader);
    const ttl = ttlOption(options);
    const signal = signalOption(options, SET_OPTIONS);
    const call = startCall('getOrSet', 1);
    return traced(
      call,
      this.#guarded(signal, () => readThrough(this.#readThrough, key, loader, ttl, call, signal)),
    );
  }

  /**
   * Stores `value` on every replica. Resolves true once `writeConsistency` replicas acknowledged,
   * false when fewer (but some) did; rejects when none could be reached.
   */
  async set(key: string, value: unknown, options?: SetOptions): Promise<boolean> {
    this.#assertOpen();
    assertKey(key);
    assertValue(value);
    const ttl = ttlOption(options);
    const encoded = this.#encode(value);
    // Checked before the span starts: a call refused for its options has none to end.
    const signal = signalOption(options, SET_OPTIONS);
    const call = startCall('set', 1);
    return traced(
      call,
      this.#guarded(signal, () =>
        storeEverywhere(this.#cluster, key, encoded, ttl, this.#options.batch, call),
      ),
    );
  }

  /** Stores only when the key is absent (on its primary). */
  async add(key: string, value: unknown, options?: SetOptions): Promise<boolean> {
    return this.#conditional(key, value, options, 'add');
  }

  /** Stores only when the key is present (on its primary). */
  async replace(key: string, value: unknown, options?: SetOptions): Promise<boolean> {
    return this.#conditional(key, value, options, 'replace');
  }

  /** Removes every replica; true when any held the key. */
  async delete(key: string, options?: CallOptions): Promise<boolean> {
    this.#assertOpen();
    assertKey(key);
    const signal = signalOption(options);
    const call = startCall('delete', 1);
    return traced(
      call,
      this.#guarded(signal, () => {
        // The usual invalidation after writing to the source: a getOrSet load running now may
        // have read it before, so it must not be stored nor joined (core's rule).
        this.#loads.invalidate(key);
        return deleteEverywhere(this.#cluster, key, this.#options.batch, call);
      }),
    );
  }

  /**
   * Gives the key a new time to live in milliseconds (0 = never expires) on every replica, without
   * rewriting its value, as memcached's `touch`. True when any replica held the key.
   */
  async touch(key: string, ttl: number, options?: CallOptions): Promise<boolean> {
    this.#assertOpen();
    assertKey(key);
    assertTtl(ttl);
    const signal = signalOption(options);
    const call = startCall('touch', 1);
    return traced(
      call,
      this.#guarded(signal, () =>
        touchEverywhere(this.#cluster, key, ttl, this.#options.batch, call, signal),
      ),
    );
  }

  /**
   * Empties every node, those marked down included — with batching on, after what was issued to
   * each before it — every key on them, whatever its prefix: `keyPrefix` does not limit it (nor
   * iovalkey's FLUSHALL). A read that began before it does not write its value back after it.
   * Rejects with FlushIncompleteError, naming the nodes not emptied, when any node failed.
   */
  async flush(options?: CallOptions): Promise<void> {
    this.#assertOpen();
    const signal = signalOption(options);
    const call = startCall('flush', 0);
    return traced(
      call,
      this.#guarded(signal, () => {
        this.#loads.invalidateAll();
        return flushEveryNode(this.#cluster, this.#options.batch, call);
      }),
    );
  }

  /**
   * The values the reachable replicas hold; keys missing everywhere, or with no replica reachable,
   * are absent. A node refusing the request (a wrong token, say) rejects the call instead.
   */
  async getMany<T = unknown>(
    keys: Iterable<string>,
    options?: CallOptions,
  ): Promise<Map<string, T>> {
    this.#assertOpen();
    const unique = new Set(keysOf(keys));
    const found = new Map<string, T>();
    const signal = signalOption(options);
    const call = startCall('getMany', unique.size);
    const read = readOptions(call, signal);
    const reads = this.#guarded(signal, () =>
      Promise.all(
        [...unique].map((key) =>
          readEntry(this.#cluster, key, true, read).then(
            (hit) => {
              if (hit !== undefined) found.set(key, decodeValue(hit.bytes, hit.flags) as T);
            },
            // An unreachable key is left out instead of failing every other key; a refusal is not
            // "unreachable" and must not pass for a miss.
            skipUnavailable,
          ),
        ),
      ),
    );
    await traced(call, reads, (traced) => traced.found(found.size, unique.size));
    // In the order the keys were asked for (as Redis's MGET answers), not the order reads ended.
    const ordered = new Map<string, T>();
    for (const key of unique) if (found.has(key)) ordered.set(key, found.get(key) as T);
    return ordered;
  }

  /**
   * Sets every entry in per-node batches; true when every one met `writeConsistency`, false when
   * some fell short or had no replica reachable. A refusal (a value over the nodes' limit, a wrong
   * token) rejects the call; the other entries are still written.
   */
  async setMany(
    entries: Iterable<readonly [string, unknown]>,
    options?: SetOptions,
  ): Promise<boolean> {
    this.#assertOpen();
    const ttl = ttlOption(options);
    const signal = signalOption(options, SET_OPTIONS);
    const encoded: [string, EncodedValue][] = [];
    if (!isIterable(entries)) {
      throw new TypeError('entries must be an iterable of [key, value] pairs (a Map, an array)');
    }
    for (const entry of entries) {
      // Named by place, as getMany's keys[i] are: a bad entry among thousands must be findable.
      const at = `entries[${encoded.length}]`;
      if (!Array.isArray(entry))
        throw new TypeError(`setMany takes [key, value] pairs: ${at} is not one`);
      const [key, value] = entry as [unknown, unknown];
      assertKey(key, `${at}[0] (its key)`);
      assertValue(value, `${at}[1] (its value)`);
      encoded.push([key, this.#encode(value)]);
    }
    const call = startCall('setMany', encoded.length);
    const stored = await traced(
      call,
      this.#guarded(signal, () =>
        Promise.all(
          encoded.map(([key, value]) =>
            storeEverywhere(this.#cluster, key, value, ttl, true, call).catch(unavailableAsFalse),
          ),
        ),
      ),
    );
    return stored.every(Boolean);
  }

  /**
   * Deletes every key from every replica; resolves to how many keys existed (keys with no replica
   * reachable are not counted). A refusal rejects the call.
   */
  async deleteMany(keys: Iterable<string>, options?: CallOptions): Promise<number> {
    this.#assertOpen();
    const unique = new Set(keysOf(keys));
    const signal = signalOption(options);
    const call = startCall('deleteMany', unique.size);
    const deleted = await traced(
      call,
      this.#guarded(signal, () => {
        for (const key of unique) this.#loads.invalidate(key);
        return Promise.all(
          [...unique].map((key) =>
            deleteEverywhere(this.#cluster, key, true, call).catch((error: unknown) => {
              const deleted = unansweredAsFalse(error);
              // Not the call's rejection here: the primary's failure is reported instead.
              if (isNodeRequestError(error)) {
                this.#cluster.reportFailure(error, 'replica-write', key);
              }
              return deleted;
            }),
          ),
        );
      }),
    );
    return deleted.filter(Boolean).length;
  }

  /**
   * Adds `delta` on every replica; the primary's new value, or undefined when the key is absent —
   * unless `initial` is given: a missing counter is then created holding it (with `ttl`), and
   * `initial` is returned as is (memcached's and memjs' semantics: the delta is not added).
   */
  async incr(key: string, delta = 1, options?: IncrOptions): Promise<number | undefined> {
    this.#assertOpen();
    assertKey(key);
    assertDelta(delta);
    const seed = incrOptions(options);
    const signal = signalOption(options, INCR_OPTIONS);
    const call = startCall('incr', 1);
    return traced(
      call,
      this.#guarded(signal, () =>
        incrEverywhere(this.#cluster, key, delta, seed, this.#options.batch, call, signal),
      ),
    );
  }

  /** Subtracts `delta` (stopping at 0) on every replica; as `incr` otherwise. */
  async decr(key: string, delta = 1, options?: IncrOptions): Promise<number | undefined> {
    this.#assertOpen();
    assertKey(key);
    assertDelta(delta);
    const seed = incrOptions(options);
    const signal = signalOption(options, INCR_OPTIONS);
    const call = startCall('decr', 1);
    return traced(
      call,
      this.#guarded(signal, () =>
        incrEverywhere(this.#cluster, key, -delta, seed, this.#options.batch, call, signal),
      ),
    );
  }

  /**
   * A value with its version, for `compareAndSet`: the fingerprint of the write read, the same on
   * every replica that holds that write.
   */
  async getVersioned<T = unknown>(
    key: string,
    options?: CallOptions,
  ): Promise<VersionedValue<T> | undefined> {
    this.#assertOpen();
    assertKey(key);
    const signal = signalOption(options);
    const call = startCall('getVersioned', 1);
    const hit = await traced(
      call,
      this.#guarded(signal, () =>
        readEntry(this.#cluster, key, this.#options.batch, {
          awaitRepair: true,
          trace: call,
          signal,
        }),
      ),
      foundOne,
    );
    if (hit === undefined) return undefined;
    return {
      value: decodeValue(hit.bytes, hit.flags) as T,
      version: fingerprintOfHit(hit),
      ttl: hit.ttl ?? undefined,
    };
  }

  /**
   * Stores `value` only if the key is still the write `version` was read from; false when it
   * changed (a write, incr or touch since), vanished or was never read at that version.
   */
  async compareAndSet(
    key: string,
    value: unknown,
    version: number,
    options?: SetOptions,
  ): Promise<boolean> {
    // Closed first, as every call: then the arguments.
    this.#assertOpen();
    assertVersion(version);
    return this.#conditional(key, value, options, version);
  }

  /** Every node's stats (or its error), cluster totals and up/down counts. */
  async getStats(options?: CallOptions): Promise<ClusterStats> {
    this.#assertOpen();
    const signal = signalOption(options);
    const call = startCall('getStats', 0);
    if (call !== undefined) call.nodesTried = this.#cluster.nodes.length;
    const stats = await traced(
      call,
      this.#guarded(signal, () => clusterStats(this.#cluster)),
    );
    if (this.#discovery !== undefined) stats.discovery = this.#discovery.stats;
    return stats;
  }

  /**
   * What this client's replication safeguards did since it was created: hints handed off or
   * dropped, repairs, verifications of unverified entries, stale reads prevented, restores.
   * Synchronous (no request); `getStats()` also carries it, beside the nodes' own counters.
   */
  getReplicationStats(): ReplicationStats {
    return this.#cluster.counters.snapshot();
  }

  /**
   * What auto-batching did since the client was created, summed over the nodes in the cluster now:
   * batches sent, the operations they carried, and batches in flight integrated over time (see
   * `BatchingStats`). Synchronous (no request); `getStats()` also carries it.
   */
  getBatchingStats(): BatchingStats {
    return this.#cluster.batchingStats();
  }

  /**
   * The warm-transition window now and its counters since the client was created: synchronous
   * (no request); `getStats().transition` carries the same.
   */
  getTransitionStats(): TransitionStats {
    return this.#cluster.transition.snapshot();
  }

  /** Waits for background replica writes and repairs, stops probes and closes connections. */
  close(): Promise<void> {
    // Every caller waits for the same shutdown: two signal handlers must not exit early.
    if (this.#closing === undefined) {
      this.#closed = true;
      this.#closing = (async () => {
        this.#discovery?.close();
        await this.#cluster.close();
      })();
    }
    return this.#closing;
  }

  #assertOpen(): void {
    if (this.#closed) throw new DcacheError('the client is closed');
  }

  #assertStaticMembership(method: string): void {
    if (this.#discovery !== undefined) {
      throw new DcacheError(
        `${method}: the nodes come from DNS discovery (${this.#discovery.stats.url}); change the DNS records instead`,
      );
    }
  }

  /**
   * `abortable(signal, work)` once the nodes are known: at once with a node list or after a good
   * lookup; calls made while the first lookup runs wait for it, and reject with its DiscoveryError
   * when it failed (until a later lookup finds nodes). One whose signal aborted meanwhile is not
   * sent at all.
   */
  #guarded<T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    const discovery = this.#discovery;
    if (discovery === undefined || discovery.found) return abortable(signal, work);
    // A call whose signal aborted while it waited was never issued: it must not be sent (nor its
    // loader run) once the nodes are found, as one aborted before the call sends nothing.
    return abortable(signal, () =>
      discovery.ready().then(() => {
        if (signal?.aborted === true) throw signal.reason;
        return work();
      }),
    );
  }

  /** A DNS lookup found other nodes (or the same ones elsewhere): one membership change. */
  #discovered({ members, added, removed }: MembershipDiff): void {
    // Addresses first: the new nodes' first connections, and moved nodes' next ones, find them.
    const moved = this.#addresses.replace(members, this.#cluster.transition.enabled);
    // A moved node's next request must not go down a connection kept open to its old address.
    if (moved.length > 0) this.#cluster.transport.reconnect();
    if (added.length === 0 && removed.length === 0) return;
    void this.#cluster.change(
      added.map(({ url }) => ({ url, weight: 1 })),
      removed.map(({ url }) => url),
      'discovery',
    );
  }

  #discoveryFailed(error: DiscoveryError, consecutiveFailures: number): void {
    const nodes = this.#cluster.nodes.map((node) => node.url).sort();
    const hook = this.#options.onDiscoveryError;
    if (hook !== undefined) {
      callHook('onDiscoveryError', hook, error, { consecutiveFailures, nodes });
    } else if (consecutiveFailures === 1) {
      process.emitWarning(`${error.message}; keeping ${nodes.length} nodes`, {
        code: DISCOVERY_WARNING,
      });
    }
  }

  async #conditional(
    key: string,
    value: unknown,
    options: SetOptions | undefined,
    condition: SetCondition,
  ): Promise<boolean> {
    this.#assertOpen();
    assertKey(key);
    assertValue(value);
    const ttl = ttlOption(options);
    const encoded = this.#encode(value);
    const { batch } = this.#options;
    const signal = signalOption(options, SET_OPTIONS);
    const call = startCall(
      typeof condition === 'number' ? 'compareAndSet' : (condition ?? 'set'),
      1,
    );
    const known = signal === undefined ? undefined : { signal };
    return traced(
      call,
      this.#guarded(signal, () =>
        storeIfPrimaryAgrees(this.#cluster, key, encoded, ttl, condition, batch, call, known),
      ),
    );
  }
}

function isIterable(value: unknown): value is Iterable<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function'
  );
}

function keysOf(keys: Iterable<string>): string[] {
  if (!isIterable(keys)) throw new TypeError('keys must be an iterable of strings');
  const list = [...keys];
  list.forEach((key, i) => assertKey(key, `keys[${i}]`));
  return list;
}
