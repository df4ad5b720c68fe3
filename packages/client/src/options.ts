import { DEFAULT_VNODES, MAX_POINTS_PER_NODE } from '@dcache/ring';
import { isIP } from 'node:net';
import { convergenceMs } from './discovery.js';
import type { ResolvedDiscovery } from './discovery.js';
import { parseDiscoveryUrl, withoutCredentials } from './discovery-url.js';
import type { ClientHooks } from './hooks.js';
import type { ResolvedTransition } from './transition.js';
import { tlsOption } from './tls-options.js';
import type { TlsOptions } from './tls-options.js';
import { assertWellFormed } from './validate.js';

/**
 * How values are written: 'msgpack' keeps every supported type exactly (msgpackr, flags 256);
 * 'json' writes text, JSON and bytes any language reads, and refuses what JSON would change.
 */
export type ValueEncoding = 'msgpack' | 'json';

/** How many replica acknowledgements a write waits for before it resolves. */
export type WriteConsistency = 'one' | 'quorum' | 'all';

/** How DNS discovery looks the nodes up, when `nodes` is a discovery URL. */
export interface DiscoveryOptions {
  /**
   * Milliseconds between the end of one lookup and the start of the next.
   * @default 5000
   */
  intervalMs?: number;
  /**
   * Milliseconds to wait for each resolver's answer before asking the next one (or failing). A
   * lookup (SRV records, then their targets' addresses) not done within twice this fails.
   * @default 2000
   */
  timeoutMs?: number;
  /**
   * Resolvers to ask, as `'ip'` or `'ip:port'` (`'[ipv6]:port'`), in order — e.g.
   * `['127.0.0.1:5353']`. @default the system's resolvers (`/etc/resolv.conf`)
   */
  servers?: readonly string[];
}

/** The warm-transition window after a ring change (README "Scaling without a cold dip"). */
export interface TransitionOptions {
  /**
   * Longest a window stays open after the last ring change, in ms; 0 turns warm transitions off
   * (a moved key is a miss until written or repaired, and a removed node is let go at once).
   * @default 60000
   */
  maxWindowMs?: number;
  /**
   * A window closes once this many ms pass with no fallback hit, counted from the first fallback
   * read after the last change, or from the last hit.
   * @default 5000
   */
  quietMs?: number;
}

export interface ClientOptions extends ClientHooks {
  /**
   * Copies of every key, on distinct nodes (the key's preference list on the ring). Capped at the
   * number of nodes.
   * @default 2
   */
  replicas?: number;
  /**
   * Acknowledgements a write waits for: 'one' (the first), 'quorum' (a majority of `replicas`) or
   * 'all'. The other replica writes still complete in the background.
   * @default 'one'
   */
  writeConsistency?: WriteConsistency;
  /**
   * Per-request timeout in milliseconds; a node that does not answer in time counts as failed.
   * @default 1000
   */
  timeout?: number;
  /** Bearer token sent to every node (`Authorization: Bearer <token>`). @default undefined */
  token?: string;
  /** Virtual nodes per node on the ring. @default @dcache/ring's default */
  vnodes?: number;
  /**
   * Consecutive failed requests after which a node is marked down and skipped.
   * @default 3
   */
  failureThreshold?: number;
  /**
   * Milliseconds between health probes (`GET /healthz`) of a node marked down.
   * @default 1000
   */
  probeInterval?: number;
  /**
   * Keys a second this client goes through at most when it restores a node back up (or a removed
   * node's keys to their new replicas), so that live traffic keeps its latency: every key of the
   * other nodes' listings counts, copied or not.
   * @default 50000
   */
  restoreRate?: number;
  /**
   * Auto-batching: operations issued in the same tick for the same node travel as one
   * `POST /v1/batch`. When false every single-key operation is its own HTTP request.
   * @default true
   */
  batch?: boolean;
  /**
   * Most operations per `POST /v1/batch`; bigger batches are split. Keep it at or below the nodes'
   * `maxBatchOps`.
   * @default 1000
   */
  maxBatchSize?: number;
  /**
   * Most bytes per `POST /v1/batch` body (an upper-bound estimate: key bytes, value bytes and
   * framing); bigger batches are split, and an operation bigger than this travels alone. Keep it
   * at or below the nodes' `maxBatchBytes`.
   * @default 8 MiB (8388608)
   */
  maxBatchBytes?: number;
  /**
   * Batches on the wire at once per node. While they are all out, what is issued queues and leaves
   * as one batch when one returns, so batches grow with the load instead of waiting on a timer.
   * @default 1
   */
  maxBatchesInFlight?: number;
  /**
   * Put before every key the client sends, before routing (the ring hashes the prefixed key), so
   * that clients with different prefixes share nodes without colliding — iovalkey's `keyPrefix`,
   * memcache-client's `namespace`. Keys handed back (getMany's Map, errors' `key`) and the loader's
   * argument are the caller's, unprefixed. `flush()` still empties whole nodes.
   * @default '' (no prefix)
   */
  keyPrefix?: string;
  /**
   * TLS options for `https:` nodes, handed to `tls.connect` by the connection pool: a private CA
   * (`ca`), a client certificate (`cert` + `key`, for nodes behind a proxy that requires one),
   * the name to verify (`servername`), or `rejectUnauthorized: false` (no verification).
   * @default undefined (Node's CA store, full verification)
   */
  tls?: TlsOptions;
  /**
   * 'json' for values other languages read too: strings as UTF-8 text, Uint8Array as raw bytes,
   * the rest as JSON — a Map, Set, Date, bigint, class instance or non-finite number is then a
   * TypeError. Reads decode by the stored flags either way.
   * @default 'msgpack' (every supported type round-trips exactly)
   */
  valueEncoding?: ValueEncoding;
  /**
   * DNS discovery's lookups, when `nodes` is a discovery URL (`dns+srv://`, `dns+srvs://`,
   * `dns://host:port`, `dnss://host:port`); refused with a node list.
   * @default { intervalMs: 5000, timeoutMs: 2000, servers: the system's }
   */
  discovery?: DiscoveryOptions;
  /**
   * Warm transitions: after each ring change, misses on a key's new owners ask its previous ones
   * (and backfill them), and writes invalidate the previous owners' copies.
   * @default { maxWindowMs: 60000, quietMs: 5000 }
   */
  transition?: TransitionOptions;
}

