import type { PendingStore, Session } from './session.js';
import { reply } from './session.js';

/** memcached's answer to a store it could not allocate memory for. */
export const NO_MEMORY = 'SERVER_ERROR out of memory storing object';

/**
 * Answers a store whose data block the port's input budget could not hold, as
 * memcached answers one it cannot allocate: `set` (and `ms`, whatever its mode) removes the old
 * value, so a failed write never leaves stale data behind; `noreply` silences the classic
 * commands but not `ms` (memcached's out_errstring). A login's block fails the login.
 */
export function refuseForMemory(session: Session, pending: PendingStore): void {
  if (pending.kind === 'auth') {
    session.out.ascii('CLIENT_ERROR authentication failure\r\n');
    return;
  }
  const { cache } = session.shared.store;
  if (pending.kind === 'text') {
    if (pending.mode === 'set') cache.delete(pending.key);
    reply(session, NO_MEMORY, pending.noreply);
    return;
  }
  cache.delete(pending.key);
  session.out.ascii(NO_MEMORY).crlf();
}
