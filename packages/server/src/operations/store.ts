import type { CompareAndSetResult, LruCache } from '@dcache/core';
import { HttpError } from '../errors/http-error.js';
import type { StoredValue } from './stored-value.js';

/** When a write happens: always (null), only if absent, only if present, or only at a version (CAS). */
export type WriteCondition = null | 'add' | 'replace' | number;

/**
 * A cluster client's compare-and-set: only if the entry is the write with this fingerprint
 * (`writeFingerprint` of its stamp, flags and bytes), the same on every replica holding that write.
 * A node's version is its own, so a version read from one replica can match another write here.
 */
export interface FingerprintCondition {
  readonly fingerprint: number;
}

const NO_OPTIONS = {};

/** 413: the cache refused an entry larger than its whole memory limit. */
export function entryRefused(): HttpError {
  return new HttpError(413, 'too_large', "the entry does not fit in this node's memory limit");
}

/**
 * Writes `value` under `key` if `condition` holds; returns the new version, or undefined when the
 * condition fails (a 412). Throws 413 when the cache refuses an entry larger than its whole memory.
 */
export function store(
  cache: LruCache<StoredValue>,
  key: string,
  value: StoredValue,
  ttl: number | undefined,
  condition: WriteCondition,
): number | undefined {
  const options = ttl === undefined ? NO_OPTIONS : { ttl };
  if (typeof condition === 'number') {
    const outcome: CompareAndSetResult = cache.compareAndSet(key, value, condition, options);
    if (outcome === 'refused') throw entryRefused();
    if (outcome !== 'stored') return undefined;
    // compareAndSet reports no version: read it back in the same tick, where nothing interleaves.
    const entry = cache.peekEntry(key);
    if (entry === undefined || entry.value !== value) throw entryRefused();
    return entry.version;
  }
  const version =
    condition === null
      ? cache.set(key, value, options)
      : condition === 'add'
        ? cache.add(key, value, options)
        : cache.replace(key, value, options);
  if (version !== undefined) return version;
  // Not stored: a failed condition, unless the key's state says the cache refused the size.
  const present = cache.has(key);
  if (condition === 'add' ? present : condition === 'replace' && !present) return undefined;
  throw entryRefused();
}

/**
 * Whether `condition` lets a write (or a conditional DELETE) go ahead on an entry whose live version
 * is `version` (undefined: absent, or a tombstone).
 */
export function conditionHolds(condition: WriteCondition, version: number | undefined): boolean {
  if (condition === null) return true;
  if (condition === 'add') return version === undefined;
  if (version === undefined) return false;
  return condition === 'replace' || condition === version;
}

/** The 412 of a failed condition, saying which way it failed. */
export function preconditionFailed(condition: WriteCondition, present: boolean): HttpError {
  const message =
    condition === 'add'
      ? 'the key already exists'
      : !present
        ? 'the key does not exist'
        : `the key's version is not ${condition}`;
  return new HttpError(412, 'precondition_failed', message);
}
