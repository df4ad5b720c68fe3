import type { MemcachedCounters } from './counters.js';
import type { ReplyWriter } from './reply-writer.js';
import type { StatsSource } from './stats-reply.js';
import type { ProtocolStore } from './store.js';
import type { Tokens } from './tokenize.js';

/** Everything one listener's connections share. */
export interface ProtocolShared extends StatsSource {
  readonly store: ProtocolStore;
  readonly counters: MemcachedCounters;
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
}

export type StoreMode = 'set' | 'add' | 'replace' | 'append' | 'prepend' | 'cas';

/** A classic storage command waiting for its data block. */
export interface PendingTextStore {
  readonly kind: 'text';
  readonly mode: StoreMode;
  readonly key: string;
  readonly flags: number;
  readonly ttlMs: number;
  /** The clock when the command line was read: `ttlMs` counts from then (see ttlLeftAt). */
  readonly lineAtMs: number;
  readonly cas: number;
  readonly noreply: boolean;
}

/** A meta `ms` waiting for its data block; `echo` holds the return flags, in request order. */
export interface PendingMetaStore {
  readonly kind: 'meta';
  readonly mode: StoreMode;
  readonly key: string;
  /** The key as the `k` flag returns it. */
  readonly keyEcho: string;
  readonly binaryKey: boolean;
  readonly flags: number;
  readonly ttlMs: number;
  /** The clock when the command line was read: `ttlMs` counts from then (see ttlLeftAt). */
  readonly lineAtMs: number;
  /** Compare-and-set version; -1 when no C flag was given. */
  readonly cas: number;
  readonly hasCas: boolean;
  readonly invalidate: boolean;
  readonly noreply: boolean;
  readonly echo: readonly MetaEcho[];
}

/** A flag to echo in a meta reply: an opaque token verbatim, the key, or the new CAS. */
export type MetaEcho = { readonly opaque: Buffer } | 'k' | 'c';

/** The login `set` of ASCII authentication, waiting for its `user password` data block. */
export interface PendingAuth {
  readonly kind: 'auth';
}

export type PendingStore = PendingTextStore | PendingMetaStore | PendingAuth;

/** What a command can ask of the connection it runs on. */
export interface Session {
  readonly shared: ProtocolShared;
  readonly out: ReplyWriter;
  /** Read exactly `bytes` + CRLF of data next, then complete `pending`. */
  expectData(pending: PendingStore, bytes: number): void;
  /** Discard the next `bytes` bytes of input (the data block of a refused store). */
  swallow(bytes: number): void;
  /** Close after writing the replies produced so far. */
  quit(): void;
  /**
   * Asked by a multi-key get before the key at token `next`: false while the connection may reply
   * more. True when its client has too many reply bytes unread: the connection has kept the
   * command (tokens before `first`, then the keys from `next` on) to finish once the client has
   * read, and the command must stop here, without its END.
   */
  deferKeys(buf: Buffer, t: Tokens, first: number, next: number): boolean;
  /** Close at once, dropping the replies not yet written (memcached's conn_closing). */
  hangUp(): void;
}

/** Versions above 2^53 cannot be core versions; -1 never matches one. */
export function casToVersion(cas: bigint): number {
  return cas <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(cas) : -1;
}

/** Writes a one-line reply unless the command asked for noreply. */
export function reply(session: Session, line: string, noreply: boolean): void {
  if (!noreply) session.out.ascii(line).crlf();
}
