import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { connectionsFitting, defaultMaxConnections, openFileLimit } from './fd-limit.js';
import { parseSize } from './size.js';
import { MAX_TIMER_MS } from './timer-limit.js';
import { tlsPair } from './tls-pair.js';
import { MemcachedCredentials } from './memcached/auth-file.js';
import { replicationOptions } from './replication/replication-options.js';
import { allowedHostsOption } from './http/served-hosts.js';
import type { ReplicationOptions, ReplicationResolved } from './replication/replication-options.js';

export type LogLevel = 'silent' | 'error' | 'warn' | 'info' | 'debug';
export const LOG_LEVELS: readonly LogLevel[] = ['silent', 'error', 'warn', 'info', 'debug'];
/** `plain`: a line for humans; `json`: one JSON object per line with stable fields (logger.ts). */
export type LogFormat = 'plain' | 'json';
export const LOG_FORMATS: readonly LogFormat[] = ['plain', 'json'];

/** Options of `createApp` and `new CacheServer`. Sizes take bytes or strings like "100mb" (powers of 1024). */
export interface ServerOptions extends ReplicationOptions {
  /** Memory limit of the cache: key + value bytes + per-entry overhead. @default "64mb" */
  maxMemory?: number | string;
  /** Limit on the number of entries. @default unlimited (only `maxMemory` bounds the cache) */
  maxItems?: number;
  /** Time to live in milliseconds for writes without a `ttl`; 0 = never expire; at most 2^53−1. @default 0 */
  defaultTtl?: number;
  /** Longest key, in UTF-8 bytes (memcached's limit is 250). @default 250 */
  maxKeyBytes?: number;
  /** Largest value, in bytes; bigger bodies are refused with 413 while they stream in. @default "1mb" */
  maxValueBytes?: number | string;
  /** Most operations in one `POST /v1/batch`. @default 1000 */
  maxBatchOps?: number;
  /** Largest `POST /v1/batch` body, in bytes. @default "16mb" */
  maxBatchBytes?: number | string;
  /**
   * When set, every route but `/healthz` requires `Authorization: Bearer <token>`; no whitespace,
   * control characters or characters past U+00FF. @default none
   */
  token?: string;
  /** Names this node in `/v1/stats`, `/metrics` and the CLI's listening line. @default a random `node-xxxxxx` */
  nodeId?: string;
  /** PEM certificate and key: the node serves HTTPS instead of HTTP. @default none (plain HTTP) */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** What the node logs to stderr. @default "info" */
  logLevel?: LogLevel;
  /** How the node's log lines are written: `plain` for humans, `json` lines for collectors. @default "plain" */
  logFormat?: LogFormat;
  /** How long `close()` waits for in-flight requests before cutting connections, in ms. @default 10000 */
  closeTimeout?: number;
  /**
   * The CLI's grace after SIGTERM/SIGINT, in ms: the node keeps serving every request for this
   * long before it stops (and saves its snapshot), so that clients' transition windows still find
   * the keys of a node leaving the ring. A second signal ends it. `CacheServer.close()` ignores it.
   * @default 0
   */
  shutdownGrace?: number;
  /** Clock in milliseconds, handed to the cache; inject a fake one in tests. @default Date.now */
  now?: () => number;
  /**
   * Also serve the memcached text + meta protocol on this TCP port (on `memcachedHost`, same
   * cache); 0 picks a free port. @default off
   */
  memcachedPort?: number;
  /**
   * Most simultaneous HTTP (or HTTPS) connections; more are refused (the memcached port has
   * `memcachedMaxConnections`). @default what fits the open-file limit (`ulimit -n`) less 64,
   * shared with the memcached port when it is on, at most 1024
   */
  maxConnections?: number;
  /** Close memcached connections idle this many milliseconds; 0 = never. @default 0 */
  idleTimeout?: number;
  /**
   * Warm restarts: `CacheServer` loads the cache from this file before it first listens and saves
   * it there at `close()` (and on `POST /v1/snapshot`). Relative to the working directory.
   * @default none (a node starts empty and loses its entries when it stops)
   */
  snapshotFile?: string;
  /**
   * Interface the memcached port binds, whatever `host` the HTTP API listens on: the memcached
   * protocol has no `token`, so it stays on loopback unless asked. @default "127.0.0.1"
   */
  memcachedHost?: string;
  /**
   * Most simultaneous memcached connections; more get "ERROR Too many open connections".
   * @default half of the open-file limit less 64, at most 1024 (`defaultMaxConnections()`)
   */
  memcachedMaxConnections?: number;
  /**
   * Node-wide budget of memcached reply bytes produced but not yet taken by their clients; past
   * it, connections holding 16 KiB or more stop being read until their replies drain.
   * @default "64mb"
   */
  memcachedMaxUnsentBytes?: number | string;
  /**
   * memcached's ASCII authentication (`memcached -Y`): a file of `user:password` lines; a client
   * must first send `set <any key> <flags> <exptime> <bytes>` with `user password` as data.
   * @default none (no authentication)
   */
  memcachedAuthFile?: string;
  /** Serve the memcached port over TLS, with `tls`'s certificate and key (memcached's `-Z`). @default false */
  memcachedTls?: boolean;
  /**
   * Request-body bytes the node holds at once across all HTTP requests, and separately response
   * bytes its clients have not read: a body that would pass the first, or any request while the
   * second is spent, is refused with 503 `overloaded` and `Retry-After`. At least `maxBatchBytes`
   * and `maxValueBytes`. @default the largest of "64mb", `maxBatchBytes` and `maxValueBytes`
   */
  maxInflightBodyBytes?: number | string;
  /**
   * Milliseconds an HTTP client has to send a request's headers (slowloris), and to finish the TLS
   * handshake on HTTPS. @default 10000
   */
  headersTimeout?: number;
  /**
   * Milliseconds an HTTP client has to send a whole request, body included (a stalled body is
   * dropped then), and to take a response (else its connection is cut). At least `headersTimeout`. @default 30000 (or `headersTimeout`, if longer)
   */
  requestTimeout?: number;
  /** Milliseconds an idle HTTP keep-alive connection stays open. @default 5000 */
  keepAliveTimeout?: number;
  /**
   * `Host` names the HTTP API answers besides IP addresses, `localhost` and names under
   * `.localhost`, `.test`, `.local`, `.home.arpa` and `.internal`: a name,
   * `.example.com` for a domain and its subdomains, or `*` for any. Others get 403
   * `host_refused` (DNS rebinding: a web page re-pointing its own name at the node). A node
   * listening on loopback always checks; one beyond loopback only when this is set.
   * @default none
   */
  allowedHosts?: readonly string[];
}

