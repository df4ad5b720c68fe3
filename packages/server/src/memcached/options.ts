import { createSecureContext } from 'node:tls';
import type { SecureContext } from 'node:tls';
import { defaultMaxConnections } from '../fd-limit.js';
import { MemcachedCredentials } from './auth-file.js';
import { tlsPair } from '../tls-pair.js';
import { MAX_TIMER_MS } from '../timer-limit.js';
import type { MemcachedCache } from './store.js';

/** The memcached release whose text and meta protocols this port follows (checked against it). */
export const MEMCACHED_COMPATIBLE_VERSION = '1.6.18';

export interface MemcachedListenerOptions {
  /** The node's cache, shared with the HTTP API (an `LruCache<StoredValue>` from @dcache/core). */
  cache: MemcachedCache;
  /** Longest key in bytes. @default 250 (memcached's KEY_MAX_LENGTH) */
  maxKeyBytes?: number;
  /** Largest value in bytes; larger stores get "SERVER_ERROR object too large for cache". @default 1048576 */
  maxValueBytes?: number;
  /**
   * Connections beyond this are refused with "ERROR Too many open connections".
   * @default half of the open-file limit less 64, at most 1024 (`defaultMaxConnections()`)
   */
  maxConnections?: number;
  /**
   * Reply bytes all connections may hold unsent before those holding 16 KiB or more stop being
   * read (each may hold up to 256 KiB below it). @default 67108864 (64 MiB)
   */
  maxUnsentBytes?: number;
  /**
   * Input bytes all connections may hold across reads — data blocks arriving in several reads,
   * `get` lines past 2 KiB — before a store is refused ("SERVER_ERROR out of memory storing
   * object") or a connection closed ("SERVER_ERROR out of memory reading request").
   * @default 67108864 (64 MiB)
   */
  maxInputBytes?: number;
  /**
   * A connection holding one data block, long `get` line or rest of a stopped `get` across reads
   * for longer than this many ms is closed, so stalled clients give their bytes back (the clock
   * restarts with each one completed). Only time the connection is read counts: not while it is
   * paused for replies its client has not taken (the node is the one not reading then).
   * @default 30000
   */
  inputTimeoutMs?: number;
  /** Clients must log in first (memcached's ASCII authentication, `-Y`). @default none */
  credentials?: MemcachedCredentials;
  /** PEM certificate and key: the port speaks TLS (memcached's `-Z`). @default none */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** With `tls`: a connection whose handshake has not finished after this many ms is cut. @default 10000 */
  tlsHandshakeTimeoutMs?: number;
  /** Close a connection idle for this many milliseconds; 0 = never. @default 0 */
  idleTimeoutMs?: number;
  /**
   * Reported by `version` and `stats`. Clients and tools gate features on it (libmemcached's
   * `memccapable` fails most tests otherwise), so the default is the memcached release whose
   * protocol this port follows; dcache's own version is `STAT dcache_version`. @default "1.6.18"
   */
  version?: string;
  /** Wall clock in ms for absolute exptimes and `stats`; pass the cache's clock in tests. @default Date.now */
  now?: () => number;
  /** On close, connections that have not closed after this many ms are destroyed. @default 2000 */
  closeTimeoutMs?: number;
  /**
   * Read every connection into one shared buffer through Node's `onread` (fewer allocations:
   * ~1.3× the requests per second) and write its replies straight to the socket's native handle
   * (no Writable stream in between: ~1.1×). `false` uses ordinary 'data' events and
   * `socket.write`, which is also what happens when the running Node does not allow the faster
   * path. Plain TCP only; TLS connections always take the ordinary path. @default true
   */
  sharedReadBuffer?: boolean;
}

export type ResolvedMemcachedOptions = Required<
  Omit<MemcachedListenerOptions, 'credentials' | 'tls'>
> & {
  credentials: MemcachedCredentials | undefined;
  /** Built once from `tls`. */
  secureContext: SecureContext | undefined;
};

