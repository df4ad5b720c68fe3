/**
 * Checks a snapshot given to `LruCache.load` — every entry, before the cache changes — so that a
 * malformed one throws naming the entry and leaves the cache exactly as it was.
 */
import type { LoadOptions } from './types.js';
import { assertTtl, describe } from './validate.js';

/**
 * Fields a record may hold. Anything else is refused rather than ignored: an lru-cache dump's
 * `ttl` is the original TTL counted from its `start`, and read as a remaining TTL it would be wrong.
 */
const RECORD_FIELDS = new Set(['value', 'ttl', 'version']);
const LOAD_OPTIONS = new Set(['elapsed']);

/** A checked snapshot as parallel arrays, without the entries whose TTL ran out while stored. */
export interface ParsedSnapshot<V> {
  keys: string[];
  values: V[];
  /** TTL left now, in ms; 0 = never expire. */
  ttls: number[];
  /** The dumped version, 0 when the record has none. */
  versions: number[];
  /** The largest dumped version, 0 when there is none. */
  maxVersion: number;
  /** How many records have no version. */
  unversioned: number;
}

export function parseSnapshot<V>(
  entries: unknown,
  options: LoadOptions | undefined,
): ParsedSnapshot<V> {
  const elapsed = resolveElapsed(options);
  if (!Array.isArray(entries)) {
    throw new TypeError(
      `load: entries must be an array of [key, record] pairs (what dump() returns), got ${describe(entries)}`,
    );
  }
  const parsed: ParsedSnapshot<V> = {
    keys: [],
    values: [],
    ttls: [],
    versions: [],
    maxVersion: 0,
    unversioned: 0,
  };
  const keyAt = new Map<string, number>();
  const versionAt = new Map<number, number>();
  for (let i = 0; i < entries.length; i++) {
    const entry: unknown = entries[i];
    if (!Array.isArray(entry) || entry.length !== 2) {
      const got = Array.isArray(entry) ? `an array of ${entry.length}` : describe(entry);
      throw new TypeError(`load: entry ${i} must be a [key, record] pair, got ${got}`);
    }
    const [key, record] = entry as [unknown, unknown];
    if (typeof key !== 'string') {
      throw new TypeError(`load: entry ${i}: key must be a string, got ${describe(key)}`);
    }
    const repeated = keyAt.get(key);
    if (repeated !== undefined) {
      throw new RangeError(`${where(i, key)}: key repeats entry ${repeated}`);
    }
    keyAt.set(key, i);
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      throw new TypeError(
        `${where(i, key)}: record must be an object { value, ttl?, version? }, got ${describe(record)}`,
      );
    }
    for (const field of Object.keys(record)) {
      if (!RECORD_FIELDS.has(field)) {
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
      const clash = versionAt.get(version);
      if (clash !== undefined) {
        throw new RangeError(`${where(i, key)}: version ${version} repeats entry ${clash}`);
      }
      versionAt.set(version, i);
      if (version > parsed.maxVersion) parsed.maxVersion = version;
    }
    if (ranOut) continue; // its TTL ran out while the snapshot was stored
    if (version === undefined) parsed.unversioned++;
    parsed.keys.push(key);
    parsed.values.push(value as V);
    parsed.ttls.push(left);
    parsed.versions.push(version ?? 0);
  }
  return parsed;
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

function badVersion(version: unknown, where: string): never {
  if (typeof version !== 'number') {
    throw new TypeError(`${where}: version must be a number, got ${describe(version)}`);
  }
  throw new RangeError(`${where}: version must be a safe integer ≥ 1, got ${version}`);
}

function resolveElapsed(options: LoadOptions | undefined): number {
  if (options === undefined) return 0;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`load: options must be an object, got ${describe(options)}`);
  }
  for (const name of Object.keys(options)) {
    if (!LOAD_OPTIONS.has(name)) throw new TypeError(`load: unknown option "${name}"`);
  }
  const { elapsed } = options;
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
