import type { CacheEntry } from '@dcache/core';
import type { StoredValue } from '../stored-value.js';
import { applyDelta, encodeCounter } from './counter.js';
import { EXPIRED, exptimeToTtlMs, ttlMsToSeconds } from './exptime.js';
import {
  echoOpaqueAndKey,
  OPAQUE_TOO_LONG,
  opaqueTooLong,
  parseMetaRequest,
} from './meta-common.js';
import { NON_NUMERIC } from './other-commands.js';
import { casToVersion } from './session.js';
import type { Session } from './session.js';
import { ProtocolStore } from './store.js';
import type { Tokens } from './tokenize.js';

/**
 * ma <key> <flags>* — incr (default, `MI`/`M+`) or decr (`MD`/`M-`) by `D` (default 1); `N`
 * creates a missing item from `J` (default 0), returned unchanged; `C` compares the CAS (0 means
 * "don't compare", as in memcached); `v` returns the number as a VA block.
 */
export function metaArithmetic(session: Session, buf: Buffer, t: Tokens): void {
  const req = parseMetaRequest(session, buf, t, {
    first: 2,
    tooManyFlags: 'CLIENT_ERROR options flags too long',
    flagError: 'CLIENT_ERROR invalid or duplicate flag',
  });
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
  if (opaqueTooLong(buf, t, 2, req.last)) {
    out.ascii(OPAQUE_TOO_LONG).crlf();
    return;
  }
  const { store, counters } = session.shared;
  const cache = store.cache;
  const now = session.shared.now();
  counters.cmd_meta++;
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
    const value = { bytes: result.bytes, flags: entry.value.flags };
    cache.set(req.key, value, { ttl: ProtocolStore.remainingTtl(entry) });
    digits = result.digits;
    item = cache.peekEntry(req.key);
  } else if (f.vivifyTtl !== undefined) {
    digits = f.initial.toString();
    const value = { bytes: encodeCounter(digits, 0), flags: 0 };
    store.add(req.key, value, exptimeToTtlMs(f.vivifyTtl, now));
    item = cache.peekEntry(req.key) ?? { value, version: 0, ttl: undefined };
    created = true;
  } else {
    if (incr) counters.incr_misses++;
    else counters.decr_misses++;
    return codeOnly(session, buf, t, req, 'NF');
  }
  if (item === undefined) return codeOnly(session, buf, t, req, 'NS');
  if (f.noreply && !created) {
    applyTtl(session, req.key, f.ttl, now);
    return;
  }
  if (f.value) out.ascii('VA ').uint(digits.length);
  else out.ascii('HD');
  let ttlMs = item.ttl;
  for (let i = 2; i < req.last; i++) {
    const s = t.starts[i]!;
    switch (buf[s]) {
      case 0x63: // c
        out.ascii(' c').uint(item.version);
        break;
      case 0x74: // t
        out.ascii(' t').ascii(String(ttlMsToSeconds(ttlMs)));
        break;
      case 0x54: {
        // T
        const next = applyTtl(session, req.key, f.ttl, now);
        ttlMs = next === 0 ? undefined : next;
        break;
      }
      case 0x4f: // O
        out.ascii(' ').bytes(buf, s, t.ends[i]!);
        break;
      case 0x6b: // k
        out.ascii(' k').ascii(req.keyEcho);
        break;
    }
  }
  if (f.value) out.crlf().ascii(digits);
  out.crlf();
}

/** Applies a `T` exptime to the item; returns the new TTL in ms (0 = never). */
function applyTtl(session: Session, key: string, exptime: number | undefined, now: number): number {
  if (exptime === undefined) return 0;
  const ttlMs = exptimeToTtlMs(exptime, now);
  session.shared.store.touch(key, ttlMs);
  return ttlMs === EXPIRED ? 0 : ttlMs;
}

function codeOnly(
  session: Session,
  buf: Buffer,
  t: Tokens,
  req: Parameters<typeof echoOpaqueAndKey>[3],
  code: string,
): void {
  session.out.ascii(code);
  echoOpaqueAndKey(session, buf, t, req, 2);
  session.out.crlf();
}
