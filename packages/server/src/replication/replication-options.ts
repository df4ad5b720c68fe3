import { MAX_TIMER_MS } from '../timer-limit.js';

/** Options of the replication mechanism (docs/design/never-stale.md), part of `ServerOptions`. */
export interface ReplicationOptions {
  /**
   * How long a delete's tombstone is kept, in ms: it must outlast any late copy of the deleted
   * value (hint replay is bounded by `maxHintAge`). Tombstones count against `maxMemory`.
   * @default 600000 (10 minutes)
   */
  tombstoneGrace?: number;
  /** Stamps more than this many ms ahead of the node's clock are refused (400 clock_skew). @default 500 */
  maxClockSkew?: number;
  /**
   * An event-loop gap longer than this many ms (SIGSTOP, a frozen VM) fences the node: what it
   * held is unverified until a peer vouches for it. 0 = never. @default 1000
   */
  stallThreshold?: number;
  /**
   * Serve what a snapshot restored without verification (a single node, or memcached-only
   * clients that cannot verify). Off, a restore fences the node. @default false
   */
  trustSnapshot?: boolean;
  /** Most keys held as hints for nodes that missed writes; past it a target gets a fence instead. @default 100000 */
  maxHints?: number;
  /** Hints older than this many ms become a fence of their target. @default 300000 (5 minutes) */
  maxHintAge?: number;
  /** How often hints are offered to their target, in ms. @default 250 */
  hintReplayInterval?: number;
  /**
   * How long a client's claim to restore this node start holds without renewal, in ms: a
   * claimer that crashed mid-restore is taken over by another client after it. @default 30000
   */
  restoreClaimLease?: number;
  /**
   * The only nodes (`http(s)://host:port`) hints may be sent to; others are refused.
   * @default any http(s) origin
   */
  peers?: readonly string[];
}

export interface ReplicationResolved {
  readonly tombstoneGrace: number;
  readonly maxClockSkew: number;
  readonly stallThreshold: number;
  readonly trustSnapshot: boolean;
  readonly maxHints: number;
  readonly maxHintAge: number;
  readonly hintReplayInterval: number;
  readonly restoreClaimLease: number;
  /** Origins (`new URL(peer).origin`), or undefined for any. */
  readonly peers: readonly string[] | undefined;
}

export const REPLICATION_DEFAULTS = {
  tombstoneGrace: 600_000,
  maxClockSkew: 500,
  stallThreshold: 1000,
  trustSnapshot: false,
  maxHints: 100_000,
  maxHintAge: 300_000,
  hintReplayInterval: 250,
  restoreClaimLease: 30_000,
} as const;

/**
 * A restore claim's lease: long enough for a renewal (every third of it) to arrive in time on a
 * busy network, short enough that a crashed claimer's restore is taken over within the hour.
 */
const MIN_CLAIM_LEASE_MS = 300;
const MAX_CLAIM_LEASE_MS = 3_600_000;

function ms(
  name: string,
  value: unknown,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
  unit = ' of ms',
): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
    throw new RangeError(`${name} must be a whole number${unit} ${range}, got ${String(value)}`);
  }
  return value;
}

/**
 * Longest host name a peer can have: a DNS name's 253 characters (an IP literal is shorter). The
 * URL parser takes host names of any length, and a hint target is kept, and probed four times a
 * second, for as long as the node runs: 64 targets of a batch's 16 MB each took a node past
 * 1.6 GB and a busy CPU.
 */
const MAX_PEER_HOST_CHARS = 253;

/**
 * A URL's user and password: from after its scheme (and slashes) to the last `@` of the value. The
 * URL parser skips leading spaces and control characters, and tabs and newlines anywhere, so the
 * scheme may have them; and a password with an unencoded `#`, `?` or `/` runs past where its
 * authority would end (as in the client's discovery-url.ts).
 */
// eslint-disable-next-line no-control-regex -- the C0 characters the URL parser skips, on purpose
const USERINFO = /^([\x00-\x20]*[a-z][a-z0-9+.\t\n\r-]*:[\\/\t\n\r]*)[\s\S]*@/i;

/** `http(s)://host:port` with no path, as its origin; a TypeError naming `name` otherwise. */
export function peerOrigin(name: string, value: unknown): string {
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (
    url === undefined ||
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    (url.pathname !== '/' && url.pathname !== '') ||
    url.search !== '' ||
    url.hash !== '' ||
    url.username !== '' ||
    url.password !== '' ||
    url.hostname.replace(/\.$/, '').length > MAX_PEER_HOST_CHARS
  ) {
    // Quoted in part: the value may be as long as a whole batch. Its user and password are not:
    // the CLI prints this message, and a password must not reach the logs that keep it.
    const quoted = typeof value === 'string' ? value.replace(USERINFO, '$1***@') : value;
    const shown = String(JSON.stringify(quoted)).slice(0, 300);
    throw new TypeError(
      `${name} must be an http(s)://host:port URL without a path or credentials (a host name of at most ${MAX_PEER_HOST_CHARS} characters), got ${shown}`,
    );
  }
  return url.origin;
}

export function replicationOptions(options: ReplicationOptions): ReplicationResolved {
  const d = REPLICATION_DEFAULTS;
  const trustSnapshot = options.trustSnapshot ?? d.trustSnapshot;
  if (typeof trustSnapshot !== 'boolean') {
    throw new TypeError(`trustSnapshot must be a boolean, got ${String(trustSnapshot)}`);
  }
  const peers = options.peers;
  if (peers !== undefined && !Array.isArray(peers)) {
    throw new TypeError('peers must be an array of http(s)://host:port URLs');
  }
  return {
    tombstoneGrace: ms('tombstoneGrace', options.tombstoneGrace ?? d.tombstoneGrace, 1),
    maxClockSkew: ms('maxClockSkew', options.maxClockSkew ?? d.maxClockSkew, 0),
    stallThreshold: ms('stallThreshold', options.stallThreshold ?? d.stallThreshold, 0),
    trustSnapshot,
    maxHints: ms('maxHints', options.maxHints ?? d.maxHints, 0, Number.MAX_SAFE_INTEGER, ''),
    maxHintAge: ms('maxHintAge', options.maxHintAge ?? d.maxHintAge, 1),
    // A timer's period: past MAX_TIMER_MS, Node runs it every millisecond instead.
    hintReplayInterval: ms(
      'hintReplayInterval',
      options.hintReplayInterval ?? d.hintReplayInterval,
      1,
      MAX_TIMER_MS,
    ),
    restoreClaimLease: ms(
      'restoreClaimLease',
      options.restoreClaimLease ?? d.restoreClaimLease,
      MIN_CLAIM_LEASE_MS,
      MAX_CLAIM_LEASE_MS,
    ),
    peers: peers?.map((peer, i) => peerOrigin(`peers[${i}]`, peer)),
  };
}
