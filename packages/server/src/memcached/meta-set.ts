import { keptTtl } from '../operations/counter.js';
import { exptimeToTtlMs, ttlLeftAt } from './exptime.js';
import { BAD_FORMAT, finishRequest, OPAQUE_TOO_LONG } from './meta-common.js';
import { MAX_META_TOKENS, MAX_OPAQUE_LENGTH, parseMetaFlags } from './meta-flags.js';
import { parseInt32 } from './numbers.js';
import { casToVersion } from './session.js';
import type { MetaEcho, PendingMetaStore, Session, StoreMode } from './session.js';
import { hasDataTerminator, performStore, TOO_LARGE } from './storage-commands.js';
import type { StoreOutcome } from './storage-commands.js';
import { MARK_STALE, MARK_TOKEN_SENT } from './store.js';
import { memcachedTokenCount } from './tokenize.js';
import type { Tokens } from './tokenize.js';
import { storedValue } from '../operations/stored-value.js';

function modeOf(m: number): StoreMode | undefined {
  switch (m) {
    case 0:
    case 0x53: // S
      return 'set';
    case 0x45: // E
      return 'add';
    case 0x41: // A
      return 'append';
    case 0x50: // P
      return 'prepend';
    case 0x52: // R
      return 'replace';
    default:
      return undefined;
  }
}

/**
 * ms <key> <datalen> <flags>* — errors found once the data length is known are answered
 * (always, even with q) and the data block is skipped, as memcached does.
 */
export function metaSet(session: Session, buf: Buffer, t: Tokens): void {
  const out = session.out;
  const ntokens = memcachedTokenCount(t);
  if (ntokens < 3) {
    out.ascii('ERROR\r\n');
    return;
  }
  const { maxKeyBytes, maxValueBytes, store, counters } = session.shared;
  if (t.ends[1]! - t.starts[1]! > maxKeyBytes || ntokens === 3) {
    out.ascii(BAD_FORMAT).crlf();
    return;
  }
  if (ntokens > MAX_META_TOKENS) {
    out.ascii('CLIENT_ERROR options flags too long\r\n');
    return;
  }
  const vlen = parseInt32(buf, t.starts[2]!, t.ends[2]!);
  if (vlen === undefined || vlen < 0 || vlen > 0x7fffffff - 2) {
    out.ascii(BAD_FORMAT).crlf();
    return;
  }
  const fail = (message: string): void => {
    out.ascii(message).crlf();
    session.swallow(vlen + 2);
  };
  const last = ntokens - 1;
  const flags = parseMetaFlags(buf, t, 3, last);
  if (flags.error !== undefined) return fail(flags.error);
  const echo: MetaEcho[] = [];
  let error: string | undefined;
  for (let i = 3; i < last; i++) {
    const s = t.starts[i]!;
    const c = buf[s];
    if (c === 0x4f) {
      if (t.ends[i]! - s > MAX_OPAQUE_LENGTH) error = OPAQUE_TOO_LONG;
      else echo.push({ opaque: Buffer.from(buf.subarray(s, t.ends[i]!)) });
    } else if (c === 0x6b) echo.push('k');
    else if (c === 0x63) echo.push('c');
  }
  let mode = modeOf(flags.mode);
  if (mode === undefined) return fail('CLIENT_ERROR invalid mode for ms M token');
  const hasCas = flags.cas !== undefined;
  if (hasCas && (mode === 'set' || mode === 'replace')) mode = 'cas';
  if (error !== undefined) return fail(error);
  const req = finishRequest(buf, t, flags, last);
  if (vlen > maxValueBytes) {
    counters.store_too_large++;
    store.cache.delete(req.key);
    return fail(TOO_LARGE);
  }
  const lineAtMs = session.shared.now();
  const pending: PendingMetaStore = {
    kind: 'meta',
    mode,
    key: req.key,
    keyEcho: req.keyEcho,
    binaryKey: flags.base64Key !== undefined,
    flags: flags.clientFlags,
    ttlMs: flags.ttl === undefined ? 0 : exptimeToTtlMs(flags.ttl, lineAtMs),
    lineAtMs,
    cas: hasCas ? casToVersion(flags.cas!) : -1,
    hasCas,
    invalidate: flags.invalidate && mode === 'cas',
    noreply: flags.noreply,
    echo,
  };
  session.expectData(pending, vlen);
}

const CODES: Record<StoreOutcome, string> = {
  STORED: 'HD',
  NOT_STORED: 'NS',
  EXISTS: 'EX',
  NOT_FOUND: 'NF',
  TOO_LARGE,
};

/** Completes `ms` once its data block arrived. */
export function completeMetaStore(
  session: Session,
  pending: PendingMetaStore,
  data: Buffer,
  vlen: number,
): void {
  const out = session.out;
  const { store, counters } = session.shared;
  counters.cmd_set++;
  if (!hasDataTerminator(data, vlen)) {
    out.ascii('CLIENT_ERROR bad data chunk\r\n');
    return;
  }
  const bytes = new Uint8Array(vlen);
  data.copy(bytes, 0, 0, vlen);
  let outcome: StoreOutcome | undefined;
  if (pending.invalidate) {
    // I with C: a CAS older than the item's is accepted ("set stale"). As memcached's
    // do_store_item, the new item keeps the old one's TTL (whatever T says), is marked stale even
    // if the old one was not, and keeps its token-sent bit: the client that won the recache is
    // still recaching, so later readers get Z, not a second W. A CAS of 0 is memcached's "none
    // given" (CAS_NONE), never stale: the CAS store below refuses it (EX, cas_badval).
    const entry = store.cache.peekEntry(pending.key);
    if (entry !== undefined && pending.cas > 0 && pending.cas < entry.version) {
      const value = storedValue(bytes, pending.flags);
      // Refused for size, a conditional write keeps the item (replace, where set drops it).
      if (store.replace(pending.key, value, keptTtl(entry))) {
        const tokenSent = store.hasMark(entry.value, MARK_TOKEN_SENT) ? MARK_TOKEN_SENT : 0;
        store.addMark(value, MARK_STALE | tokenSent);
        // memcached counts the stale write as a CAS hit.
        counters.cas_hits++;
        counters.total_items++;
        outcome = 'STORED';
      } else {
        outcome = 'TOO_LARGE';
      }
    }
  }
  const ttlMs = ttlLeftAt(pending.ttlMs, pending.lineAtMs, session.shared.now);
  outcome ??= performStore(session, { ...pending, ttlMs, bytes });
  if (outcome === 'STORED') {
    // An append/prepend is a new item memcached allocates without the request's binary-key flag,
    // so it echoes a `b` key raw from then on (where that is safe; see markKeyForm).
    const joined = pending.mode === 'append' || pending.mode === 'prepend';
    const form = !pending.binaryKey ? 'raw' : joined ? 'raw-if-safe' : 'base64';
    store.markKeyForm(pending.key, form);
  }
  if (outcome === 'TOO_LARGE') {
    out.ascii(TOO_LARGE).crlf();
    return;
  }
  if (outcome === 'STORED' && pending.noreply) return;
  out.ascii(CODES[outcome]);
  for (const e of pending.echo) {
    if (e === 'k') out.ascii(' k').ascii(pending.keyEcho);
    else if (e === 'c') {
      const version = outcome === 'STORED' ? (store.cache.peekEntry(pending.key)?.version ?? 0) : 0;
      out.ascii(' c').uint(version);
    } else out.ascii(' ').bytes(e.opaque);
  }
  out.crlf();
}
