import { keptTtl } from '../operations/counter.js';
import { exptimeToTtlMs } from './exptime.js';
import {
  echoOpaqueAndKey,
  OPAQUE_TOO_LONG,
  opaqueTooLong,
  parseMetaRequest,
  MUTATION_META_LIMITS,
} from './meta-common.js';
import { casToVersion } from './session.js';
import type { Session } from './session.js';
import { MARK_STALE } from './store.js';
import type { Tokens } from './tokenize.js';
import { storedValue } from '../operations/stored-value.js';

/**
 * md <key> <flags>* — HD / NF / EX. With `I` the item is not removed but marked stale under a
 * new CAS (optionally with a new TTL from `T`), so the next `mg` sees X and one client wins W.
 */
export function metaDelete(session: Session, buf: Buffer, t: Tokens): void {
  const req = parseMetaRequest(session, buf, t, MUTATION_META_LIMITS);
  if (req === undefined) return;
  const out = session.out;
  if (opaqueTooLong(buf, t, 2, req.last)) {
    out.ascii(OPAQUE_TOO_LONG).crlf();
    return;
  }
  const { store, counters } = session.shared;
  const f = req.flags;
  const entry = store.cache.peekEntry(req.key);
  let code: string;
  if (entry === undefined) {
    counters.delete_misses++;
    code = 'NF';
  } else if (f.cas !== undefined && entry.version !== casToVersion(f.cas)) {
    counters.delete_misses++;
    code = 'EX';
  } else {
    if (f.invalidate) {
      // A new value object: a fresh CAS, and no win token handed out yet for it.
      const value = storedValue(entry.value.bytes, entry.value.flags);
      const ttlMs =
        f.ttl !== undefined ? exptimeToTtlMs(f.ttl, session.shared.now()) : keptTtl(entry);
      store.set(req.key, value, ttlMs, true);
      store.addMark(value, MARK_STALE);
      store.carryKeyMark(entry.value, value);
    } else {
      store.cache.delete(req.key);
      counters.delete_hits++;
    }
    if (f.noreply) return;
    code = 'HD';
  }
  out.ascii(code);
  echoOpaqueAndKey(session, buf, t, req, 2);
  out.crlf();
}
