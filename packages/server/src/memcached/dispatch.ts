import { metaArithmetic } from './meta-arithmetic.js';
import { metaDelete } from './meta-delete.js';
import { metaDebug, metaGet } from './meta-get.js';
import { metaSet } from './meta-set.js';
import {
  arithmeticCommand,
  deleteCommand,
  flushAllCommand,
  statsCommand,
  touchCommand,
  verbosityCommand,
} from './other-commands.js';
import { retrieve } from './retrieval-commands.js';
import type { Session } from './session.js';
import { storageCommand } from './storage-commands.js';
import { MAX_TOKENS, tokenize } from './tokenize.js';
import type { Tokens } from './tokenize.js';

/**
 * Runs one command line (without its line terminator). Routing follows memcached's
 * `process_command_ascii`: names are case-sensitive, two-letter names starting with 'm' are meta
 * commands, and anything unknown — or shorter than two bytes — is answered "ERROR".
 */
export function executeLine(session: Session, buf: Buffer, start: number, end: number): void {
  const t = tokenize(buf, start, end);
  const out = session.out;
  if (t.count === 0 || t.ends[0]! - t.starts[0]! < 2) {
    out.ascii('ERROR\r\n');
    return;
  }
  const s = t.starts[0]!;
  const len = t.ends[0]! - s;
  const c0 = buf[s]!;
  // The two hot commands are recognised from their bytes, without building a string.
  if (len === 3 && buf[s + 1] === 0x65 && buf[s + 2] === 0x74) {
    if (c0 === 0x67) return getFamily(session, buf, t, false, false);
    if (c0 === 0x73) return storageCommand(session, buf, t, 'set');
  }
  if (c0 === 0x6d && len === 2) {
    switch (buf[s + 1]) {
      case 0x67:
        return metaGet(session, buf, t);
      case 0x73:
        return metaSet(session, buf, t);
      case 0x64:
        return metaDelete(session, buf, t);
      case 0x61:
        return metaArithmetic(session, buf, t);
      case 0x65:
        return metaDebug(session, buf, t);
      case 0x6e:
        out.ascii('MN\r\n');
        return;
      default:
        out.ascii('ERROR\r\n');
        return;
    }
  }
  const name = buf.toString('latin1', s, t.ends[0]!);
  switch (name) {
    case 'gets':
      return getFamily(session, buf, t, true, false);
    case 'gat':
      return getFamily(session, buf, t, false, true);
    case 'gats':
      return getFamily(session, buf, t, true, true);
    case 'bget':
      return getFamily(session, buf, t, false, false);
    case 'add':
    case 'replace':
    case 'append':
    case 'prepend':
    case 'cas':
      return storageCommand(session, buf, t, name);
    case 'delete':
      return deleteCommand(session, buf, t);
    case 'incr':
      return arithmeticCommand(session, buf, t, true);
    case 'decr':
      return arithmeticCommand(session, buf, t, false);
    case 'touch':
      return touchCommand(session, buf, t);
    case 'flush_all':
      return flushAllCommand(session, buf, t);
    case 'stats':
      return statsCommand(session, buf, t);
    case 'verbosity':
      return verbosityCommand(session, buf, t);
    case 'version':
      out.ascii('VERSION ').ascii(session.shared.version).crlf();
      return;
    case 'quit':
      session.quit();
      return;
    case 'shutdown':
      out.ascii('ERROR: shutdown not enabled\r\n');
      return;
    default:
      if (isHttpRequestLine(buf, t)) {
        session.hangUp();
        return;
      }
      out.ascii('ERROR\r\n');
  }
}

/**
 * Letters that begin memcached's own commands (get…, set/stats…, add/append, cas, incr,
 * delete/decr, touch): memcached answers an unknown word starting with one "ERROR" without
 * looking further, so only other words can be taken for HTTP.
 */
const COMMAND_INITIALS = new Set([0x67, 0x73, 0x61, 0x63, 0x69, 0x64, 0x74]);
/**
 * memcached's commands of other initials that it matches before its HTTP check (and dcache answers
 * "ERROR"): a line starting with one is never taken for HTTP (measured against memcached 1.6.18).
 */
const OTHER_COMMANDS = new Set(['lru', 'lru_crawler', 'watch', 'extstore']);
const HTTP_SLASH = 'HTTP/';

/**
 * memcached's defence against cross-protocol requests (proto_text.c): a line that is not one of
 * its commands and whose last token starts with "HTTP/" — `GET / HTTP/1.1`, `POST /x HTTP/1.0`,
 * `PRI * HTTP/2.0`, a bare `HTTP/1.1` — is an HTTP request (a browser can be made to send one to 127.0.0.1 without
 * a preflight), so the connection is closed before its headers or body can run as commands.
 * `get / HTTP/1.1` is still a get, as there. Of more than 23 tokens, the 23rd is the last looked at.
 */
export function isHttpRequestLine(buf: Buffer, t: Tokens): boolean {
  if (t.count === 0 || COMMAND_INITIALS.has(buf[t.starts[0]!]!)) return false;
  const last = (t.count < MAX_TOKENS - 1 ? t.count : MAX_TOKENS - 1) - 1;
  const s = t.starts[last]!;
  if (t.ends[last]! - s < HTTP_SLASH.length) return false;
  for (let i = 0; i < HTTP_SLASH.length; i++) {
    if (buf[s + i] !== HTTP_SLASH.charCodeAt(i)) return false;
  }
  // Only now the first word as a string: just for the lines that end like an HTTP request.
  return !OTHER_COMMANDS.has(buf.toString('latin1', t.starts[0]!, t.ends[0]!));
}

function getFamily(
  session: Session,
  buf: Buffer,
  t: ReturnType<typeof tokenize>,
  cas: boolean,
  touch: boolean,
): void {
  // memcached wants the command plus at least one more token (for gat: the exptime).
  if (t.count < 2) {
    session.out.ascii('ERROR\r\n');
    return;
  }
  retrieve(session, buf, t, cas, touch);
}
