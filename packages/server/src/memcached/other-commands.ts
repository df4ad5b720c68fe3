import { applyDelta, countedValue, keptTtl } from '../operations/counter.js';
import { exptimeToTtlMs } from './exptime.js';
import { decodeKey } from './keys.js';
import { parseInt32, parseUint32, parseUint64 } from './numbers.js';
import { reply } from './session.js';
import type { Session } from './session.js';
import { writeGeneralStats, writeSettingsStats } from './stats-reply.js';
import { memcachedTokenCount, tokenIs } from './tokenize.js';
import type { Tokens } from './tokenize.js';

const BAD_FORMAT = 'CLIENT_ERROR bad command line format';
export const NON_NUMERIC = 'CLIENT_ERROR cannot increment or decrement non-numeric value';
/** memcached's answer when a counter's longer number cannot be stored; the old value stays. */
export const OUT_OF_MEMORY = 'SERVER_ERROR out of memory';

/** The key in token 1, or undefined when it is too long. */
function keyOf(session: Session, buf: Buffer, t: Tokens): string | undefined {
  const start = t.starts[1]!;
  const end = t.ends[1]!;
  if (end - start > session.shared.maxKeyBytes) return undefined;
  return decodeKey(buf, start, end);
}

/**
 * `<cmd> <key> <arg> [noreply]` (incr, decr, touch): ERROR for a wrong argument count, then the
 * key. Writes the error itself and returns undefined when the command cannot go on.
 */
function keyLine(
  session: Session,
  buf: Buffer,
  t: Tokens,
): { key: string; noreply: boolean } | undefined {
  const ntokens = memcachedTokenCount(t);
  if (ntokens !== 4 && ntokens !== 5) {
    session.out.ascii('ERROR\r\n');
    return undefined;
  }
  const noreply = tokenIs(buf, t, ntokens - 2, 'noreply');
  const key = keyOf(session, buf, t);
  if (key === undefined) {
    reply(session, BAD_FORMAT, noreply);
    return undefined;
  }
  return { key, noreply };
}

/** delete <key> [0] [noreply] — the legacy hold time is accepted only as "0". */
export function deleteCommand(session: Session, buf: Buffer, t: Tokens): void {
  const ntokens = memcachedTokenCount(t);
  if (ntokens < 3 || ntokens > 5) {
    session.out.ascii('ERROR\r\n');
    return;
  }
  let noreply = false;
  if (ntokens > 3) {
    const holdIsZero = tokenIs(buf, t, 2, '0');
    noreply = tokenIs(buf, t, ntokens - 2, 'noreply');
    const valid =
      (ntokens === 4 && (holdIsZero || noreply)) || (ntokens === 5 && holdIsZero && noreply);
    if (!valid) {
      return reply(session, `${BAD_FORMAT}.  Usage: delete <key> [noreply]`, noreply);
    }
  }
  const key = keyOf(session, buf, t);
  if (key === undefined) return reply(session, BAD_FORMAT, noreply);
  const { store, counters } = session.shared;
  if (store.cache.delete(key)) {
    counters.delete_hits++;
    reply(session, 'DELETED', noreply);
  } else {
    counters.delete_misses++;
    reply(session, 'NOT_FOUND', noreply);
  }
}

/** incr|decr <key> <delta> [noreply] */
export function arithmeticCommand(session: Session, buf: Buffer, t: Tokens, incr: boolean): void {
  const line = keyLine(session, buf, t);
  if (line === undefined) return;
  const { key, noreply } = line;
  const delta = parseUint64(buf, t.starts[2]!, t.ends[2]!);
  if (delta === undefined)
    return reply(session, 'CLIENT_ERROR invalid numeric delta argument', noreply);
  const { store, counters } = session.shared;
  const entry = store.cache.peekEntry(key);
  if (entry === undefined) {
    if (incr) counters.incr_misses++;
    else counters.decr_misses++;
    return reply(session, 'NOT_FOUND', noreply);
  }
  const result = applyDelta(entry.value.bytes, delta, incr);
  if (result === undefined) return reply(session, NON_NUMERIC, noreply);
  if (incr) counters.incr_hits++;
  else counters.decr_hits++;
  const value = countedValue(entry.value, result.bytes);
  // A number that still fits is changed in place by memcached: same item, same marks and reads.
  const inPlace = result.bytes.length === entry.value.bytes.length;
  if (!store.replace(key, value, keptTtl(entry), inPlace))
    return reply(session, OUT_OF_MEMORY, noreply);
  if (inPlace) store.carryInPlaceMarks(entry.value, value);
  else {
    store.markKeyForm(key, 'raw');
    // A grown number does not fit the item: memcached links a new one, counted in total_items.
    counters.total_items++;
  }
  reply(session, result.digits, noreply);
}

