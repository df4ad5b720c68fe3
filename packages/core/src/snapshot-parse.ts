/**
 * Checks a snapshot given to `LruCache.load` — every entry, before the cache changes — so that a
 * malformed one throws naming the entry and leaves the cache exactly as it was.
 */
import type { LoadOptions } from './types.js';
import { assertTtl, describe } from './validate.js';

const LOAD_OPTIONS = new Set(['elapsed', 'minVersion']);

/**
 * The highest version a load may leave the counter at: 2^52, so that at least 2^52 more writes
 * (years at millions per second) fit below 2^53, past which versions would stop being distinct.
 */
export const VERSION_CEILING = 2 ** 52;

/** A checked snapshot as parallel arrays, without the entries whose TTL ran out while stored. */
export interface ParsedSnapshot<V> {
  keys: string[];
  values: V[];
  /** TTL left now, in ms; 0 = never expire. */
  ttls: Float64Array;
  /** The dumped version, 0 when the record has none. */
  versions: Float64Array;
  /** The largest dumped version, 0 when there is none. */
  maxVersion: number;
  /** The smallest dumped version, 0 when there is none. */
  minVersion: number;
  /** How many records have no version (those that ran out included). */
  unversioned: number;
  /** `minVersion` of the load options: every version after the load is above it. 0 by default. */
  floor: number;
}

/** Typed arrays and no object per entry: a snapshot can be millions of entries long. */
export function parseSnapshot<V>(
  entries: unknown,
  options: LoadOptions | undefined,
): ParsedSnapshot<V> {
  const { elapsed, minVersion: floor } = resolveLoadOptions(options);
  if (!Array.isArray(entries)) {
    throw new TypeError(
      `load: entries must be an array of [key, record] pairs (what dump() returns), got ${describe(entries)}`,
    );
  }
  const keys: string[] = [];
  const values: V[] = [];
  const ttls = new Float64Array(entries.length);
  const versions = new Float64Array(entries.length);
  const allVersions = new Float64Array(entries.length);
  let versioned = 0;
  let maxVersion = 0;
  const seen = new Set<string>();
  for (let i = 0; i < entries.length; i++) {
    const entry: unknown = entries[i];
    if (!Array.isArray(entry) || entry.length !== 2) {
      const got = Array.isArray(entry) ? `an array of ${entry.length}` : describe(entry);
      throw new TypeError(`load: entry ${i} must be a [key, record] pair, got ${got}`);
    }
    const key: unknown = entry[0];
    const record: unknown = entry[1];
    if (typeof key !== 'string') {
      throw new TypeError(`load: entry ${i}: key must be a string, got ${describe(key)}`);
    }
    const distinct = seen.size;
    seen.add(key);
    if (seen.size === distinct) {
      const first = entries.findIndex((e) => (e as unknown[])[0] === key);
      throw new RangeError(`${where(i, key)}: key repeats entry ${first}`);
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      throw new TypeError(
        `${where(i, key)}: record must be an object { value, ttl?, version? }, got ${describe(record)}`,
      );
    }
    // A field other than value, ttl and version is refused rather than ignored: an lru-cache
    // dump's `ttl` is the original TTL counted from its `start`, and read as a remaining TTL it
    // would be wrong. for-in rather than Object.keys: no array per record.
    for (const field in record) {
      if (field !== 'value' && field !== 'ttl' && field !== 'version') {
        throw new TypeError(
          `${where(i, key)}: unknown field "${field}" (a record holds value, ttl and version)`,
        );
      }
    }
    const { value, ttl, version } = record as Record<string, unknown>;
    // JSON drops an undefined value, and a cache cannot tell one from a miss: not a dump's output.
    if (value === undefined) throw new TypeError(`${where(i, key)}: value is missing or undefined`);
    let left = 0; // never expires
    let ranOut = false;
    if (ttl !== undefined) {
      if (!isTtl(ttl)) assertTtl(ttl, where(i, key));
      if (ttl !== 0) {
        left = ttl - elapsed;
        ranOut = left <= 0;
      }
    }
    if (version !== undefined) {
      if (!isVersion(version)) badVersion(version, where(i, key));
      allVersions[versioned++] = version;
      if (version > maxVersion) maxVersion = version;
    }
    if (ranOut) continue; // its TTL ran out while the snapshot was stored
    ttls[keys.length] = left;
    versions[keys.length] = version ?? 0;
    keys.push(key);
    values.push(value as V);
  }
  const sorted = allVersions.subarray(0, versioned).sort();
  checkVersionsDistinct(entries, sorted);
  return {
    keys,
    values,
    ttls,
    versions,
    maxVersion,
    minVersion: versioned === 0 ? 0 : sorted[0]!,
    unversioned: entries.length - versioned,
    floor,
  };
}

