import type {
  CacheEntry,
  CacheStats,
  CompareAndSetResult,
  LruCache,
  SetOptions,
} from '@dcache/core';
import { HybridClock, isStamp, stampAt } from '@dcache/core';
import { keptTtl } from '../operations/counter.js';
import { belowStamp, compareReplicas, fingerprintOf, stampOf, writtenAt } from './replica-order.js';
import { NodeFlush } from '../operations/node-flush.js';
import { orThrow, Refused } from '../operations/refusal.js';
import { conditionHolds, entryRefused } from '../operations/store.js';
import type { FingerprintCondition, WriteCondition } from '../operations/store.js';
import { tombstoneValue } from '../operations/stored-value.js';
import type { StoredValue } from '../operations/stored-value.js';

/** Where a copy comes from: hint replay, read repair, or restoring a node's share. */
export type CopyOrigin = 'hint' | 'repair' | 'restore';
export const COPY_ORIGINS: readonly CopyOrigin[] = ['hint', 'repair', 'restore'];

/** What a write left standing: the version and stamp of the key's entry afterwards. */
export interface Written {
  version: number;
  stamp: number;
  /**
   * A fresh write that did not apply: the stored entry, stamped newer or winning a tie of stamps,
   * stands (its version and stamp are these). A tie looks like success by its stamp alone.
   */
  superseded?: true;
}

/** What a touch left standing: the key's stamp afterwards. */
export interface Touched {
  stamp: number;
  /** A stamped touch that did not apply: the entry held is stamped at or above it, and stands. */
  superseded?: true;
}

/** The outcome of a copy or bury: applied (its stamp now stands) or refused (held a newer one). */
export interface CopyOutcome {
  applied: boolean;
  /** The stamp that stands afterwards. */
  stamp: number;
}

/** Event counters and levels of the replication mechanism (docs/design/never-stale.md §11). */
export interface ReplicaStats {
  copiesApplied: number;
  copiesRefused: number;
  verifications: number;
  fences: number;
  stalls: number;
  staleReadsPrevented: number;
  tombstones: number;
  tombstonesEvictedEarly: number;
  tombstoneFloor: number;
  /**
   * Stamp of the newest value that left by expiry or eviction: a miss here proves nothing at or
   * below it (the key may have held a newer write than a returning replica's copy).
   */
  lostValueFloor: number;
  restoredKeys: number;
  clockSkewRejections: number;
  /**
   * Hits served to gets a client flagged unvouched: it read here because the key's primary did not
   * answer, and its `writeConsistency` does not make this replica hold every completed write.
   */
  unvouchedReads: number;
}

export interface ReplicaStoreOptions {
  /** How long a delete's tombstone is kept, in ms of the cache's clock. */
  tombstoneGrace: number;
  /** Stamps further ahead of the node's wall clock than this many ms are refused. */
  maxClockSkew: number;
  /**
   * Wall clock for stamps and the vouching floor (never a test's fake cache clock: stamps meet
   * clients'). @default Date.now, and for stamps HybridClock's own, which keeps the fraction of the ms
   */
  wallClock?: () => number;
  /** Told when a tombstone is evicted before its grace (the one unguaranteeable case). */
  onEarlyEviction?: (key: string, stamp: number) => void;
  /** The node's clock in ms (the cache's), on which a delayed flush falls due. @default Date.now */
  now?: () => number;
}

const NO_OPTIONS: SetOptions = {};

function ttlOptions(ttl: number | undefined): SetOptions {
  return ttl === undefined ? NO_OPTIONS : { ttl };
}

/**
 * The node's one implementation of every replicated write and read, over its `LruCache`: every
 * door (hono routes, the batch operations and their fast path, the memcached port, incr, touch,
 * flush, snapshots) goes through it, so the policy reads in one place (never-stale.md §3–5):
 *
 * - **Newest wins.** Every value carries a stamp; a write applies only over an older one, so a
 *   request delivered late (from a socket a paused node finds at SIGCONT, a retransmission after a
 *   partition heals) loses to what was written since. Unstamped writes (memcached clients, curl,
 *   old clients) are stamped by the node's HybridClock, which observes every stamp it stores.
 * - **Tombstones.** A delete stores a tombstone for `tombstoneGrace`: a miss for every reader,
 *   but its stamp beats an older copy arriving later.
 * - **Fence.** Entries at or below `fenceVersion` (the core's version counter when the fence
 *   rose) are unverified: the batch get reports them so, and the plain view (memcached port,
 *   single-key HTTP) hides them — clients there cannot verify.
 * - **Flush stamp.** A flush clears the cache and refuses copies stamped before it.
 * - **Delayed flush, checked here.** Every method reaches the entries through one getter that
 *   first applies a flush whose time has come ({@link flush}) — as memcached compares each item
 *   with its one `oldest_live` when the item is read — so no door has to remember to, and a
 *   request body or data block that arrived after the flush time sees it.
 *
 * The methods named like `LruCache`'s (`get`, `getEntry`, `peekEntry`, `set`, `add`,
 * `compareAndSet`, `touch`, `delete`, `clear`, `stats`) are the plain view the memcached port
 * uses: tombstones and unverified entries are absent there, and writes are node-stamped.
 */
