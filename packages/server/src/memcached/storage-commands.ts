import { keptTtl } from '../operations/counter.js';
import { heldCopy, storedValue } from '../operations/stored-value.js';
import { exptimeToTtlMs, ttlLeftAt } from './exptime.js';
import { decodeKey } from './keys.js';
import { parseInt32, parseUint32, parseUint64 } from './numbers.js';
import { casToVersion, reply } from './session.js';
import type { PendingTextStore, Session, StoreMode } from './session.js';
import { memcachedTokenCount, tokenIs } from './tokenize.js';
import type { Tokens } from './tokenize.js';

const BAD_FORMAT = 'CLIENT_ERROR bad command line format';
export const TOO_LARGE = 'SERVER_ERROR object too large for cache';

/**
 * The command line of set/add/replace/append/prepend/cas. Errors in the line are answered at
 * once and the data block that follows is *not* skipped (memcached reads it as a command, which
 * answers ERROR); a value over the size limit is answered after its data block is swallowed, and
 * for `set` the old value is removed, so a failed overwrite never leaves stale data behind.
 */
export function storageCommand(session: Session, buf: Buffer, t: Tokens, mode: StoreMode): void {
  const ntokens = memcachedTokenCount(t);
  const withCas = mode === 'cas';
  if (withCas ? ntokens !== 7 && ntokens !== 8 : ntokens !== 6 && ntokens !== 7) {
    session.out.ascii('ERROR\r\n');
    return;
  }
  const { maxKeyBytes, maxValueBytes, store, counters } = session.shared;
  const noreply = tokenIs(buf, t, ntokens - 2, 'noreply');
  const keyStart = t.starts[1]!;
  const keyEnd = t.ends[1]!;
  const key = keyEnd - keyStart > maxKeyBytes ? undefined : decodeKey(buf, keyStart, keyEnd);
  if (key === undefined) return reply(session, BAD_FORMAT, noreply);
  const flags = parseUint32(buf, t.starts[2]!, t.ends[2]!);
  const exptime = parseInt32(buf, t.starts[3]!, t.ends[3]!);
  const vlen = parseInt32(buf, t.starts[4]!, t.ends[4]!);
  if (flags === undefined || exptime === undefined || vlen === undefined) {
    return reply(session, BAD_FORMAT, noreply);
  }
  let cas = 0;
  if (withCas) {
    const parsed = parseUint64(buf, t.starts[5]!, t.ends[5]!);
    if (parsed === undefined) return reply(session, BAD_FORMAT, noreply);
    cas = casToVersion(parsed);
  }
  if (vlen < 0 || vlen > 0x7fffffff - 2) return reply(session, BAD_FORMAT, noreply);
  if (vlen > maxValueBytes) {
    counters.store_too_large++;
    reply(session, TOO_LARGE, noreply);
    session.swallow(vlen + 2);
    if (mode === 'set') store.cache.delete(key);
    return;
  }
  const lineAtMs = session.shared.now();
  const ttlMs = exptimeToTtlMs(exptime, lineAtMs);
  const pending: PendingTextStore = {
    kind: 'text',
    mode,
    key,
    flags,
    ttlMs,
    lineAtMs,
    cas,
    noreply,
  };
  session.expectData(pending, vlen);
}

/** Outcome of a store, in memcached's words (the meta protocol maps them to HD/NS/EX/NF). */
export type StoreOutcome = 'STORED' | 'NOT_STORED' | 'EXISTS' | 'NOT_FOUND' | 'TOO_LARGE';

export interface StoreRequest {
  mode: StoreMode;
  key: string;
  /** The data block: its bytes, or a one-byte string of them (as a value is held). */
  bytes: Uint8Array | string;
  flags: number;
  ttlMs: number;
  /** Version to compare for cas (and for append/prepend when `hasCas`). */
  cas: number;
  hasCas: boolean;
}

function concat(a: Uint8Array | string, b: Uint8Array | string): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(asBytes(a), 0);
  out.set(asBytes(b), a.length);
  return out;
}

function asBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
}

/** Performs a store once its data block has arrived; shared by the text and meta protocols. */
export function performStore(session: Session, req: StoreRequest): StoreOutcome {
  const { store, counters } = session.shared;
  const cache = store.cache;
  const value = storedValue(req.bytes, req.flags);
  switch (req.mode) {
    case 'set':
      return store.set(req.key, value, req.ttlMs) ? stored(session) : tooLarge(session, req.key);
    case 'add': {
      const r = store.add(req.key, value, req.ttlMs);
      return r === 'stored' ? stored(session) : r === 'exists' ? 'NOT_STORED' : 'TOO_LARGE';
    }
    case 'replace': {
      if (cache.peekEntry(req.key) === undefined) return 'NOT_STORED';
      return store.replace(req.key, value, req.ttlMs) ? stored(session) : 'TOO_LARGE';
    }
    case 'append':
    case 'prepend': {
      // The old item keeps its flags and remaining TTL; only the data grows (memcached).
      const entry = cache.peekEntry(req.key);
      if (entry === undefined) return 'NOT_STORED';
      // A CAS of 0 is memcached's "none given" (CAS_NONE): append/prepend then skip the check.
      if (req.hasCas && req.cas !== 0 && entry.version !== req.cas) return 'EXISTS';
      const old = entry.value;
      const bytes =
        req.mode === 'append' ? concat(old.bytes, req.bytes) : concat(req.bytes, old.bytes);
      // Grown past what an item may hold: memcached cannot allocate the joined item and answers
      // NOT_STORED (do_store_item), a plain "no" to a client, where SERVER_ERROR would read as a
      // failing server. The old value stays.
      if (bytes.length > session.shared.maxValueBytes) return 'NOT_STORED';
      const ok = store.replace(req.key, storedValue(bytes, old.flags), keptTtl(entry));
      return ok ? stored(session) : 'NOT_STORED';
    }
    case 'cas': {
      const r = store.compareAndSet(req.key, value, req.cas, req.ttlMs);
      if (r === 'stored') {
        counters.cas_hits++;
        return stored(session);
      }
      if (r === 'exists') {
        counters.cas_badval++;
        return 'EXISTS';
      }
      if (r === 'not_found') {
        counters.cas_misses++;
        return 'NOT_FOUND';
      }
      return 'TOO_LARGE';
    }
  }
}

function stored(session: Session): 'STORED' {
  session.shared.counters.total_items++;
  return 'STORED';
}

function tooLarge(session: Session, key: string): 'TOO_LARGE' {
  session.shared.store.cache.delete(key);
  return 'TOO_LARGE';
}

const CRLF_CR = 0x0d;
const CRLF_LF = 0x0a;

/** True when the data block ends with CRLF, as memcached requires. */
export function hasDataTerminator(data: Buffer, vlen: number): boolean {
  return data[vlen] === CRLF_CR && data[vlen + 1] === CRLF_LF;
}

/** Completes a classic storage command: `data` holds `vlen` bytes plus the terminator. */
export function completeTextStore(
  session: Session,
  pending: PendingTextStore,
  data: Buffer,
  vlen: number,
): void {
  session.shared.counters.cmd_set++;
  if (!hasDataTerminator(data, vlen)) {
    reply(session, 'CLIENT_ERROR bad data chunk', pending.noreply);
    return;
  }
  const bytes = heldCopy(data, 0, vlen);
  const outcome = performStore(session, {
    mode: pending.mode,
    key: pending.key,
    bytes,
    flags: pending.flags,
    ttlMs: ttlLeftAt(pending.ttlMs, pending.lineAtMs, session.shared.now),
    cas: pending.cas,
    hasCas: pending.mode === 'cas',
  });
  if (outcome === 'STORED') session.shared.store.markKeyForm(pending.key, 'raw');
  reply(session, outcome === 'TOO_LARGE' ? TOO_LARGE : outcome, pending.noreply);
}
