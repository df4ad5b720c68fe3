/** Defaults and validation of `LruCacheOptions`, in one place. */
import type { EvictionReason, LruCacheOptions } from './types.js';
import { assertFunction, assertTtl, describe } from './validate.js';
import { coarseNow } from './clock.js';

/** The key index addresses at most 2^24 slots (key-index.ts); no cache can hold more. */
export const MAX_ENTRIES = 2 ** 24;

/** Default period of the background sweep of expired entries, in ms. */
export const DEFAULT_SWEEP_INTERVAL = 1000;
/** The longest delay a Node timer holds; past it Node warns and fires after 1 ms instead. */
const MAX_TIMER_MS = 2_147_483_647;

export interface ResolvedOptions<V> {
  maxMemory: number;
  /** Infinity when not set (then `maxMemory` alone bounds an entry). */
  maxEntrySize: number;
  maxItems: number;
  defaultTtl: number;
  sizeOf: ((value: V, key: string) => number) | undefined;
  onEvict: ((key: string, value: V, reason: EvictionReason) => void) | undefined;
  now: () => number;
  /** True when `now` is the built-in coarse clock (documented resolution), false when injected. */
  coarseClock: boolean;
  sweepInterval: number;
  trackAccess: boolean;
}

const KNOWN = new Set([
  'maxMemory',
  'maxEntrySize',
  'maxItems',
  'defaultTtl',
  'sizeOf',
  'onEvict',
  'now',
  'sweepInterval',
  'trackAccess',
]);

export function resolveOptions<V>(options: LruCacheOptions<V>): ResolvedOptions<V> {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`LruCache: options must be an object, got ${describe(options)}`);
  }
  for (const name of Object.keys(options)) {
    if (!KNOWN.has(name)) throw new TypeError(`LruCache: unknown option "${name}"`);
  }
  const {
    maxMemory,
    maxEntrySize,
    maxItems,
    defaultTtl = 0,
    sizeOf,
    onEvict,
    now,
    sweepInterval,
    trackAccess = false,
  } = options;
  if (maxMemory === undefined && maxItems === undefined) {
    throw new TypeError(
      'LruCache: an unbounded cache is refused; set maxMemory (bytes) and/or maxItems',
    );
  }
  if (maxMemory !== undefined) assertPositive(maxMemory, 'maxMemory', false);
  if (maxEntrySize !== undefined) assertPositive(maxEntrySize, 'maxEntrySize', false);
  if (maxItems !== undefined) assertPositive(maxItems, 'maxItems', true);
  assertTtl(defaultTtl, 'LruCache: option defaultTtl');
  if (sizeOf !== undefined) assertFunction(sizeOf, 'LruCache: option sizeOf');
  if (onEvict !== undefined) assertFunction(onEvict, 'LruCache: option onEvict');
  if (now !== undefined) assertFunction(now, 'LruCache: option now');
  if (sweepInterval !== undefined) {
    if (
      typeof sweepInterval !== 'number' ||
      !Number.isFinite(sweepInterval) ||
      sweepInterval < 0 ||
      sweepInterval > MAX_TIMER_MS
    ) {
      throw new RangeError(
        `LruCache: option sweepInterval must be a number of ms from 0 (no timer) to ${MAX_TIMER_MS}, got ${describe(sweepInterval)}`,
      );
    }
  }
  if (typeof trackAccess !== 'boolean') {
    throw new TypeError(
      `LruCache: option trackAccess must be a boolean, got ${describe(trackAccess)}`,
    );
  }
  return {
    maxMemory: maxMemory ?? Infinity,
    maxEntrySize: maxEntrySize ?? Infinity,
    maxItems: Math.min(maxItems ?? MAX_ENTRIES, MAX_ENTRIES),
    defaultTtl,
    sizeOf,
    onEvict,
    now: now ?? coarseNow,
    coarseClock: now === undefined,
    sweepInterval: sweepInterval ?? DEFAULT_SWEEP_INTERVAL,
    trackAccess,
  };
}

function assertPositive(value: unknown, name: string, integer: boolean): void {
  if (typeof value !== 'number') {
    throw new TypeError(`LruCache: option ${name} must be a number, got ${describe(value)}`);
  }
  const ok = integer
    ? Number.isSafeInteger(value) && value >= 1
    : Number.isFinite(value) && value > 0;
  if (!ok) {
    throw new RangeError(
      `LruCache: option ${name} must be a ${integer ? 'positive integer' : 'finite number > 0'}, got ${value}`,
    );
  }
}