export class ReplicaStore {
  readonly cache: LruCache<StoredValue>;
  readonly clock: HybridClock;
  /** The node's one flush time: `POST /v1/flush`, the batch's `flush`, memcached's `flush_all`. */
  readonly flush: NodeFlush;
  readonly #grace: number;
  /**
   * How long a tombstone is kept: its grace plus `maxClockSkew`. The grace runs on this node's
   * clock from when the tombstone is stored, but its stamp may be up to `maxClockSkew` ahead of
   * that clock (a writer whose clock runs ahead, as `received` allows). Gone after the grace alone,
   * it would leave a gap below the vouching floor's `now − tombstoneGrace`: a value stamped between
   * the store time and the delete, held by a replica that was away, would be vouched for here.
   */
  readonly #tombstoneTtl: number;
  readonly #wall: () => number;
  readonly #onEarlyEviction: ((key: string, stamp: number) => void) | undefined;
  /** Stamp of this store's start: an empty start knows nothing older (§4's vouching floor). */
  readonly startStamp: number;
  #fenceVersion = 0;
  /** Stamp of the latest fence: a node fenced may have missed deletes from before it. */
  #fenceStamp = 0;
  #flushStamp = 0;
  /** Reads the core counted as hits that the plain view answered as misses. */
  #hiddenHits = 0;
  /** Deletes that removed a live value (the core counts tombstone writes as sets). */
  #deletes = 0;
  /** Core sets that are no write of the plain view: tombstones, and entries stored again verified. */
  #hiddenSets = 0;
  /**
   * Tombstones the core counted as expirations (their grace ran out), deletes (a flush) or
   * evictions (for room, before their grace: `tombstonesEvictedEarly` counts those).
   */
  #tombstoneExpirations = 0;
  #tombstoneDeletes = 0;
  #tombstoneEvictions = 0;
  /** A client spreading keys over several nodes has written here: stalls fence (see stalled). */
  #inCluster = false;
  readonly #stats: ReplicaStats = {
    copiesApplied: 0,
    copiesRefused: 0,
    verifications: 0,
    fences: 0,
    stalls: 0,
    staleReadsPrevented: 0,
    tombstones: 0,
    tombstonesEvictedEarly: 0,
    tombstoneFloor: 0,
    lostValueFloor: 0,
    restoredKeys: 0,
    clockSkewRejections: 0,
    unvouchedReads: 0,
  };
  /** Called before reads that honour the fence (the stall detector's request-path look). */
  beforeRead: () => void = () => undefined;
  /** Told when a tombstone is evicted before its grace (the one unguaranteeable case). */
  onEarlyEviction: ((key: string, stamp: number) => void) | undefined;
  /** Told of each hit served to a get flagged unvouched (the other unguaranteeable case). */
  onUnvouchedRead: ((key: string) => void) | undefined;

  /**
   * `cache` must report evictions to {@link evicted} (its `onEvict`), so tombstones are counted
   * and an early eviction raises the floor: use {@link createReplicaCache}.
   */
  constructor(cache: LruCache<StoredValue>, options: ReplicaStoreOptions) {
    this.cache = cache;
    this.#grace = options.tombstoneGrace;
    this.#tombstoneTtl = options.tombstoneGrace + options.maxClockSkew;
    this.#wall = options.wallClock ?? Date.now;
    this.#onEarlyEviction = options.onEarlyEviction;
    // Without an injected clock the stamps keep the fraction of a millisecond (PreciseWallClock).
    this.clock = new HybridClock({
      ...(options.wallClock === undefined ? {} : { now: options.wallClock }),
      maxSkewMs: options.maxClockSkew,
    });
    this.startStamp = this.clock.tick();
    this.flush = new NodeFlush(() => this.clear(), options.now ?? Date.now);
  }

  /**
   * The cache, after applying a delayed flush whose time has come: every method reaches the
   * entries through it, so the flush time is checked in this one place (one comparison while
   * none is pending), as memcached compares each item with its one `oldest_live` when it reads it.
   */
  get #live(): LruCache<StoredValue> {
    this.flush.settle();
    return this.cache;
  }

  // ------------------------------------------------------------ state

  /** Entries with a version at or below this are unverified. */
  get fenceVersion(): number {
    return this.#fenceVersion;
  }

  get flushStamp(): number {
    return this.#flushStamp;
  }

  /** Marks every entry held now unverified (O(1)): a restore, a stall, `POST /v1/fence`. */
  fence(): void {
    this.#fenceVersion = this.#live.lastVersion;
    this.#fenceStamp = this.clock.tick();
    this.#stats.fences++;
  }

  /**
   * The stall detector's report, counted; fences (and returns true) once a client that spreads
   * keys over several nodes has written here ({@link noteRingNodes}). Until then no other node
   * can have taken a write meant for this one while it stood still — writes wait in its socket —
   * so a lone node (the memcached port, a client of this node alone) keeps serving what it holds.
   */
  stalled(): boolean {
    this.#stats.stalls++;
    if (!this.#inCluster) return false;
    this.fence();
    return true;
  }

  /**
   * A batch's `Dcache-Ring-Nodes` header: how many nodes the sending client spreads keys over.
   * Two or more, once, and a stall fences from then on: another node may stand in for this one
   * (a replica, or the next node while this one is marked down) and take writes it then misses.
   */
  noteRingNodes(header: string | undefined): void {
    if (!this.#inCluster && header !== undefined && Number(header) >= 2) this.#inCluster = true;
  }

  /**
   * The highest stamp at or below which a miss here proves nothing (§4): an evicted tombstone,
   * a value gone by expiry or eviction, a flush, this node's start (it knows nothing older), and
   * tombstones long expired.
   */
  vouchingFloor(): number {
    return Math.max(this.#stats.lostValueFloor, this.#deleteFloor());
  }

  /**
   * The highest stamp at or below which a delete may have happened here without this node holding
   * its tombstone now: its flush, a tombstone evicted before its grace, its start (it held nothing
   * before), its latest fence (it may have missed writes and deletes before it: a stall, a fence
   * request), and tombstones past their grace.
   */
  #deleteFloor(): number {
    this.flush.settle();
    return Math.max(
      this.#stats.tombstoneFloor,
      this.#flushStamp,
      this.startStamp,
      this.#fenceStamp,
      stampAt(this.#wall() - this.#grace),
    );
  }

  /**
   * A stamp received on the wire, observed by the node's clock; 400 clock_skew when it is further
   * ahead than `maxClockSkew` (one runaway clock must not make every later write lose).
   */
  received(stamp: unknown): number {
    return orThrow(this.accept(stamp));
  }

  /** {@link received}, answering the refusal instead of throwing it (the batch's way). */
  accept(stamp: unknown): number | Refused {
    if (!isStamp(stamp))
      return new Refused(400, 'bad_stamp', 'a stamp is an integer ≥ 0 below 2^53');
    if (!this.clock.observe(stamp)) {
      this.#stats.clockSkewRejections++;
      return new Refused(
        400,
        'clock_skew',
        `the stamp is further ahead of this node's clock than maxClockSkew allows`,
      );
    }
    return stamp;
  }

  get replicaStats(): ReplicaStats {
    return { ...this.#stats };
  }

  /**
   * A hit served to a get its client flagged unvouched: possibly stale, and never silent (counted,
   * and logged by the node).
   */
  servedUnvouched(key: string): void {
    this.#stats.unvouchedReads++;
    this.onUnvouchedRead?.(key);
  }

  /** Copies a restore wrote (`restore` origin), counted by the caller that knows. */
  countRestored(n: number): void {
    this.#stats.restoredKeys += n;
  }

  // ------------------------------------------------------------ replica reads (batch)

  /**
   * The raw entry, tombstones included (a miss for the counters), promoted; ask
   * {@link isVerified} whether the node vouches for it.
   */
  lookup(key: string): CacheEntry<StoredValue> | undefined {
    const entry = this.#live.getEntry(key);
    if (entry?.value.tombstone) this.#hiddenHits++;
    return entry;
  }

  /** The raw entry without promotion or counting. */
  peekRaw(key: string): CacheEntry<StoredValue> | undefined {
    return this.#live.peekEntry(key);
  }

  /**
   * Deletes the key's entry while it still holds the write stamped `stamp`: a stand-in's copy once
   * its hint is delivered or given up. A write taken since stays; an incr or touch since does not
   * make the write another one (it is compared by the stamp it had before any of them). Nor does
   * the copy go restamped above `reach`, the newest stamp the stand-in hints named: an incr or a
   * touch no stand-in hint names was taken as a natural replica of another client's ring, and the
   * copy is one of that ring's two.
   */
  dropCopy(key: string, stamp: number | undefined, reach?: number): void {
    const held = this.#live.peekEntry(key);
    if (held === undefined || writtenAt(held.value) !== stamp) return;
    if (reach !== undefined && stampOf(held.value) > reach) return;
    this.#live.delete(key);
  }

  /** The stamp of what the key holds, a tombstone's too; undefined when nothing. */
  heldStamp(key: string): number | undefined {
    const held = this.#live.peekEntry(key);
    return held === undefined ? undefined : stampOf(held.value);
  }

  /**
   * The stamp of the write a stand-in's hint for `key` stood in for, from the stamp it names
   * (undefined: the write held when it arrives). Undefined — no write — when it names an incr's or
   * a touch's stamp, above the write held and at or below where incrs and touches left it: the incr
   * or touch was stood in for, not the write it counted on or restamped, which this node may hold
   * as a natural replica of a changed ring. Named, that stamp would be the entry's, and the hint's
   * delivery would drop it.
   */
  standInWrite(key: string, named: number | undefined): number | undefined {
    const held = this.#live.peekEntry(key);
    if (held === undefined) return named;
    const written = writtenAt(held.value);
    if (named === undefined) return written;
    return named > written && named <= stampOf(held.value) ? undefined : named;
  }

  /** The entry holding a value, verified or not (no tombstone), without promotion or counting. */
  peekStored(key: string): CacheEntry<StoredValue> | undefined {
    const raw = this.#live.peekEntry(key);
    return raw === undefined || raw.value.tombstone ? undefined : raw;
  }

  /** False for an entry written before the node's fence (a restore, a stall, a fence request). */
  isVerified(entry: CacheEntry<StoredValue>): boolean {
    return entry.version > this.#fenceVersion;
  }

  // ------------------------------------------------------------ replica writes

  /**
   * A fresh write (set, add, replace, CAS) stamped `stamp` (undefined: the node stamps it).
   * Unconditional: newest wins — a write older than the stored one, or losing a tie of stamps, is
   * acknowledged without applying (last-write-wins orders it just before the one kept): the stored
   * entry's version and stamp are returned, `superseded`. Conditional: the condition (a
   * fingerprint: the entry is that write, whatever this node's version of it) decides
   * (tombstones and unverified entries are absent), and the write is stamped above what it
   * replaces and above the node's last flush. Undefined when the condition failed; 413 when the
   * entry does not fit.
   *
   * `since` (an add only): the stamp as of which the writer found the key absent everywhere (a
   * read-through's read, before its load). The add is refused when anything under the key — a
   * value, verified or not, or a tombstone — its flush, or a delete this node may have forgotten
   * is newer: a write, delete or flush made during the load, which may have followed a change to
   * the source the loader read before.
   */
  write(
    key: string,
    value: StoredValue,
    ttl: number | undefined,
    condition: WriteCondition | FingerprintCondition,
    stamp?: number,
    since?: number,
  ): Written | undefined {
    /** What the write found under the key: live, a tombstone or unverified. */
    let found: StoredValue | undefined;
    if (condition === null) {
      // Looked at before the clock ticks: a flush that comes due is applied by this first touch
      // of the cache (#live), and the write's stamp must come after the flush's. The stored value
      // alone, no entry object: its version is wanted only when it stands.
      const stored = this.#live.peek(key);
      found = stored;
      // Stamped here, above what it replaces too: a restored entry may be stamped further ahead
      // than the clock would observe (maxClockSkew lowered, a clock stepped back, a snapshot
      // from a faster machine), and an unstamped write must never lose to what it overwrites.
      value.stamp = stamp ?? this.#above(undefined, stored);
      if (stored !== undefined) {
        const order = compareReplicas(value, stored);
        // The stored entry's version only when it stands (gone by now only if it just expired:
        // then this write stands instead).
        const standing = order <= 0 ? this.#live.peekEntry(key) : undefined;
        if (standing !== undefined) {
          const kept = { version: standing.version, stamp: stampOf(standing.value) };
          // The same write again changes nothing, yet what it wrote is what stands.
          return order === 0 ? kept : { ...kept, superseded: true };
        }
      }
      // A write from before the last flush: the flush removed it already.
      if (value.stamp <= this.#flushStamp) {
        return { version: 0, stamp: this.#flushStamp, superseded: true };
      }
    } else {
      const raw = this.#live.peekEntry(key);
      // A condition reads the key, and an unverified entry may be one a peer has since replaced:
      // it is absent here, as a plain read answers (add creates over it, replace and CAS miss).
      const live =
        raw === undefined || raw.value.tombstone || !this.isVerified(raw) ? undefined : raw;
      const holds =
        typeof condition === 'object'
          ? live !== undefined && fingerprintOf(live.value) === condition.fingerprint
          : conditionHolds(condition, live?.version);
      if (!holds) return undefined;
      if (since !== undefined && this.#changedSince(since, raw?.value)) return undefined;
      value.stamp = this.#above(stamp, raw?.value);
      found = raw?.value;
    }
    const options = ttlOptions(ttl);
    const version =
      condition === null
        ? this.#putReplacing(key, value, options, found)
        : this.#putKeeping(key, value, options, found !== undefined);
    return { version, stamp: value.stamp };
  }

  /**
   * A delete: stores a tombstone (newest wins, ties go to the tombstone). `removed` says whether
   * a live value was there; `stamp` is the one that stands afterwards.
   */
  remove(key: string, stamp?: number): { removed: boolean; stamp: number } {
    const raw = this.#live.peekEntry(key);
    const removed = raw !== undefined && !raw.value.tombstone;
    // Above what it deletes, as an unstamped write (see write).
    const tombstone = tombstoneValue(stamp ?? this.#above(undefined, raw?.value));
    if (raw !== undefined && compareReplicas(tombstone, raw.value) <= 0) {
      return { removed, stamp: stampOf(raw.value) };
    }
    this.#bury(key, tombstone);
    if (removed) this.#deletes++;
    return { removed, stamp: stampOf(tombstone) };
  }

  /**
   * A copy of another replica's value (hint replay, read repair, restore): applied when newer
   * than what is stored, and then verified; the same write again only verifies it.
   */
  copy(key: string, value: StoredValue, ttl: number, stamp: number): CopyOutcome {
    value.stamp = stamp;
    return this.#copy(key, value, ttl);
  }

  /** A copy of another replica's tombstone. */
  bury(key: string, stamp: number): CopyOutcome {
    return this.#copy(key, tombstoneValue(stamp), this.#tombstoneTtl);
  }

  /**
   * Marks the entry verified when its stamp is `stamp` (a peer holds the same write): it is
   * stored again as it is, with its remaining TTL, which gives it a version above the fence.
   * Returns the stored stamp otherwise (undefined when absent).
   */
  verify(key: string, stamp: number): { verified: boolean; stamp: number | undefined } {
    const raw = this.#live.peekEntry(key);
    if (raw === undefined) return { verified: false, stamp: undefined };
    const stored = stampOf(raw.value);
    if (stored !== stamp) return { verified: false, stamp: stored };
    if (raw.version <= this.#fenceVersion) {
      // The same object again: the core reports no overwrite, and it fitted before.
      this.#live.set(key, raw.value, { ttl: keptTtl(raw) });
      this.#hiddenSets++;
      this.#stats.verifications++;
    }
    return { verified: true, stamp: stored };
  }

  /**
   * A read-modify-write (incr/decr, a rewrite keeping the TTL): stores `value` stamped above
   * both `stamp` and the stored one, so the result is the newest whatever the clocks said.
   */
  rewrite(key: string, value: StoredValue, ttl: number | undefined, stamp?: number): Written {
    const stored = this.#live.peek(key);
    value.stamp = this.#above(stamp, stored);
    const version = this.#putKeeping(key, value, ttlOptions(ttl), stored !== undefined);
    return { version, stamp: value.stamp };
  }

  /**
   * A read-modify-write (incr, touch) found the entry unverified: it answers as absent rather
   * than count on (or re-stamp) a value a peer may have overwritten; the caller's other replicas
   * answer, and hints or repairs bring this one up to date.
   */
  refuseUnverified(entry: CacheEntry<StoredValue>): boolean {
    if (this.isVerified(entry)) return false;
    this.#stats.staleReadsPrevented++;
    return true;
  }

  /**
   * A new TTL for a live, verified entry; undefined when absent or unverified. Unstamped (the
   * memcached port, plain HTTP) it is stamped above the entry. A writer's `stamp` at or below the
   * entry's was taken before the write (or touch) held here: delivered late — its node paused or
   * cut off when it was sent, and the newer write got there first — it would restamp that write
   * and impose its TTL on this replica alone, while a replica it reached before the write holds
   * the write under the write's own stamp and TTL. So it changes nothing, and answers the stamp
   * that stands, `superseded`, as a fresh write that lost does (last-write-wins orders it just
   * before that write, as it was on the other replica).
   */
  retouch(
    key: string,
    ttl: number,
    stamp?: number,
    options?: Pick<SetOptions, 'keepAccess'>,
  ): Touched | undefined {
    const raw = this.#live.peekEntry(key);
    if (raw === undefined || raw.value.tombstone || this.refuseUnverified(raw)) return undefined;
    const held = stampOf(raw.value);
    if (stamp !== undefined && stamp <= held) return { stamp: held, superseded: true };
    const next = this.#above(stamp, raw.value);
    this.#live.touch(key, ttl, options);
    // In place: a touch changes no bytes, and the entry keeps its version. Nor does it start a
    // count: an incr issued after the write and before the touch, delivered late, still counts
    // (operations/incr.ts), as it did on a replica it reached before the touch.
    raw.value.countedFrom ??= held;
    raw.value.stamp = next;
    return { stamp: next };
  }

  // ------------------------------------------------------------ plain view (memcached, HTTP)

  /** `getEntry(key)?.value`, with no entry object: the memcached port's plain get. */
  get(key: string): StoredValue | undefined {
    this.beforeRead();
    // Only a node fenced since it started has entries to hide: the version is looked up only then,
    // and before the value. Between the two lookups the entry can only go (expire, a flush), never
    // change, so a value `get` still returns is the one this version is of.
    const fenced = this.#fenceVersion > 0;
    const version = fenced ? this.#live.versionOf(key) : undefined;
    const value = this.#live.get(key);
    if (value === undefined) return undefined;
    if (value.tombstone) {
      this.#hiddenHits++;
      return undefined;
    }
    if (fenced && (version === undefined || version <= this.#fenceVersion)) {
      this.#hiddenHits++;
      this.#stats.staleReadsPrevented++;
      return undefined;
    }
    return value;
  }

  /** A live, verified entry, promoted; anything else is a miss. */
  getEntry(key: string): CacheEntry<StoredValue> | undefined {
    this.beforeRead();
    const entry = this.#live.getEntry(key);
    if (entry === undefined) return undefined;
    if (entry.value.tombstone) {
      this.#hiddenHits++;
      return undefined;
    }
    if (entry.version <= this.#fenceVersion) {
      this.#hiddenHits++;
      this.#stats.staleReadsPrevented++;
      return undefined;
    }
    return entry;
  }

  peekEntry(key: string): CacheEntry<StoredValue> | undefined {
    this.beforeRead();
    const entry = this.#live.peekEntry(key);
    if (entry === undefined || entry.value.tombstone || entry.version <= this.#fenceVersion) {
      return undefined;
    }
    return entry;
  }

  has(key: string): boolean {
    return this.peekEntry(key) !== undefined;
  }

  /** Node-stamped, always newest: the new version, undefined when the entry does not fit. */
  set(key: string, value: StoredValue, options?: SetOptions): number | undefined {
    value.stamp = this.#above(undefined, this.#live.peek(key));
    const version = this.#live.set(key, value, options);
    if (version !== undefined) this.#stored(value);
    return version;
  }

  add(key: string, value: StoredValue, options?: SetOptions): number | undefined {
    if (this.peekEntry(key) !== undefined) return undefined;
    const held = this.#live.peek(key);
    if (held === undefined) return this.set(key, value, options);
    // Over a tombstone or an unverified entry (held, though absent here): the core's `replace`,
    // which keeps it when refused for size, where `set` would drop it — a tombstone must stay.
    value.stamp = this.#above(undefined, held);
    const version = this.#live.replace(key, value, options);
    if (version !== undefined) this.#stored(value);
    // Gone since it was read (it expired): nothing is held, so nothing can be dropped.
    else if (this.#live.peek(key) === undefined) return this.set(key, value, options);
    return version;
  }

  /** `set` over a visible entry; refused for size, it keeps that entry (a `set` drops it). */
  replace(key: string, value: StoredValue, options?: SetOptions): number | undefined {
    const entry = this.peekEntry(key);
    if (entry === undefined) return undefined;
    value.stamp = this.#above(undefined, entry.value);
    const version = this.#live.replace(key, value, options);
    if (version !== undefined) this.#stored(value);
    return version;
  }

  compareAndSet(
    key: string,
    value: StoredValue,
    version: number,
    options?: SetOptions,
  ): CompareAndSetResult {
    const entry = this.peekEntry(key);
    if (entry === undefined) return 'not_found';
    if (entry.version !== version) return 'exists';
    value.stamp = this.#above(undefined, entry.value);
    // The core's compareAndSet, refused for size, keeps the entry (its set would drop it).
    const outcome = this.#live.compareAndSet(key, value, version, options);
    if (outcome === 'stored') this.#stored(value);
    return outcome;
  }

  touch(key: string, ttl: number, options?: Pick<SetOptions, 'keepAccess'>): boolean {
    if (this.peekEntry(key) === undefined) return false;
    return this.retouch(key, ttl, undefined, options) !== undefined;
  }

  /**
   * A delete ({@link remove}); true when a live, verified value was removed. A key not held, on a
   * node no cluster client has written to ({@link noteRingNodes}), gets no tombstone: no other
   * node can have taken that key's writes for this one, and deleting keys not held —
   * delete-on-update of uncached keys, over memcached or HTTP — would otherwise fill the cache
   * with tombstones that evict live values. (A held key's tombstone replaces its value; a batch
   * delete always leaves one, as a hint for it may follow.)
   */
  delete(key: string): boolean {
    const visible = this.peekEntry(key) !== undefined;
    // Not visible may still be held (a tombstone, an unverified entry): only nothing held is skipped.
    if (!visible && !this.#inCluster && this.#live.peekEntry(key) === undefined) return false;
    this.remove(key);
    return visible;
  }

  /** A flush: everything goes, and copies stamped before now are refused from now on. */
  clear(): void {
    this.#clearAt(this.clock.tick());
  }

  /**
   * A flush a client stamped (`stamp`, accepted by {@link received}): everything goes now (a
   * pending delayed flush too), and copies stamped at or before `stamp` are refused from now on —
   * not those stamped since. Delivered late (its node was paused when it was sent, and the
   * client's call had failed), a flush stamped on arrival would refuse the hints of the writes
   * made after it while the node was away, and they would be lost with the next fault.
   */
  flushAt(stamp: number): void {
    this.flush.cancel();
    this.#clearAt(Math.max(stamp, this.#flushStamp));
  }

  #clearAt(stamp: number): void {
    this.#flushStamp = stamp;
    this.cache.clear();
    this.#stats.tombstones = 0;
  }

  /**
   * The core's counters as the plain view saw them: tombstones are neither items nor hits, and
   * their end (grace over, a flush) is no expiration or delete.
   */
  get stats(): CacheStats {
    const core = this.#live.stats;
    const hits = core.hits - this.#hiddenHits;
    const misses = core.misses + this.#hiddenHits;
    return {
      ...core,
      hits,
      misses,
      sets: core.sets - this.#hiddenSets,
      deletes: core.deletes + this.#deletes - this.#tombstoneDeletes,
      expirations: core.expirations - this.#tombstoneExpirations,
      evictions: core.evictions - this.#tombstoneEvictions,
      items: core.items - this.#stats.tombstones,
      hitRate: hits + misses === 0 ? 0 : hits / (hits + misses),
    };
  }

  resetStats(): void {
    this.#live.resetStats();
    this.#hiddenHits = 0;
    this.#deletes = 0;
    this.#hiddenSets = 0;
    this.#tombstoneExpirations = 0;
    this.#tombstoneDeletes = 0;
    this.#tombstoneEvictions = 0;
    for (const name of Object.keys(this.#stats) as (keyof ReplicaStats)[]) {
      if (name !== 'tombstones' && name !== 'tombstoneFloor' && name !== 'lostValueFloor') {
        this.#stats[name] = 0;
      }
    }
  }

  // ------------------------------------------------------------ snapshots

  /** A page of the core's keys for `GET /v1/keys` (after a due flush). */
  scan(
    ...args: Parameters<LruCache<StoredValue>['scan']>
  ): ReturnType<LruCache<StoredValue>['scan']> {
    return this.#live.scan(...args);
  }

  /** Every entry, tombstones included, for a snapshot: a due flush has wiped what it must. */
  dump(): ReturnType<LruCache<StoredValue>['dump']> {
    return this.#live.dump();
  }

  /**
   * After the cache was loaded from a snapshot: counts its tombstones, makes every later stamp of
   * this node's clock newer than every loaded one, and takes back the saved node's floors (0 for
   * none): its last flush, and its tombstone floor (the newest tombstone evicted before its grace).
   * Copies stamped at or below them stay refused, as they were before the restart: a restored
   * node's tombstones keep refusing older copies, and so must its flush and its forgotten deletes.
   */
  loaded(floors: { flushStamp?: number; tombstoneFloor?: number } = {}): void {
    const { flushStamp = 0, tombstoneFloor = 0 } = floors;
    if (flushStamp > this.#flushStamp) {
      this.#flushStamp = flushStamp;
      if (flushStamp > this.clock.last) this.clock.observe(flushStamp);
    }
    if (tombstoneFloor > this.#stats.tombstoneFloor) {
      this.#stats.tombstoneFloor = tombstoneFloor;
      if (tombstoneFloor > this.clock.last) this.clock.observe(tombstoneFloor);
    }
    let tombstones = 0;
    for (const value of this.#live.values()) {
      if (value.tombstone) tombstones++;
      const stamp = stampOf(value);
      if (stamp > this.clock.last) this.clock.observe(stamp);
    }
    this.#stats.tombstones = tombstones;
  }

  /**
   * The core's `onEvict`: keeps the tombstone count, notices tombstones evicted early, and raises
   * the floor past values that left by expiry or eviction.
   */
  evicted(key: string, value: StoredValue, reason: string): void {
    if (!value.tombstone) {
      // The key may have held a write newer than a returning replica's copy (an overwrite that
      // then expired or was evicted here): this node's miss must not vouch for that copy. One
      // floor for every key, as there is no room to remember each lost key.
      if (reason === 'evict' || reason === 'expire') {
        const stamp = stampOf(value);
        if (stamp > this.#stats.lostValueFloor) this.#stats.lostValueFloor = stamp;
      }
      return;
    }
    this.#stats.tombstones--;
    // A delete remembered, not a value: its end is no expiration, delete or eviction of the plain
    // view.
    if (reason === 'expire') this.#tombstoneExpirations++;
    else if (reason === 'delete') this.#tombstoneDeletes++;
    if (reason !== 'evict') return;
    this.#tombstoneEvictions++;
    // Evicted for room before its grace ran out: absences at or below its stamp are unproven.
    const stamp = stampOf(value);
    this.#stats.tombstonesEvictedEarly++;
    if (stamp > this.#stats.tombstoneFloor) this.#stats.tombstoneFloor = stamp;
    this.#onEarlyEviction?.(key, stamp);
    this.onEarlyEviction?.(key, stamp);
  }

  // ------------------------------------------------------------ internals

  /**
   * Whether `stored`, or a delete this node may have forgotten (a load longer than
   * `tombstoneGrace` included), is newer than `since`. Not the floor of values that expired or
   * were evicted (any key's): short TTLs would keep every read-through out.
   */
  #changedSince(since: number, stored: StoredValue | undefined): boolean {
    return this.#deleteFloor() > since || (stored !== undefined && stampOf(stored) > since);
  }

  /**
   * A stamp for a write decided here now: the writer's, raised above what it replaces and above
   * the node's last flush. A writer whose clock lags this node's would otherwise store a value
   * stamped before a flush it came after: its copies would be refused elsewhere as flushed.
   */
  #above(stamp: number | undefined, stored: StoredValue | undefined): number {
    let next = stamp ?? this.clock.tick();
    if (next <= this.#flushStamp) next = this.#flushStamp + 1;
    if (stored !== undefined && stampOf(stored) >= next) next = stampOf(stored) + 1;
    if (next > this.clock.last) this.clock.observe(next);
    return next;
  }

  #copy(key: string, value: StoredValue, ttl: number): CopyOutcome {
    const raw = this.#live.peekEntry(key);
    const stamp = stampOf(value);
    if (stamp <= this.#flushStamp) {
      this.#stats.copiesRefused++;
      return { applied: false, stamp: this.#flushStamp };
    }
    // A value onto a key held nowhere here, no newer than a tombstone this node evicted before
    // its grace: that delete may have been of this key, and nothing here remembers it. Applied,
    // the copy would be served as verified — a resurrection, where §4 promises a miss.
    const tombstoneFloor = this.#stats.tombstoneFloor;
    if (raw === undefined && !value.tombstone && stamp <= tombstoneFloor) {
      this.#stats.copiesRefused++;
      return { applied: false, stamp: tombstoneFloor };
    }
    const order = raw === undefined ? 1 : compareReplicas(value, raw.value);
    if (order < 0) {
      this.#stats.copiesRefused++;
      return { applied: false, stamp: stampOf(raw!.value) };
    }
    if (order === 0) {
      // The same write (a late delivery got there first): this copy vouches for it.
      this.verify(key, stamp);
      this.#stats.copiesApplied++;
      return { applied: true, stamp };
    }
    if (value.tombstone) this.#bury(key, value);
    else this.#put(key, value, { ttl });
    this.#stats.copiesApplied++;
    return { applied: true, stamp };
  }

  #bury(key: string, tombstone: StoredValue): void {
    this.#put(key, tombstone, { ttl: this.#tombstoneTtl });
  }

  /**
   * An unconditional write (`held`: what it found): refused for size (413), the core's set has
   * dropped the value it was to replace, as memcached's does, so a reader cannot get that value
   * after the caller's update failed; a tombstone just below the write's stamp also keeps a
   * replica's older copy from coming back (see {@link belowStamp}).
   */
  #putReplacing(
    key: string,
    value: StoredValue,
    options: SetOptions,
    held: StoredValue | undefined,
  ): number {
    const version = this.#live.set(key, value, options);
    if (version === undefined) {
      if (held !== undefined && !held.tombstone) this.#deletes++;
      this.remove(key, belowStamp(value.stamp!));
      throw entryRefused();
    }
    this.#stored(value);
    return version;
  }

  /**
   * A conditional write or a read-modify-write (`held`: it found an entry for `key`): refused for
   * size (413), it changes nothing, as in memcached — over a held entry the core's `replace`,
   * which keeps what it would replace where its `set` drops it.
   */
  #putKeeping(key: string, value: StoredValue, options: SetOptions, held: boolean): number {
    let version = held ? this.#live.replace(key, value, options) : undefined;
    if (version === undefined) {
      if (held && this.#live.peekEntry(key) !== undefined) throw entryRefused();
      // Nothing held, or it expired since it was read: a new entry.
      version = this.#put(key, value, options);
    } else {
      this.#stored(value);
    }
    return version;
  }

  /** Stores and returns the new version; 413 when the core refuses the entry. */
  #put(key: string, value: StoredValue, options: SetOptions): number {
    const version = this.#live.set(key, value, options);
    if (version === undefined) throw entryRefused();
    this.#stored(value);
    return version;
  }

  #stored(value: StoredValue): true {
    if (value.tombstone) {
      this.#stats.tombstones++;
      this.#hiddenSets++;
    }
    return true;
  }
}
