/**
 * memcached keys are bytes; cache keys are strings. Valid UTF-8 key bytes decode to the same
 * string the HTTP API uses for that key, so both doors share one key space. Any other byte
 * sequence (memaslap, for one, puts 8 binary bytes in front of its keys) maps to a string that
 * starts with a lone surrogate — something decoding valid UTF-8 never produces — followed by the
 * bytes as latin1, so it can never collide with a UTF-8 key and maps back to the same bytes.
 *
 * Like memcached, every byte but space (the separator) and NUL (ends the line) may be part of a
 * key, control characters included.
 */
const BINARY_PREFIX = '\udc00';

/**
 * Whether `buf[start, end)` is well-formed UTF-8 (no overlongs, no surrogates, ≤ U+10FFFF).
 * Checked in place: keys are short, and this runs for every non-ASCII key on the hot path.
 */
function isUtf8Range(buf: Buffer, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    const b = buf[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need = 3;
    let min = 0x10000;
    let cp = b & 0x07;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
      cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
      cp = b & 0x0f;
    } else if (b < 0xf0 || b > 0xf4) {
      return false;
    }
    if (i + need >= end) return false;
    for (let j = 1; j <= need; j++) {
      const c = buf[i + j]!;
      if ((c & 0xc0) !== 0x80) return false;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += need + 1;
  }
  return true;
}

/** The cache key for the key token at `buf[start, end)`. */
export function decodeKey(buf: Buffer, start: number, end: number): string {
  for (let i = start; i < end; i++) {
    if (buf[i]! >= 0x80) {
      return isUtf8Range(buf, start, end)
        ? buf.toString('utf8', start, end)
        : BINARY_PREFIX + buf.toString('latin1', start, end);
    }
  }
  return buf.toString('latin1', start, end);
}

/** The bytes of a cache key as memcached clients see them (inverse of {@link decodeKey}). */
export function keyBytes(key: string): Buffer {
  if (key.startsWith(BINARY_PREFIX)) return Buffer.from(key.slice(1), 'latin1');
  return Buffer.from(key, 'utf8');
}

/** How meta `k` shows a key: its bytes (as latin1 text), or base64 followed by " b". */
export function keyEchoFor(key: string, binary: boolean): string {
  const bytes = keyBytes(key);
  return binary ? `${bytes.toString('base64')} b` : bytes.toString('latin1');
}

/**
 * Whether a key holds a byte that cannot stand raw in a reply line as memcached clients read it:
 * space, CR/LF and other control bytes, DEL, anything beyond ASCII (and every binary key).
 * Keys like that are echoed base64-encoded (meta `k` with ` b`) unless the item was written with
 * exactly those bytes on a text line, where memcached echoes them raw.
 */
export function keyNeedsBase64(key: string): boolean {
  return NOT_PLAIN.test(key);
}
const NOT_PLAIN = /[^\x21-\x7e]/;

/** Whether a key, echoed raw, would split or end a reply line: space, CR, LF or NUL. */
export function keyBreaksLine(key: string): boolean {
  return BREAKS_LINE.test(key);
}
const BREAKS_LINE = /[ \r\n\0]/;

/** Decodes a meta `b` (base64) key; undefined when it is not base64 or decodes to nothing. */
export function decodeBase64Key(buf: Buffer, start: number, end: number): string | undefined {
  const text = buf.toString('latin1', start, end);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length === 0) return undefined;
  return decodeKey(bytes, 0, bytes.length);
}