export interface ResolvedOptions extends ReplicationResolved {
  readonly maxMemory: number;
  readonly maxItems: number | undefined;
  readonly defaultTtl: number;
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
  readonly maxBatchOps: number;
  readonly maxBatchBytes: number;
  readonly token: string | undefined;
  readonly nodeId: string;
  readonly tls: { cert: string | Buffer; key: string | Buffer } | undefined;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  readonly closeTimeout: number;
  readonly shutdownGrace: number;
  readonly now: (() => number) | undefined;
  readonly memcachedPort: number | undefined;
  readonly maxConnections: number;
  readonly idleTimeout: number;
  /** Absolute path. */
  readonly snapshotFile: string | undefined;
  readonly memcachedHost: string;
  readonly memcachedMaxConnections: number;
  readonly memcachedMaxUnsentBytes: number;
  /** Absolute path. */
  readonly memcachedAuthFile: string | undefined;
  /** The users in `memcachedAuthFile`, read at start-up. */
  readonly memcachedCredentials: MemcachedCredentials | undefined;
  readonly memcachedTls: boolean;
  readonly maxInflightBodyBytes: number;
  readonly headersTimeout: number;
  readonly requestTimeout: number;
  readonly keepAliveTimeout: number;
  /** Lower-cased; undefined when not set. */
  readonly allowedHosts: readonly string[] | undefined;
}

