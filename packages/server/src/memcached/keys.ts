/**
 * Request key bytes → cache key strings. The HTTP API addresses keys as UTF-8 strings, so the
 * memcached door decodes key bytes as UTF-8 and both doors see one key space. memcached itself
 * accepts any byte but space; we also refuse control characters and invalid UTF-8 (the issue's
 * contract, and the HTTP side could not address such keys) with memcached's own error line.
 */
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Returns the key string, or undefined when the bytes are not an acceptable key. */
export function decodeKey(buf: Buffer, start: number, end: number): string | undefined {
  let ascii = true;
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b <= 0x20 || b === 0x7f) return undefined;
    if (b >= 0x80) ascii = false;
  }
  if (ascii) return buf.toString('latin1', start, end);
  try {
    return utf8.decode(buf.subarray(start, end));
  } catch {
    return undefined;
  }
}

/** Decodes a meta `b` (base64) key; binary keys may hold any byte but must be valid UTF-8. */
export function decodeBase64Key(buf: Buffer, start: number, end: number): string | undefined {
  const text = buf.toString('latin1', start, end);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length === 0) return undefined;
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}