/**
 * A node: its base URL, or `{ url, weight }` where `weight` (default 1) is its share of the keys
 * relative to weight-1 nodes — a node with twice the memory can take weight 2.
 */
export type NodeSpec = string | { url: string; weight?: number };

/** A node as the cluster keeps it. */
export interface ResolvedNode {
  /** Normalised base URL (no trailing slash). */
  url: string;
  weight: number;
}

export interface ResolvedOptions {
  /** The nodes, in the order given; none with discovery (they come from DNS). */
  nodes: ResolvedNode[];
  /** Set when `nodes` was a discovery URL. */
  discovery: ResolvedDiscovery | undefined;
  /** The `replicas` option as given; the cluster caps it at the nodes there are at each moment. */
  replicas: number;
  writeConsistency: WriteConsistency;
  timeout: number;
  token: string | undefined;
  /** @dcache/ring's DEFAULT_VNODES when not given. */
  vnodes: number;
  failureThreshold: number;
  probeInterval: number;
  restoreRate: number;
  batch: boolean;
  maxBatchSize: number;
  maxBatchBytes: number;
  maxBatchesInFlight: number;
  keyPrefix: string;
  tls: TlsOptions | undefined;
  valueEncoding: ValueEncoding;
  onNodeDown: ClientHooks['onNodeDown'];
  onNodeUp: ClientHooks['onNodeUp'];
  onBackgroundError: ClientHooks['onBackgroundError'];
  onMembershipChange: ClientHooks['onMembershipChange'];
  onDiscoveryError: ClientHooks['onDiscoveryError'];
  transition: ResolvedTransition;
  onTransition: ClientHooks['onTransition'];
}

/** The most batches on the wire at once per node, and so the most connections a node gets. */
export const MAX_BATCHES_IN_FLIGHT = 64;

const CONSISTENCIES: readonly WriteConsistency[] = ['one', 'quorum', 'all'];
const ENCODINGS: readonly ValueEncoding[] = ['msgpack', 'json'];

/** The longest delay a Node timer honours; beyond it setTimeout fires after 1 ms instead. */
const MAX_TIMER_MS = 2_147_483_647;

function integerOption(
  name: string,
  value: unknown,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') {
    throw new TypeError(`option "${name}" must be a number, got ${typeof value}`);
  }
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new RangeError(`option "${name}" must be an integer ${range}, got ${value}`);
  }
  return value;
}

function hookOption<K extends keyof ClientHooks>(
  name: K,
  value: ClientHooks[K] | undefined,
): ClientHooks[K] | undefined {
  if (value !== undefined && typeof value !== 'function') {
    throw new TypeError(`option "${name}" must be a function, got ${typeof value}`);
  }
  return value;
}