/** touch <key> <exptime> [noreply] */
export function touchCommand(session: Session, buf: Buffer, t: Tokens): void {
  const line = keyLine(session, buf, t);
  if (line === undefined) return;
  const { key, noreply } = line;
  const exptime = parseInt32(buf, t.starts[2]!, t.ends[2]!);
  if (exptime === undefined)
    return reply(session, 'CLIENT_ERROR invalid exptime argument', noreply);
  const { store, counters } = session.shared;
  counters.cmd_touch++;
  if (store.touch(key, exptimeToTtlMs(exptime, session.shared.now()))) {
    counters.touch_hits++;
    reply(session, 'TOUCHED', noreply);
  } else {
    counters.touch_misses++;
    reply(session, 'NOT_FOUND', noreply);
  }
}

/**
 * flush_all [delay] [noreply] — a delay follows the exptime rules (relative or absolute).
 *
 * As memcached's process_flush_all_command (proto_text.c): the delay is a signed 32-bit number
 * (anything else: `CLIENT_ERROR invalid exptime argument`); 0, a negative delay or an absolute time
 * already past flushes at once; every flush_all overwrites the one `settings.oldest_live`, so it
 * replaces a flush still pending — here the node's, which `POST /v1/flush` shares (NodeFlush).
 * Knowingly different: memcached maps an absolute time before its own start to oldest_live 0,
 * which cancels a pending flush and flushes nothing; here that time is past, so it flushes now.
 */
export function flushAllCommand(session: Session, buf: Buffer, t: Tokens): void {
  const ntokens = memcachedTokenCount(t);
  if (ntokens < 2 || ntokens > 4) {
    session.out.ascii('ERROR\r\n');
    return;
  }
  const noreply = tokenIs(buf, t, ntokens - 2, 'noreply');
  session.shared.counters.cmd_flush++;
  let exptime = 0;
  if (ntokens !== (noreply ? 3 : 2)) {
    const parsed = parseInt32(buf, t.starts[1]!, t.ends[1]!);
    if (parsed === undefined)
      return reply(session, 'CLIENT_ERROR invalid exptime argument', noreply);
    exptime = parsed;
  }
  const delayMs = exptime > 0 ? exptimeToTtlMs(exptime, session.shared.now()) : 0;
  session.shared.store.nodeFlush.flush(delayMs);
  reply(session, 'OK', noreply);
}

/** verbosity <level> [noreply] — accepted and ignored (dcache logs through its own options). */
export function verbosityCommand(session: Session, buf: Buffer, t: Tokens): void {
  const ntokens = memcachedTokenCount(t);
  if (ntokens !== 3 && ntokens !== 4) {
    session.out.ascii('ERROR\r\n');
    return;
  }
  const noreply = tokenIs(buf, t, ntokens - 2, 'noreply');
  if (parseUint32(buf, t.starts[1]!, t.ends[1]!) === undefined)
    return reply(session, BAD_FORMAT, noreply);
  reply(session, 'OK', noreply);
}

/** `stats` groups answered with an empty listing, as memcached 1.6 answers `extstore` unused. */
const EMPTY_STATS = ['items', 'slabs', 'sizes', 'conns', 'cachedump', 'extstore'];

/** stats [settings|reset|items|slabs|sizes|conns|extstore|detail] */
export function statsCommand(session: Session, buf: Buffer, t: Tokens): void {
  const out = session.out;
  const shared = session.shared;
  if (t.count === 1) return writeGeneralStats(out, shared);
  if (tokenIs(buf, t, 1, 'reset')) {
    shared.counters.reset();
    out.ascii('RESET\r\n');
  } else if (tokenIs(buf, t, 1, 'settings')) {
    writeSettingsStats(out, shared);
  } else if (tokenIs(buf, t, 1, 'detail')) {
    out.ascii('CLIENT_ERROR usage: stats detail on|off|dump\r\n');
  } else if (EMPTY_STATS.some((w) => tokenIs(buf, t, 1, w))) {
    // dcache has no slab classes or extstore; an empty listing keeps memcached tools working.
    out.ascii('END\r\n');
  } else {
    out.ascii('ERROR\r\n');
  }
}