export const DEFAULTS = {
  maxMemory: '64mb',
  defaultTtl: 0,
  maxKeyBytes: 250,
  maxValueBytes: '1mb',
  maxBatchOps: 1000,
  maxBatchBytes: '16mb',
  logLevel: 'info',
  logFormat: 'plain',
  closeTimeout: 10_000,
  shutdownGrace: 0,
  idleTimeout: 0,
  memcachedHost: '127.0.0.1',
  memcachedMaxUnsentBytes: '64mb',
  maxInflightBodyBytes: '64mb',
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  keepAliveTimeout: 5_000,
} as const;

const NODE_ID = /^[\x21-\x7e]{1,128}$/;

function wholeNumber(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be a whole number ≥ ${min}, got ${String(value)}`);
  }
  return value;
}

/**
 * A duration the node hands to a timer: past MAX_TIMER_MS it is refused here, where it would
 * otherwise cut every request or connection 1 ms after it starts.
 */
function timerMs(name: string, value: unknown, min: number): number {
  const ms = wholeNumber(name, value, min);
  if (ms > MAX_TIMER_MS) {
    throw new RangeError(`${name} must be at most ${MAX_TIMER_MS} ms (about 24.8 days), got ${ms}`);
  }
  return ms;
}

/** A TTL in ms: a safe integer, which is also the ceiling of every TTL on the wire (validate.ts). */
function ttl(name: string, value: unknown): number {
  return wholeNumber(name, value, 0);
}

function port(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) {
    throw new RangeError(`${name} must be an integer from 0 to 65535, got ${String(value)}`);
  }
  return value;
}

/** Every option of the node: the compiler holds this to ServerOptions, both ways. */
const OPTION_NAMES = {
  maxMemory: true,
  maxItems: true,
  defaultTtl: true,
  maxKeyBytes: true,
  maxValueBytes: true,
  maxBatchOps: true,
  maxBatchBytes: true,
  token: true,
  nodeId: true,
  tls: true,
  logLevel: true,
  logFormat: true,
  closeTimeout: true,
  shutdownGrace: true,
  now: true,
  memcachedPort: true,
  maxConnections: true,
  idleTimeout: true,
  snapshotFile: true,
  memcachedHost: true,
  memcachedMaxConnections: true,
  memcachedMaxUnsentBytes: true,
  memcachedAuthFile: true,
  memcachedTls: true,
  maxInflightBodyBytes: true,
  headersTimeout: true,
  requestTimeout: true,
  keepAliveTimeout: true,
  tombstoneGrace: true,
  maxClockSkew: true,
  stallThreshold: true,
  trustSnapshot: true,
  maxHints: true,
  maxHintAge: true,
  hintReplayInterval: true,
  restoreClaimLease: true,
  peers: true,
  allowedHosts: true,
} as const satisfies Record<keyof ServerOptions, true>;

/** The one place options are defaulted and validated; throws a TypeError/RangeError naming the option. */
export function resolveOptions(options: ServerOptions = {}): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('options must be an object');
  }
  // A misspelt option ({ maxmemory: '1gb' }) silently ignored would run with its default.
  const unknown = Object.keys(options).find((name) => !Object.hasOwn(OPTION_NAMES, name));
  if (unknown !== undefined) {
    const where =
      unknown === 'host' || unknown === 'port'
        ? " (the address is listen()'s: listen({ host, port }))"
        : ` (known: ${Object.keys(OPTION_NAMES).join(', ')})`;
    throw new TypeError(`unknown option "${unknown}"${where}`);
  }
  const maxMemory = parseSize('maxMemory', options.maxMemory ?? DEFAULTS.maxMemory);
  if (maxMemory < 1) throw new RangeError('maxMemory must be at least 1 byte');
  const maxValueBytes = parseSize('maxValueBytes', options.maxValueBytes ?? DEFAULTS.maxValueBytes);
  if (maxValueBytes < 1) throw new RangeError('maxValueBytes must be at least 1 byte');
  const maxBatchBytes = parseSize('maxBatchBytes', options.maxBatchBytes ?? DEFAULTS.maxBatchBytes);
  if (maxBatchBytes < 1) throw new RangeError('maxBatchBytes must be at least 1 byte');

  const token = options.token;
  if (token !== undefined && (typeof token !== 'string' || token.length === 0)) {
    throw new TypeError('token must be a non-empty string');
  }
  // `Authorization: Bearer <token>` carries the token as one run of non-space characters: a token
  // with whitespace could never match, locking every client out.
  if (token !== undefined && /\s/.test(token)) {
    throw new RangeError(
      'token must not contain whitespace (it could never match a Bearer header)',
    );
  }
  // Node reads a header's bytes as latin1: a control character or one past U+00FF arrives as
  // something else (curl sends UTF-8 bytes), so such a token too would lock every client out
  // (@dcache/client refuses it for the same reason).
  if (token !== undefined && /[^\x21-\x7e\x80-\xff]/.test(token)) {
    throw new RangeError(
      'token must be text an HTTP header can carry: no control character, none past U+00FF (it could never match a Bearer header)',
    );
  }
  const nodeId = options.nodeId ?? `node-${randomBytes(3).toString('hex')}`;
  if (typeof nodeId !== 'string' || !NODE_ID.test(nodeId)) {
    throw new RangeError(
      `nodeId must be 1–128 printable ASCII characters without spaces, got ${JSON.stringify(nodeId)}`,
    );
  }
  const logLevel = options.logLevel ?? DEFAULTS.logLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new RangeError(
      `logLevel must be one of ${LOG_LEVELS.join(', ')}, got ${String(logLevel)}`,
    );
  }
  const logFormat = options.logFormat ?? DEFAULTS.logFormat;
  if (!LOG_FORMATS.includes(logFormat)) {
    throw new RangeError(
      `logFormat must be one of ${LOG_FORMATS.join(', ')}, got ${JSON.stringify(logFormat)}`,
    );
  }
  const snapshotFile = options.snapshotFile;
  if (
    snapshotFile !== undefined &&
    (typeof snapshotFile !== 'string' || snapshotFile.length === 0 || snapshotFile.includes('\0'))
  ) {
    throw new TypeError(
      `snapshotFile must be a non-empty path without NUL characters, got ${JSON.stringify(snapshotFile)}`,
    );
  }
  const memcached = memcachedOptions(options);
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw new TypeError('now must be a function returning milliseconds');
  }
  const limits = httpLimits(options, maxBatchBytes, maxValueBytes);
  return {
    maxMemory,
    maxItems:
      options.maxItems === undefined ? undefined : wholeNumber('maxItems', options.maxItems, 1),
    defaultTtl: ttl('defaultTtl', options.defaultTtl ?? DEFAULTS.defaultTtl),
    maxKeyBytes: wholeNumber('maxKeyBytes', options.maxKeyBytes ?? DEFAULTS.maxKeyBytes, 1),
    maxValueBytes,
    maxBatchOps: wholeNumber('maxBatchOps', options.maxBatchOps ?? DEFAULTS.maxBatchOps, 1),
    maxBatchBytes,
    token,
    nodeId,
    tls: options.tls === undefined ? undefined : tlsPair(options.tls),
    logLevel,
    logFormat,
    closeTimeout: timerMs('closeTimeout', options.closeTimeout ?? DEFAULTS.closeTimeout, 0),
    shutdownGrace: wholeNumber('shutdownGrace', options.shutdownGrace ?? DEFAULTS.shutdownGrace, 0),
    now: options.now,
    memcachedPort:
      options.memcachedPort === undefined
        ? undefined
        : port('memcachedPort', options.memcachedPort),
    maxConnections:
      options.maxConnections === undefined
        ? connectionsFitting(openFileLimit(), options.memcachedPort === undefined ? 1 : 2)
        : wholeNumber('maxConnections', options.maxConnections, 1),
    idleTimeout: timerMs('idleTimeout', options.idleTimeout ?? DEFAULTS.idleTimeout, 0),
    // Resolved once, so a later chdir cannot make the shutdown save land elsewhere.
    snapshotFile: snapshotFile === undefined ? undefined : resolve(snapshotFile),
    allowedHosts: allowedHostsOption(options.allowedHosts),
    ...memcached,
    ...replicationOptions(options),
    ...limits,
  };
}

type MemcachedResolved = Pick<
  ResolvedOptions,
  | 'memcachedHost'
  | 'memcachedMaxConnections'
  | 'memcachedMaxUnsentBytes'
  | 'memcachedAuthFile'
  | 'memcachedCredentials'
  | 'memcachedTls'
>;

/** The memcached port's exposure and limits; reads the auth file, so a bad one fails at start. */
function memcachedOptions(options: ServerOptions): MemcachedResolved {
  const host = options.memcachedHost ?? DEFAULTS.memcachedHost;
  if (typeof host !== 'string' || host.length === 0 || /\s/.test(host)) {
    throw new TypeError(
      `memcachedHost must be a non-empty host name or address, got ${JSON.stringify(host)}`,
    );
  }
  const maxUnsent = parseSize(
    'memcachedMaxUnsentBytes',
    options.memcachedMaxUnsentBytes ?? DEFAULTS.memcachedMaxUnsentBytes,
  );
  if (maxUnsent < 1) throw new RangeError('memcachedMaxUnsentBytes must be at least 1 byte');
  const authFile = options.memcachedAuthFile;
  if (authFile !== undefined && (typeof authFile !== 'string' || authFile.length === 0)) {
    throw new TypeError(
      `memcachedAuthFile must be a non-empty path, got ${JSON.stringify(authFile)}`,
    );
  }
  const memcachedTls = options.memcachedTls ?? false;
  if (typeof memcachedTls !== 'boolean') {
    throw new TypeError(`memcachedTls must be a boolean, got ${String(memcachedTls)}`);
  }
  if (memcachedTls && options.tls === undefined) {
    throw new RangeError('memcachedTls needs tls (a certificate and key: --tls-cert, --tls-key)');
  }
  return {
    memcachedHost: host,
    memcachedMaxConnections: wholeNumber(
      'memcachedMaxConnections',
      options.memcachedMaxConnections ?? defaultMaxConnections(),
      1,
    ),
    memcachedMaxUnsentBytes: maxUnsent,
    memcachedAuthFile: authFile === undefined ? undefined : resolve(authFile),
    memcachedCredentials:
      authFile === undefined ? undefined : MemcachedCredentials.read(authFile, 'memcachedAuthFile'),
    memcachedTls,
  };
}

/** What bounds a node against hostile HTTP clients: bytes in flight and time to send a request. */
function httpLimits(
  options: ServerOptions,
  maxBatchBytes: number,
  maxValueBytes: number,
): Pick<
  ResolvedOptions,
  'maxInflightBodyBytes' | 'headersTimeout' | 'requestTimeout' | 'keepAliveTimeout'
> {
  const largestBody = Math.max(maxBatchBytes, maxValueBytes);
  let maxInflightBodyBytes: number;
  if (options.maxInflightBodyBytes === undefined) {
    maxInflightBodyBytes = Math.max(
      parseSize('maxInflightBodyBytes', DEFAULTS.maxInflightBodyBytes),
      largestBody,
    );
  } else {
    maxInflightBodyBytes = parseSize('maxInflightBodyBytes', options.maxInflightBodyBytes);
    // Smaller, the largest allowed batch or value would be refused even on an idle node.
    if (maxInflightBodyBytes < largestBody) {
      throw new RangeError(
        `maxInflightBodyBytes must be at least maxBatchBytes and maxValueBytes (${largestBody} bytes), got ${maxInflightBodyBytes}`,
      );
    }
  }
  const headersTimeout = timerMs(
    'headersTimeout',
    options.headersTimeout ?? DEFAULTS.headersTimeout,
    1,
  );
  const requestTimeout = timerMs(
    'requestTimeout',
    options.requestTimeout ?? Math.max(DEFAULTS.requestTimeout, headersTimeout),
    1,
  );
  // Node refuses the pair otherwise: the headers are part of the request.
  if (headersTimeout > requestTimeout) {
    throw new RangeError(
      `requestTimeout must be at least headersTimeout (${headersTimeout} ms), got ${requestTimeout}`,
    );
  }
  const keepAliveTimeout = timerMs(
    'keepAliveTimeout',
    options.keepAliveTimeout ?? DEFAULTS.keepAliveTimeout,
    1,
  );
  return { maxInflightBodyBytes, headersTimeout, requestTimeout, keepAliveTimeout };
}
