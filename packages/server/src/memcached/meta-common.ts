import { decodeKey, keyEchoFor } from './keys.js';
import { MAX_META_TOKENS, MAX_OPAQUE_LENGTH, parseMetaFlags } from './meta-flags.js';
import type { MetaFlags } from './meta-flags.js';
import type { ReplyMark } from './reply-writer.js';
import type { Session } from './session.js';
import { memcachedTokenCount } from './tokenize.js';
import type { Tokens } from './tokenize.js';

export const BAD_FORMAT = 'CLIENT_ERROR bad command line format';

/** A parsed meta command line: the flags, the cache key and how to echo the key back (`k`). */
export interface MetaRequest {
  flags: MetaFlags;
  key: string;
  /** The key as `k` returns it (raw bytes as latin1 text, or base64 followed by " b"). */
  keyEcho: string;
  /** Index after the last flag token. */
  last: number;
}

export interface MetaLimits {
  /** First flag token (2, or 3 for ms which has a data length first). */
  first: number;
  /** Message for more than memcached's 20 tokens. */
  tooManyFlags: string;
  /** Message for any flag error, or undefined to report the parser's own message. */
  flagError: string | undefined;
}

/** md and ma answer flag problems with the same strings (memcached's proto_text.c). */
export const MUTATION_META_LIMITS: MetaLimits = {
  first: 2,
  tooManyFlags: 'CLIENT_ERROR options flags too long',
  flagError: 'CLIENT_ERROR invalid or duplicate flag',
};

/**
 * Steps every meta command shares, in memcached's order: argument count, key length, token
 * count, flags. Writes the error reply itself and returns undefined on failure.
 */
export function parseMetaRequest(
  session: Session,
  buf: Buffer,
  t: Tokens,
  limits: MetaLimits,
): MetaRequest | undefined {
  const out = session.out;
  const ntokens = memcachedTokenCount(t);
  if (ntokens < 3) {
    out.ascii('ERROR\r\n');
    return undefined;
  }
  const keyStart = t.starts[1]!;
  const keyEnd = t.ends[1]!;
  if (keyEnd - keyStart > session.shared.maxKeyBytes) {
    out.ascii(BAD_FORMAT).crlf();
    return undefined;
  }
  if (ntokens > MAX_META_TOKENS) {
    out.ascii(limits.tooManyFlags).crlf();
    return undefined;
  }
  const last = ntokens - 1;
  const flags = parseMetaFlags(buf, t, limits.first, last);
  if (flags.error !== undefined) {
    out.ascii(limits.flagError ?? flags.error).crlf();
    return undefined;
  }
  return finishRequest(buf, t, flags, last);
}

/** The request's key and its `k` echo, once the flags are known (`b` means base64). */
export function finishRequest(buf: Buffer, t: Tokens, flags: MetaFlags, last: number): MetaRequest {
  const keyStart = t.starts[1]!;
  const keyEnd = t.ends[1]!;
  if (flags.base64Key !== undefined) {
    return { flags, key: flags.base64Key, keyEcho: keyEchoFor(flags.base64Key, true), last };
  }
  const key = decodeKey(buf, keyStart, keyEnd);
  return { flags, key, keyEcho: buf.toString('latin1', keyStart, keyEnd), last };
}

/** First opaque token longer than memcached allows, if any (checked before side effects). */
export function opaqueTooLong(buf: Buffer, t: Tokens, first: number, last: number): boolean {
  for (let i = first; i < last; i++) {
    if (buf[t.starts[i]!] === 0x4f && t.ends[i]! - t.starts[i]! > MAX_OPAQUE_LENGTH) return true;
  }
  return false;
}

export const OPAQUE_TOO_LONG = 'CLIENT_ERROR opaque token too long';

/**
 * Appends an `O` flag's token to the reply begun at `mark`. An over-long one replaces the whole
 * reply with {@link OPAQUE_TOO_LONG} instead, after applying the TTL change the request already
 * made (`newTtlMs`), as memcached does; returns false then, and the caller stops.
 */
export function appendOpaque(
  session: Session,
  buf: Buffer,
  start: number,
  end: number,
  mark: ReplyMark,
  key: string,
  newTtlMs: number | undefined,
): boolean {
  const out = session.out;
  if (end - start > MAX_OPAQUE_LENGTH) {
    if (newTtlMs !== undefined) session.shared.store.touch(key, newTtlMs);
    out.rollback(mark);
    out.ascii(OPAQUE_TOO_LONG).crlf();
    return false;
  }
  out.ascii(' ').bytes(buf, start, end);
  return true;
}

/** Appends the O (verbatim) and k flags of the request, in request order. */
export function echoOpaqueAndKey(
  session: Session,
  buf: Buffer,
  t: Tokens,
  req: MetaRequest,
  first: number,
): void {
  const out = session.out;
  for (let i = first; i < req.last; i++) {
    const s = t.starts[i]!;
    const c = buf[s];
    if (c === 0x4f) out.ascii(' ').bytes(buf, s, t.ends[i]!);
    else if (c === 0x6b) out.ascii(' k').ascii(req.keyEcho);
  }
}
