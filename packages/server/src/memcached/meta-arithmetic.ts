import type { CacheEntry } from '@dcache/core';
import type { StoredValue } from '../operations/stored-value.js';
import { applyDelta, countedValue, encodeCounter, keptTtl } from '../operations/counter.js';
import { exptimeToTtlMs, ttlAfterChange, ttlMsToSeconds } from './exptime.js';
import {
  appendOpaque,
  echoOpaqueAndKey,
  OPAQUE_TOO_LONG,
  opaqueTooLong,
  parseMetaRequest,
  MUTATION_META_LIMITS,
} from './meta-common.js';
import { NON_NUMERIC, OUT_OF_MEMORY } from './other-commands.js';
import { casToVersion } from './session.js';
import type { Session } from './session.js';
import type { Tokens } from './tokenize.js';
import { storedValue } from '../operations/stored-value.js';

/**
 * ma <key> <flags>* — incr (default, `MI`/`M+`) or decr (`MD`/`M-`) by `D` (default 1); `N`
 * creates a missing item from `J` (default 0), returned unchanged; `C` compares the CAS (0 means
 * "don't compare", as in memcached); `v` returns the number as a VA block.
 */
export function metaArithmetic(session: Session, buf: Buffer, t: Tokens): void {
  const req = parseMetaRequest(session, buf, t, MUTATION_META_LIMITS);
  if (req === undefined) return;
  const out = session.out;
  const f = req.flags;
  let incr: boolean;
  if (f.mode === 0 || f.mode === 0x49 || f.mode === 0x2b) incr = true;
  else if (f.mode === 0x44 || f.mode === 0x2d) incr = false;
  else {
    out.ascii('CLIENT_ERROR invalid mode for ma M token\r\n');
    return;
  }
  const { store, counters } = session.shared;
  const cache = store.cache;
  const now = session.shared.now();
  const entry = cache.peekEntry(req.key);
  let digits: string;
  let item: CacheEntry<StoredValue> | undefined;
  let created = false;
  if (entry !== undefined) {
    if (entry.value.bytes.length === 0) {
      out.ascii(NON_NUMERIC).crlf();
      return;
    }
    if (f.cas !== undefined && f.cas !== 0n && entry.version !== casToVersion(f.cas)) {
      return codeOnly(session, buf, t, req, 'EX');
    }
    const result = applyDelta(entry.value.bytes, f.delta, incr);
    if (result === undefined) {
      out.ascii(NON_NUMERIC).crlf();
      return;
    }
    if (incr) counters.incr_hits++;
    else counters.decr_hits++;
    const value = countedValue(entry.value, result.bytes);
    // A number that still fits is changed in place by memcached: same item, same marks and reads.
    const inPlace = result.bytes.length === entry.value.bytes.length;
    if (!store.replace(req.key, value, keptTtl(entry), inPlace)) {
      out.ascii(OUT_OF_MEMORY).crlf();
      return;
    }
    // A new item: memcached does not carry the binary-key flag over, so `k` then echoes the
    // key raw where that is safe.
    if (inPlace) store.carryInPlaceMarks(entry.value, value);
    else {
      store.markKeyForm(req.key, f.base64Key === undefined ? 'raw' : 'raw-if-safe');
      // A new item, as memcached links it: counted in total_items.
      counters.total_items++;
    }
    digits = result.digits;
    item = cache.peekEntry(req.key);
  } else if (f.vivifyTtl !== undefined) {
    digits = f.initial.toString();
    const value = storedValue(encodeCounter(digits, 0), 0);
    // Created without a TTL; the N token applies it in request order (a `t` before it reads -1).
    if (store.add(req.key, value, 0) === 'stored') counters.total_items++;
    store.markKeyForm(req.key, f.base64Key === undefined ? 'raw' : 'raw-if-safe');
    item = cache.peekEntry(req.key) ?? { value, version: 0, ttl: undefined };
    created = true;
  } else {
    if (incr) counters.incr_misses++;
    else counters.decr_misses++;
    return codeOnly(session, buf, t, req, 'NF');
  }
  if (item === undefined) return codeOnly(session, buf, t, req, 'NS');
  // The reply is built even under q (then dropped), so flags act in request order: T and N set
  // the TTL (the last one wins; a `t` before them reads the old one), and an over-long opaque
  // aborts the reply after the change was made — all as memcached does.
  const mark = out.mark();
  if (f.value) out.ascii('VA ').uint(digits.length);
  else out.ascii('HD');
  let ttlMs = item.ttl;
  let newTtlMs: number | undefined;
  for (let i = 2; i < req.last; i++) {
    const s = t.starts[i]!;
    switch (buf[s]) {
      case 0x63: // c
        out.ascii(' c').uint(item.version);
        break;
      case 0x74: // t
        out.ascii(' t').ascii(String(ttlMsToSeconds(ttlMs)));
        break;
      case 0x54: // T
        newTtlMs = exptimeToTtlMs(f.ttl!, now);
        ttlMs = ttlAfterChange(newTtlMs);
        break;
      case 0x4e: // N
        if (created) {
          newTtlMs = exptimeToTtlMs(f.vivifyTtl!, now);
          ttlMs = ttlAfterChange(newTtlMs);
        }
        break;
      case 0x4f: // O
        if (!appendOpaque(session, buf, s, t.ends[i]!, mark, req.key, newTtlMs)) return;
        break;
      case 0x6b: // k
        out.ascii(' k').ascii(req.keyEcho);
        break;
    }
  }
  // ma is not a read: memcached's `h` stays 0 after it.
  if (newTtlMs !== undefined) store.touch(req.key, newTtlMs, true);
  if (f.noreply && !created) {
    out.rollback(mark);
    return;
  }
  if (f.value) out.crlf().ascii(digits);
  out.crlf();
}

function codeOnly(
  session: Session,
  buf: Buffer,
  t: Tokens,
  req: Parameters<typeof echoOpaqueAndKey>[3],
  code: string,
): void {
  if (opaqueTooLong(buf, t, 2, req.last)) {
    session.out.ascii(OPAQUE_TOO_LONG).crlf();
    return;
  }
  session.out.ascii(code);
  echoOpaqueAndKey(session, buf, t, req, 2);
  session.out.crlf();
}
