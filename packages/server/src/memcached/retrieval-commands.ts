import { EXPIRED, exptimeToTtlMs } from './exptime.js';
import { decodeKey } from './keys.js';
import { parseInt32 } from './numbers.js';
import type { Session } from './session.js';
import type { Tokens } from './tokenize.js';
import { valueData } from '../operations/stored-value.js';

/**
 * get / gets / gat / gats <key>* — one VALUE block per hit, then END. A key over the limit
 * replaces the whole reply with one CLIENT_ERROR line, as memcached does; the lookups already
 * made still count.
 */
export function retrieve(
  session: Session,
  buf: Buffer,
  t: Tokens,
  withCas: boolean,
  withTouch: boolean,
): void {
  const { store, counters, maxKeyBytes } = session.shared;
  const cache = store.cache;
  const out = session.out;
  let first = 1;
  let ttlMs = 0;
  if (withTouch) {
    const exptime = parseInt32(buf, t.starts[1]!, t.ends[1]!);
    if (exptime === undefined) {
      out.ascii('CLIENT_ERROR invalid exptime argument\r\n');
      return;
    }
    ttlMs = exptimeToTtlMs(exptime, session.shared.now());
    first = 2;
  }
  // A bad key replaces the hits before it; a single key has none, so no mark is taken for it.
  const mark = t.count - first > 1 ? out.mark() : undefined;
  for (let i = first; i < t.count; i++) {
    // A client that does not read its replies gets the rest of them once it has.
    if (i > first && session.deferKeys(buf, t, first, i)) return;
    const start = t.starts[i]!;
    const end = t.ends[i]!;
    const key = end - start > maxKeyBytes ? undefined : decodeKey(buf, start, end);
    if (key === undefined) {
      if (mark !== undefined) out.rollback(mark);
      out.ascii('CLIENT_ERROR bad command line format\r\n');
      return;
    }
    let value;
    let version = 0;
    if (withCas || withTouch) {
      // gat/gats count as touches only (touch_hits/touch_misses, not get_hits/get_misses, as
      // memcached counts them): looked at without a hit or miss, promoted by the touch below.
      const entry = withTouch ? cache.peekEntry(key) : cache.getEntry(key);
      value = entry?.value;
      version = entry?.version ?? 0;
    } else {
      value = cache.get(key);
    }
    if (withTouch) {
      counters.cmd_touch++;
      if (value === undefined) counters.touch_misses++;
      else {
        counters.touch_hits++;
        // An expired TTL still returns the value this once, then the item is gone (memcached).
        if (ttlMs === EXPIRED) cache.delete(key);
        else cache.touch(key, ttlMs);
      }
    } else {
      counters.cmd_get++;
    }
    if (value === undefined) continue;
    out.hit(buf, start, end, value.flags, valueData(value), withCas ? version : -1);
  }
  out.ascii('END\r\n');
}
