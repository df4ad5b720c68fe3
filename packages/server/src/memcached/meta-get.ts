import type { CacheEntry } from '@dcache/core';
import type { StoredValue } from '../operations/stored-value.js';
import { exptimeToTtlMs, ttlAfterChange, ttlMsToSeconds } from './exptime.js';
import {
  BAD_FORMAT,
  appendOpaque,
  echoOpaqueAndKey,
  OPAQUE_TOO_LONG,
  opaqueTooLong,
  parseMetaRequest,
} from './meta-common.js';
import type { Session } from './session.js';
import { MARK_STALE, MARK_TOKEN_SENT } from './store.js';
import type { MemcachedCache } from './store.js';
import { decodeBase64Key, decodeKey, keyBytes } from './keys.js';
import { memcachedTokenCount } from './tokenize.js';
import type { Tokens } from './tokenize.js';
import { storedValue, valueData, valueLength } from '../operations/stored-value.js';

const EMPTY = new Uint8Array(0);
/** The `b` flag letter. */
const B = 0x62;

/**
 * mg <key> <flags>* — flags answered in request order (v s t c f k O h l), then Z / X / W: an
 * item whose win token was already handed out, a stale item (`md I`), and this client winning the
 * right to recache (`N` vivify on miss, `R` TTL below threshold, or the first fetch of a stale
 * item). `h` and `l` report the item's reads before this one (from any door: HTTP reads count);
 * `u` makes this read leave no trace — no LRU bump, no access record, even with `T`.
 */
export function metaGet(session: Session, buf: Buffer, t: Tokens): void {
  const req = parseMetaRequest(session, buf, t, {
    first: 2,
    tooManyFlags: 'CLIENT_ERROR options flags are too long',
    flagError: undefined,
  });
  if (req === undefined) return;
  const out = session.out;
  const { store, counters } = session.shared;
  const cache = store.cache;
  const f = req.flags;
  const now = session.shared.now();
  const touches = f.ttl !== undefined;
  let entry = lookUp(cache, req.key, f.noBump, touches, f.vivifyTtl !== undefined);
  let created = false;
  if (entry === undefined && f.vivifyTtl !== undefined) {
    // Created without a TTL: the N token sets it in request order, as memcached does.
    const value = storedValue(EMPTY, 0);
    // A created item is a linked item to memcached: counted in total_items.
    if (store.set(req.key, value, 0)) counters.total_items++;
    // memcached does not mark a vivified item's key binary: `k` echoes it raw where that is safe.
    store.markKeyForm(req.key, f.base64Key === undefined ? 'raw' : 'raw-if-safe');
    entry = cache.peekEntry(req.key) ?? { value, version: 0, ttl: undefined };
    created = true;
  }
  if (entry !== undefined && touches) counters.cmd_touch++;
  else counters.cmd_get++;
  if (entry === undefined) {
    if (opaqueTooLong(buf, t, 2, req.last)) {
      out.ascii(OPAQUE_TOO_LONG).crlf();
      return;
    }
    if (f.noreply) return;
    out.ascii('EN');
    echoOpaqueAndKey(session, buf, t, req, 2);
    out.crlf();
    return;
  }
  if (touches) counters.touch_hits++;
  const value = entry.value;
  const mark = out.mark();
  if (f.value) out.ascii('VA ').uint(valueLength(value));
  else out.ascii('HD');
  const tokenSent = store.hasMark(value, MARK_TOKEN_SENT);
  let won = false;
  // T and N change the TTL in request order (a later `t` or `R` sees it; an expired TTL reads
  // as 0 left); the last one is applied. An over-long opaque aborts the reply but, as in
  // memcached, keeps what the flags before it did.
  let ttlMs = entry.ttl;
  let newTtlMs: number | undefined;
  for (let i = 2; i < req.last; i++) {
    const s = t.starts[i]!;
    switch (buf[s]) {
      case 0x54: // T
        newTtlMs = exptimeToTtlMs(f.ttl!, now);
        ttlMs = ttlAfterChange(newTtlMs);
        break;
      case 0x4e: // N
        if (created) {
          won = true;
          newTtlMs = exptimeToTtlMs(f.vivifyTtl!, now);
          ttlMs = ttlAfterChange(newTtlMs);
        }
        break;
      case 0x52: {
        // R
        const threshold = exptimeToTtlMs(f.recacheTtl!, now);
        if (!tokenSent && !created && ttlMs !== undefined && threshold > 0 && ttlMs < threshold) {
          won = true;
        }
        break;
      }
      case 0x73: // s
        out.ascii(' s').uint(valueLength(value));
        break;
      case 0x74: // t
        out.ascii(' t').ascii(String(ttlMsToSeconds(ttlMs)));
        break;
      case 0x63: // c
        out.ascii(' c').uint(entry.version);
        break;
      case 0x66: // f
        out.ascii(' f').uint(value.flags);
        break;
      case 0x4f: // O
        if (!appendOpaque(session, buf, s, t.ends[i]!, mark, req.key, newTtlMs)) return;
        break;
      case 0x6b: // k: as the item was keyed, like memcached's item flag (see keyEcho)
        out.ascii(' k').ascii(store.keyEcho(req.key, value));
        break;
      case 0x68: // h: read before this request?
        out.ascii(entry.readSinceWrite === true ? ' h1' : ' h0');
        break;
      case 0x6c: // l: whole seconds since the last read (or the write), before this request
        out.ascii(' l').uint(Math.floor((entry.idleMs ?? 0) / 1000));
        break;
    }
  }
  if (tokenSent) out.ascii(' Z');
  if (store.hasMark(value, MARK_STALE)) {
    out.ascii(' X');
    if (!tokenSent) won = true;
  }
  if (won) {
    out.ascii(' W');
    store.addMark(value, MARK_TOKEN_SENT);
  }
  out.crlf();
  if (f.value) out.value(valueData(value)).crlf();
  // After the reply: `h`/`l` above report the item as it was before. A vivified item is read
  // by this touch (unless `u`), so the next `mg` sees `h1`, as memcached.
  if (newTtlMs !== undefined) store.touch(req.key, newTtlMs, f.noBump);
}

