import type { CacheEntry, CacheStats, CompareAndSetResult, SetOptions } from '@dcache/core';
import type { StoredValue } from '../stored-value.js';
import { EXPIRED } from './exptime.js';

/**
 * The parts of @dcache/core's `LruCache<StoredValue>` the memcached front door uses. Declared
 * structurally so tests can hand in the real cache or anything shaped like it.
 */
export interface MemcachedCache {
  get(key: string): StoredValue | undefined;
  getEntry(key: string): CacheEntry<StoredValue> | undefined;
  peekEntry(key: string): CacheEntry<StoredValue> | undefined;
  set(key: string, value: StoredValue, options?: SetOptions): boolean;
  add(key: string, value: StoredValue, options?: SetOptions): boolean;
  compareAndSet(
    key: string,
    value: StoredValue,
    version: number,
    options?: SetOptions,
  ): CompareAndSetResult;
  touch(key: string, ttl: number): boolean;
  delete(key: string): boolean;
  clear(): void;
  readonly stats: CacheStats;
}

/** The longest delay a Node timer takes. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Meta-protocol item state memcached keeps in item flags; see {@link ProtocolStore.marks}. */
export const MARK_STALE = 1;
export const MARK_TOKEN_SENT = 2;
/** Written by `ms` with a base64 (`b`) key: `mg k` then echoes the key base64-encoded. */
export const MARK_BINARY_KEY = 4;

/**
 * The cache as the memcached protocol sees it: TTLs already converted to milliseconds, with
 * {@link EXPIRED} meaning "gone at once" (the core has no such TTL), and `flush_all <delay>`.
 */
export class ProtocolStore {
  /**
   * Stale (`md I`) and win-token (`mg N`/`R`) marks, keyed by the stored value object. Every write
   * stores a new object, so a mark dies with the version it was set on — as memcached's item
   * flags do — and a WeakMap never holds an evicted value alive.
   */
  readonly marks = new WeakMap<StoredValue, number>();
  private flushAtMs = 0;
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly cache: MemcachedCache,
    private readonly now: () => number,
  ) {}

  /**
   * Applies a delayed flush whose time has come. Checked before each command (one comparison) so
   * tests with an injected clock see it exactly; an unref'd timer also fires it for idle nodes.
   */
  settleFlush(): void {
    if (this.flushAtMs !== 0 && this.now() >= this.flushAtMs) this.flushNow();
  }

  /**
   * memcached's flush_all: every item written before the flush time is gone once it arrives.
   * Clearing the cache at that moment has exactly that effect (later writes come after it).
   */
  flush(delayMs: number): void {
    if (delayMs <= 0) {
      this.flushNow();
      return;
    }
    this.flushAtMs = this.now() + delayMs;
    this.armFlushTimer(delayMs);
  }

  /**
   * Node's timers hold at most 2^31−1 ms (~24.8 days; a longer delay fires after 1 ms, with a
   * warning), and memcached takes a flush up to 30 days ahead — or any absolute time: a far flush
   * waits in steps and re-arms until its time comes. (With an injected clock that does not move,
   * the step re-arms until the clock gets there or the store is disposed: harmless, unref'd.)
   */
  private armFlushTimer(delayMs: number): void {
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.flushTimer = setTimeout(
      () => {
        this.settleFlush();
        if (this.flushAtMs !== 0) this.armFlushTimer(this.flushAtMs - this.now());
      },
      Math.min(Math.max(delayMs, 1), MAX_TIMER_MS),
    );
    this.flushTimer.unref();
  }

  private flushNow(): void {
    this.flushAtMs = 0;
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.cache.clear();
  }

  /** Stops the delayed-flush timer (the listener is closing). */
  dispose(): void {
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }

  /** Stores unconditionally; false when the core refused the entry (larger than the cache). */
  set(key: string, value: StoredValue, ttlMs: number): boolean {
    if (ttlMs === EXPIRED) {
      this.cache.delete(key);
      return true;
    }
    return this.cache.set(key, value, { ttl: ttlMs });
  }

  /** 'stored' | 'exists' (key present) | 'refused'. */
  add(key: string, value: StoredValue, ttlMs: number): 'stored' | 'exists' | 'refused' {
    if (ttlMs === EXPIRED) return this.cache.peekEntry(key) === undefined ? 'stored' : 'exists';
    if (this.cache.add(key, value, { ttl: ttlMs })) return 'stored';
    return this.cache.peekEntry(key) === undefined ? 'refused' : 'exists';
  }

  compareAndSet(
    key: string,
    value: StoredValue,
    version: number,
    ttlMs: number,
  ): CompareAndSetResult {
    const ttl = ttlMs === EXPIRED ? 0 : ttlMs;
    const result = this.cache.compareAndSet(key, value, version, { ttl });
    if (result === 'stored' && ttlMs === EXPIRED) this.cache.delete(key);
    return result;
  }

  /** Sets a new TTL; an expired TTL removes the entry. False when the key is absent. */
  touch(key: string, ttlMs: number): boolean {
    if (ttlMs === EXPIRED) return this.cache.delete(key);
    return this.cache.touch(key, ttlMs);
  }

  /** The TTL to pass back to the core to keep an entry's remaining lifetime on rewrite. */
  static remainingTtl(entry: CacheEntry<StoredValue>): number {
    if (entry.ttl === undefined) return 0;
    return entry.ttl > 1 ? entry.ttl : 1;
  }

  hasMark(value: StoredValue, mark: number): boolean {
    return ((this.marks.get(value) ?? 0) & mark) !== 0;
  }

  /**
   * Keeps the binary-key mark when a value is rewritten where memcached changes its item in
   * place (md I, an incr/decr whose number still fits).
   */
  carryKeyMark(from: StoredValue, to: StoredValue): void {
    if (this.hasMark(from, MARK_BINARY_KEY)) this.addMark(to, MARK_BINARY_KEY);
  }

  addMark(value: StoredValue, mark: number): void {
    this.marks.set(value, (this.marks.get(value) ?? 0) | mark);
  }
}
