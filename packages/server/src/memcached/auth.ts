import type { MemcachedCredentials } from './auth-file.js';
import { isHttpRequestLine } from './dispatch.js';
import type { Session } from './session.js';
import { tokenize } from './tokenize.js';

const SPACE = 0x20;

/**
 * A command line from a client that has not logged in, answered as memcached 1.6 does with
 * `-Y <file>` (checked against the binary): only `set <key> <flags> <exptime> <bytes> …` is taken,
 * its data block carrying `user password`; anything else gets "CLIENT_ERROR unauthenticated" and
 * the connection stays open. Key, flags and exptime are not looked at; nothing is stored.
 * Unlike memcached, an HTTP request line is hung up on here too: otherwise the body of a
 * text/plain POST a web page makes a browser send to this port could try one password per line.
 */
export function authenticationLine(
  session: Session,
  buf: Buffer,
  start: number,
  end: number,
): void {
  const t = tokenize(buf, start, end);
  if (isHttpRequestLine(buf, t)) {
    session.hangUp();
    return;
  }
  const bytes =
    t.count >= 5 && isSet(buf, t.starts[0]!, t.ends[0]!)
      ? length(buf, t.starts[4]!, t.ends[4]!)
      : -1;
  if (bytes < 0) {
    session.out.ascii('CLIENT_ERROR unauthenticated\r\n');
    return;
  }
  if (bytes > session.shared.maxValueBytes) {
    // No password is that long: drop the block rather than hold it.
    session.swallow(bytes + 2);
    session.out.ascii('CLIENT_ERROR authentication failure\r\n');
    return;
  }
  session.expectData({ kind: 'auth' }, bytes);
}

/**
 * The login's data block (`bytes` + CRLF): `user password`, split on runs of spaces like a command
 * line, tokens past the second ignored (as memcached does). memcached tokenizes the block as a C
 * string, so a NUL ends it: `alice s3cret\0…` logs in, `alice\0s3cret` is one word. True when it
 * matches a user.
 */
export function completeAuthentication(
  session: Session,
  credentials: MemcachedCredentials,
  data: Buffer,
  bytes: number,
): boolean {
  if (data[bytes] !== 0x0d || data[bytes + 1] !== 0x0a) {
    session.out.ascii('CLIENT_ERROR bad command line termination\r\n');
    return false;
  }
  const nul = data.subarray(0, bytes).indexOf(0);
  const end = nul === -1 ? bytes : nul;
  const words: Buffer[] = [];
  let i = 0;
  while (i < end && words.length < 2) {
    while (i < end && data[i] === SPACE) i++;
    const from = i;
    while (i < end && data[i] !== SPACE) i++;
    if (i > from) words.push(data.subarray(from, i));
  }
  if (words.length < 2) {
    session.out.ascii('CLIENT_ERROR bad authentication token format\r\n');
    return false;
  }
  if (!credentials.check(words[0]!, words[1]!)) {
    session.out.ascii('CLIENT_ERROR authentication failure\r\n');
    return false;
  }
  session.out.ascii('STORED\r\n');
  return true;
}

function isSet(buf: Buffer, start: number, end: number): boolean {
  return (
    end - start === 3 && buf[start] === 0x73 && buf[start + 1] === 0x65 && buf[start + 2] === 0x74
  );
}

/** A data length: decimal digits only, below 2^31 (memcached's safe_strtol); -1 otherwise. */
function length(buf: Buffer, start: number, end: number): number {
  if (end - start > 10) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n < 2 ** 31 ? n : -1;
}