/** A node URL in its one spelling; throws a TypeError naming `name` (e.g. `nodes[2]`). */
export function normaliseNode(node: unknown, name: string): string {
  if (typeof node !== 'string') {
    throw new TypeError(`${name} must be a URL string, got ${typeof node}`);
  }
  const shown = JSON.stringify(withoutCredentials(node));
  let url: URL;
  try {
    url = new URL(node);
  } catch {
    throw new TypeError(`${name} is not a valid URL: ${shown}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`${name} must be an http: or https: URL, got ${shown}`);
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new TypeError(
      `${name} must be a base URL without query, fragment or credentials: ${shown}`,
    );
  }
  // One spelling per node, so "http://a:1" and "http://a:1/" land on the same ring points.
  return url.href.replace(/\/+$/, '');
}

const NODE_FIELDS: ReadonlySet<string> = new Set(['url', 'weight']);

/**
 * A node given as a URL or `{ url, weight }`; throws a TypeError/RangeError naming `name`.
 * `vnodes` (the ring's points per unit of weight) bounds the weight: the ring holds at most
 * MAX_POINTS_PER_NODE points per node.
 */
export function resolveNode(spec: unknown, name: string, vnodes: number): ResolvedNode {
  if (typeof spec === 'string') return { url: normaliseNode(spec, name), weight: 1 };
  if (typeof spec !== 'object' || spec === null || spec instanceof URL) {
    const got =
      spec === null ? 'null' : spec instanceof URL ? 'a URL object (pass its href)' : typeof spec;
    throw new TypeError(`${name} must be a URL string or { url, weight }, got ${got}`);
  }
  // A misspelt field ("wieght") would silently route unlike the other clients: refuse it.
  const unknown = Object.keys(spec).find((field) => !NODE_FIELDS.has(field));
  if (unknown !== undefined) {
    throw new TypeError(`${name} has an unknown field "${unknown}" (known: url, weight)`);
  }
  const { url, weight = 1 } = spec as { url?: unknown; weight?: unknown };
  if (typeof weight !== 'number') {
    const got = weight === null ? 'null' : typeof weight;
    throw new TypeError(`${name}.weight must be a number, got ${got}`);
  }
  const maxWeight = MAX_POINTS_PER_NODE / vnodes;
  if (!(weight > 0) || weight > maxWeight) {
    throw new RangeError(
      `${name}.weight must be > 0 and at most ${maxWeight} (2^20 ring points / vnodes ${vnodes}), got ${weight}`,
    );
  }
  return { url: normaliseNode(url, `${name}.url`), weight };
}

/** Every option of the constructor: the compiler holds this to ClientOptions, both ways. */
const OPTION_NAMES = {
  replicas: true,
  writeConsistency: true,
  timeout: true,
  token: true,
  vnodes: true,
  failureThreshold: true,
  probeInterval: true,
  restoreRate: true,
  batch: true,
  maxBatchSize: true,
  maxBatchBytes: true,
  maxBatchesInFlight: true,
  keyPrefix: true,
  tls: true,
  valueEncoding: true,
  discovery: true,
  transition: true,
  onNodeDown: true,
  onNodeUp: true,
  onBackgroundError: true,
  onMembershipChange: true,
  onDiscoveryError: true,
  onTransition: true,
} as const satisfies Record<keyof ClientOptions, true>;

/** Validates the constructor arguments in one place; throws TypeError/RangeError naming the problem. */
export function resolveOptions(nodes: unknown, options: ClientOptions = {}): ResolvedOptions {
  const target = typeof nodes === 'string' ? parseDiscoveryUrl(nodes) : undefined;
  if (target === undefined && !Array.isArray(nodes)) {
    throw new TypeError(
      `nodes must be an array of base URLs or a discovery URL string, got ${typeof nodes}`,
    );
  }
  const list: unknown[] = target === undefined ? (nodes as unknown[]) : [];
  if (target === undefined && list.length === 0) {
    throw new RangeError('nodes must list at least one node URL');
  }
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('options must be an object');
  }
  // A misspelt option ({ replica: 2 }) silently ignored would run with its default.
  const unknown = Object.keys(options).find((name) => !Object.hasOwn(OPTION_NAMES, name));
  if (unknown !== undefined) {
    throw new TypeError(
      `unknown option "${unknown}" (known: ${Object.keys(OPTION_NAMES).join(', ')})`,
    );
  }
  if (target === undefined && options.discovery !== undefined) {
    throw new TypeError(
      'option "discovery" applies only when nodes is a discovery URL (dns+srv://…, dns://…)',
    );
  }
  // Before the nodes: it bounds their weights.
  const vnodes = integerOption('vnodes', options.vnodes, DEFAULT_VNODES, 1, MAX_POINTS_PER_NODE);
  const resolved = list.map((node, i) => resolveNode(node, `nodes[${i}]`, vnodes));
  const urls = resolved.map((node) => node.url);
  const duplicate = urls.find((url, i) => urls.indexOf(url) !== i);
  if (duplicate !== undefined) throw new RangeError(`nodes lists ${duplicate} twice`);

  const consistency = options.writeConsistency ?? 'one';
  if (!CONSISTENCIES.includes(consistency)) {
    throw new RangeError(
      `option "writeConsistency" must be one of ${CONSISTENCIES.join(', ')}, got ${String(consistency)}`,
    );
  }
  if (options.token !== undefined && (typeof options.token !== 'string' || options.token === '')) {
    throw new TypeError('option "token" must be a non-empty string');
  }
  // Checked here rather than left to the HTTP layer, whose errors do not name the option (a
  // ByteString conversion, an invalid header value), or never raised at all (whitespace).
  if (options.token !== undefined && /\s/.test(options.token)) {
    throw new TypeError(
      'option "token" must not contain whitespace: no node accepts one (Authorization: Bearer <token>)',
    );
  }
  if (options.token !== undefined && /[^\x21-\x7e\x80-\xff]/.test(options.token)) {
    throw new TypeError(
      'option "token" must be text an HTTP header can carry: no control character, none past U+00FF',
    );
  }
  if (options.batch !== undefined && typeof options.batch !== 'boolean') {
    throw new TypeError(`option "batch" must be a boolean, got ${typeof options.batch}`);
  }
  const valueEncoding = options.valueEncoding ?? 'msgpack';
  if (!ENCODINGS.includes(valueEncoding)) {
    throw new RangeError(
      `option "valueEncoding" must be one of ${ENCODINGS.join(', ')}, got ${String(valueEncoding)}`,
    );
  }
  // '' is accepted and means no prefix (the default), as in iovalkey.
  if (options.keyPrefix !== undefined && typeof options.keyPrefix !== 'string') {
    throw new TypeError(`option "keyPrefix" must be a string, got ${typeof options.keyPrefix}`);
  }
  if (options.keyPrefix !== undefined) assertWellFormed(options.keyPrefix, 'option "keyPrefix"');
  const discovery = target && { target, ...discoveryOption(options.discovery) };
  const transition = transitionOption(options.transition);
  if (discovery !== undefined) assertWindowOutlastsConvergence(transition, discovery);

  return {
    nodes: resolved,
    discovery,
    replicas: integerOption('replicas', options.replicas, 2, 1),
    writeConsistency: consistency,
    timeout: integerOption('timeout', options.timeout, 1000, 1, MAX_TIMER_MS),
    token: options.token,
    vnodes,
    failureThreshold: integerOption('failureThreshold', options.failureThreshold, 3, 1),
    probeInterval: integerOption('probeInterval', options.probeInterval, 1000, 1, MAX_TIMER_MS),
    restoreRate: integerOption('restoreRate', options.restoreRate, 50_000, 1),
    batch: options.batch ?? true,
    maxBatchSize: integerOption('maxBatchSize', options.maxBatchSize, 1000, 1),
    maxBatchBytes: integerOption('maxBatchBytes', options.maxBatchBytes, 8 * 1024 * 1024, 1024),
    maxBatchesInFlight: integerOption(
      'maxBatchesInFlight',
      options.maxBatchesInFlight,
      1,
      1,
      MAX_BATCHES_IN_FLIGHT,
    ),
    keyPrefix: options.keyPrefix ?? '',
    tls: tlsOption(options.tls),
    valueEncoding,
    onNodeDown: hookOption('onNodeDown', options.onNodeDown),
    onNodeUp: hookOption('onNodeUp', options.onNodeUp),
    onBackgroundError: hookOption('onBackgroundError', options.onBackgroundError),
    onMembershipChange: hookOption('onMembershipChange', options.onMembershipChange),
    onDiscoveryError: hookOption('onDiscoveryError', options.onDiscoveryError),
    transition,
    onTransition: hookOption('onTransition', options.onTransition),
  };
}

/**
 * With DNS discovery, a window must stay open until every client following the same records has
 * changed its ring (`convergenceMs`): one closed before lets a client that has changed read, from
 * the new owner, what a client still on the old ring overwrote at the old one.
 */
function assertWindowOutlastsConvergence(
  transition: ResolvedTransition,
  discovery: Pick<ResolvedDiscovery, 'intervalMs' | 'timeoutMs'>,
): void {
  const floor = convergenceMs(discovery);
  if (transition.maxWindowMs === 0 || transition.maxWindowMs >= floor) return;
  throw new RangeError(
    `option "transition.maxWindowMs" must be 0 (no windows) or at least ${floor} with this discovery (its intervalMs + 6 × timeoutMs, when every client following the same DNS records has changed its ring), got ${transition.maxWindowMs}`,
  );
}

const TRANSITION_FIELDS: ReadonlySet<string> = new Set(['maxWindowMs', 'quietMs']);

function transitionOption(value: unknown): ResolvedTransition {
  if (value === undefined) value = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(
      `option "transition" must be an object like { maxWindowMs, quietMs }, got ${value === null ? 'null' : typeof value}`,
    );
  }
  const unknown = Object.keys(value).find((field) => !TRANSITION_FIELDS.has(field));
  if (unknown !== undefined) {
    throw new TypeError(
      `option "transition" has an unknown field "${unknown}" (known: maxWindowMs, quietMs)`,
    );
  }
  const { maxWindowMs, quietMs } = value as TransitionOptions;
  return {
    maxWindowMs: integerOption('transition.maxWindowMs', maxWindowMs, 60_000, 0, MAX_TIMER_MS),
    quietMs: integerOption('transition.quietMs', quietMs, 5_000, 1, MAX_TIMER_MS),
  };
}

const DISCOVERY_FIELDS: ReadonlySet<string> = new Set(['intervalMs', 'timeoutMs', 'servers']);

/** Most resolvers `discovery.servers` may list (each one not answering costs `timeoutMs`). */
const MAX_SERVERS = 8;

function discoveryOption(value: unknown): Omit<ResolvedDiscovery, 'target'> {
  if (value === undefined) value = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(
      `option "discovery" must be an object like { intervalMs, timeoutMs, servers }, got ${value === null ? 'null' : typeof value}`,
    );
  }
  const unknown = Object.keys(value).find((field) => !DISCOVERY_FIELDS.has(field));
  if (unknown !== undefined) {
    throw new TypeError(
      `option "discovery" has an unknown field "${unknown}" (known: intervalMs, timeoutMs, servers)`,
    );
  }
  const { intervalMs, timeoutMs, servers } = value as DiscoveryOptions;
  return {
    // Under 100 ms a cluster's clients would keep its resolvers busy for no faster convergence.
    intervalMs: integerOption('discovery.intervalMs', intervalMs, 5000, 100, MAX_TIMER_MS),
    timeoutMs: integerOption('discovery.timeoutMs', timeoutMs, 2000, 1, MAX_TIMER_MS),
    servers: serversOption(servers),
  };
}

function serversOption(servers: unknown): string[] | undefined {
  if (servers === undefined) return undefined;
  if (!Array.isArray(servers)) {
    throw new TypeError(
      `option "discovery.servers" must be an array of 'ip' or 'ip:port' strings, got ${typeof servers}`,
    );
  }
  if (servers.length === 0 || servers.length > MAX_SERVERS) {
    throw new RangeError(
      `option "discovery.servers" must list 1 to ${MAX_SERVERS} resolvers, got ${servers.length}`,
    );
  }
  return servers.map((server: unknown, i) => {
    const name = `option "discovery.servers[${i}]"`;
    if (typeof server !== 'string') {
      throw new TypeError(`${name} must be an 'ip' or 'ip:port' string, got ${typeof server}`);
    }
    const match = /^\[([^\]]+)\]:(\d+)$/.exec(server) ?? /^([^:]+):(\d+)$/.exec(server);
    const host = match?.[1] ?? server;
    const port = match === null ? 53 : Number(match[2]);
    const family = isIP(host);
    // A bracketed host must be IPv6 and a bare "host:port" IPv4 (an IPv6 port needs brackets).
    const wellFormed =
      family !== 0 && (match === null || (server.startsWith('[') ? family === 6 : family === 4));
    if (!wellFormed || !(port >= 1 && port <= 65535)) {
      throw new TypeError(
        `${name} must be an IP address with an optional port ('127.0.0.1:5353', '[::1]:53'), got ${JSON.stringify(server)}`,
      );
    }
    return server;
  });
}

/** Acknowledgements needed out of `replicas` for a write to count as done. */
export function requiredAcks(consistency: WriteConsistency, replicas: number): number {
  if (consistency === 'one') return 1;
  if (consistency === 'all') return replicas;
  return Math.floor(replicas / 2) + 1;
}