/** Every option's name, typed so that one added to the interface must be listed here too. */
const OPTION_NAMES: Record<keyof MemcachedListenerOptions, true> = {
  cache: true,
  maxKeyBytes: true,
  maxValueBytes: true,
  maxConnections: true,
  maxUnsentBytes: true,
  maxInputBytes: true,
  inputTimeoutMs: true,
  credentials: true,
  tls: true,
  tlsHandshakeTimeoutMs: true,
  idleTimeoutMs: true,
  version: true,
  now: true,
  closeTimeoutMs: true,
  sharedReadBuffer: true,
};

function integer(
  name: string,
  value: unknown,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`memcached listener: ${name} must be an integer, got ${String(value)}`);
  }
  if (value < min) {
    throw new RangeError(`memcached listener: ${name} must be at least ${min}, got ${value}`);
  }
  if (value > max) {
    throw new RangeError(`memcached listener: ${name} must be at most ${max}, got ${value}`);
  }
  return value;
}

/** A timeout handed to a Node timer, which fires at once past 2^31 − 1 ms. */
function timeoutMs(name: string, value: unknown, fallback: number, min: number): number {
  return integer(name, value, fallback, min, MAX_TIMER_MS);
}

/** Defaults and validation for every option, in one place. */
export function resolveOptions(options: MemcachedListenerOptions): ResolvedMemcachedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('memcached listener: options must be an object');
  }
  // A misspelt option ({ maxConection: 10 }) silently ignored would run with its default.
  const unknown = Object.keys(options).find((name) => !Object.hasOwn(OPTION_NAMES, name));
  if (unknown !== undefined) {
    throw new TypeError(
      `memcached listener: unknown option "${unknown}" (known: ${Object.keys(OPTION_NAMES).join(', ')})`,
    );
  }
  const { cache } = options;
  if (typeof cache !== 'object' || cache === null || typeof cache.getEntry !== 'function') {
    throw new TypeError('memcached listener: cache must be an LruCache from @dcache/core');
  }
  const version = options.version ?? MEMCACHED_COMPATIBLE_VERSION;
  if (typeof version !== 'string' || version.length === 0 || /\s/.test(version)) {
    throw new TypeError(
      `memcached listener: version must be a non-empty string without spaces, got ${String(version)}`,
    );
  }
  const sharedReadBuffer = options.sharedReadBuffer ?? true;
  if (typeof sharedReadBuffer !== 'boolean') {
    throw new TypeError('memcached listener: sharedReadBuffer must be a boolean');
  }
  const credentials = options.credentials;
  if (credentials !== undefined && !(credentials instanceof MemcachedCredentials)) {
    throw new TypeError('memcached listener: credentials must come from MemcachedCredentials.read');
  }
  let secureContext: SecureContext | undefined;
  if (options.tls !== undefined) {
    secureContext = createSecureContext(tlsPair(options.tls, 'memcached listener: '));
  }
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw new TypeError('memcached listener: now must be a function');
  return {
    cache,
    maxKeyBytes: integer('maxKeyBytes', options.maxKeyBytes, 250, 1),
    maxValueBytes: integer('maxValueBytes', options.maxValueBytes, 1024 * 1024, 0),
    maxConnections: integer('maxConnections', options.maxConnections, defaultMaxConnections(), 1),
    maxUnsentBytes: integer('maxUnsentBytes', options.maxUnsentBytes, 64 * 1024 * 1024, 1),
    maxInputBytes: integer('maxInputBytes', options.maxInputBytes, 64 * 1024 * 1024, 1),
    inputTimeoutMs: timeoutMs('inputTimeoutMs', options.inputTimeoutMs, 30_000, 1),
    credentials,
    secureContext,
    // tls.Server's own default is 120 s: long for a slot a stalled client holds.
    tlsHandshakeTimeoutMs: timeoutMs(
      'tlsHandshakeTimeoutMs',
      options.tlsHandshakeTimeoutMs,
      10_000,
      1,
    ),
    idleTimeoutMs: timeoutMs('idleTimeoutMs', options.idleTimeoutMs, 0, 0),
    version,
    now,
    closeTimeoutMs: timeoutMs('closeTimeoutMs', options.closeTimeoutMs, 2000, 0),
    sharedReadBuffer,
  };
}