/**
 * The entry `mg` reads, counted in get_hits/get_misses as memcached 1.6.18 counts it: a miss is a
 * get miss whatever the flags (unless N creates the item: then it was found, a touch hit with T);
 * a hit is a get hit, but a touch hit instead with T (touch_hits: the touch promotes it). The core
 * counts a get hit only as a read that promotes and is recorded (`h`), so hits with `u` and items
 * N creates without T are not counted in get_hits (memcached counts them).
 */
function lookUp(
  cache: MemcachedCache,
  key: string,
  noBump: boolean,
  touches: boolean,
  vivifies: boolean,
): CacheEntry<StoredValue> | undefined {
  if (!noBump && !touches && !vivifies) return cache.getEntry(key);
  const entry = cache.peekEntry(key);
  if (entry === undefined) {
    // Nothing to promote: the lookup counts the miss.
    if (!vivifies) cache.getEntry(key);
  } else if (!noBump && !touches) {
    cache.getEntry(key);
  }
  return entry;
}

/**
 * me <key> [b] — memcached's debug dump, with the fields dcache can fill in. As memcached, every
 * token after the key is ignored but a `b` right after it (a base64 key), and the key is shown as
 * the item holds it (base64 when it was written with a `b` key), whichever form the request used.
 */
export function metaDebug(session: Session, buf: Buffer, t: Tokens): void {
  const out = session.out;
  const start = t.starts[1]!;
  const end = t.ends[1]!;
  if (memcachedTokenCount(t) < 3 || end - start > session.shared.maxKeyBytes) {
    out.ascii(BAD_FORMAT).crlf();
    return;
  }
  const base64 = t.count > 2 && t.ends[2]! - t.starts[2]! === 1 && buf[t.starts[2]!] === B;
  const key = base64 ? decodeBase64Key(buf, start, end) : decodeKey(buf, start, end);
  if (key === undefined) {
    out.ascii(BAD_FORMAT).crlf();
    return;
  }
  const { store, counters } = session.shared;
  // memcached 1.6.18's cmd_meta (meta_cmds) counts `me` alone, hit or miss; mg/ms/md/ma count in
  // the get, set, delete and incr/decr counters.
  counters.cmd_meta++;
  const entry = store.cache.peekEntry(key);
  if (entry === undefined) {
    out.ascii('EN\r\n');
    return;
  }
  const exp = entry.ttl === undefined ? -1 : -ttlMsToSeconds(entry.ttl);
  const size = valueLength(entry.value) + keyBytes(key).length;
  const la = Math.floor((entry.idleMs ?? 0) / 1000);
  const fetch = entry.readSinceWrite === true ? 'yes' : 'no';
  const shown = store.keyEcho(key, entry.value).replace(/ b$/, '');
  out.ascii(
    `ME ${shown} exp=${exp} la=${la} cas=${entry.version} fetch=${fetch} cls=1 size=${size}\r\n`,
  );
}