/** `sorted`: every version in `entries`, in order; a repeat is found sorted, named by a scan. */
function checkVersionsDistinct(entries: unknown[], sorted: Float64Array): void {
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i] !== sorted[i - 1]) continue;
    const version = sorted[i];
    const holders: number[] = [];
    entries.forEach((entry, index) => {
      if ((entry as [string, { version?: number }])[1].version === version) holders.push(index);
    });
    const [first, second] = holders as [number, number];
    const key = (entries[second] as [string])[0];
    throw new RangeError(`${where(second, key)}: version ${version} repeats entry ${first}`);
  }
}

/** Names an entry in an error message; built only when there is an error to report. */
function where(index: number, key: string): string {
  return `load: entry ${index} ("${key.length > 40 ? key.slice(0, 40) + '…' : key}")`;
}

function isTtl(ttl: unknown): ttl is number {
  return typeof ttl === 'number' && Number.isFinite(ttl) && ttl >= 0;
}

function isVersion(version: unknown): version is number {
  return Number.isSafeInteger(version) && (version as number) >= 1;
}

function badVersion(version: unknown, entry: string): never {
  if (typeof version !== 'number') {
    throw new TypeError(`${entry}: version must be a number, got ${describe(version)}`);
  }
  throw new RangeError(`${entry}: version must be a safe integer ≥ 1, got ${version}`);
}

function resolveLoadOptions(options: LoadOptions | undefined): {
  elapsed: number;
  minVersion: number;
} {
  if (options === undefined) return { elapsed: 0, minVersion: 0 };
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`load: options must be an object, got ${describe(options)}`);
  }
  for (const name of Object.keys(options)) {
    if (!LOAD_OPTIONS.has(name)) throw new TypeError(`load: unknown option "${name}"`);
  }
  return {
    elapsed: resolveElapsed(options.elapsed),
    minVersion: resolveMinVersion(options.minVersion),
  };
}

function resolveElapsed(elapsed: unknown): number {
  if (elapsed === undefined) return 0;
  if (typeof elapsed !== 'number') {
    throw new TypeError(`load: elapsed must be a number of milliseconds, got ${describe(elapsed)}`);
  }
  if (!Number.isFinite(elapsed) || elapsed < 0) {
    throw new RangeError(
      `load: elapsed must be a finite number of milliseconds ≥ 0 (clamp a clock that went back), got ${elapsed}`,
    );
  }
  return elapsed;
}

function resolveMinVersion(minVersion: unknown): number {
  if (minVersion === undefined) return 0;
  if (typeof minVersion !== 'number') {
    throw new TypeError(`load: minVersion must be a number, got ${describe(minVersion)}`);
  }
  if (!Number.isSafeInteger(minVersion) || minVersion < 0 || minVersion > VERSION_CEILING) {
    throw new RangeError(
      `load: minVersion must be an integer from 0 to 2^52 (lastVersion of the cache dumped), got ${minVersion}`,
    );
  }
  return minVersion;
}
