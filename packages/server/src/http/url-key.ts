import { HttpError } from '../errors/http-error.js';

/** Longest part of a refused segment a message repeats. */
const SHOWN_CHARS = 64;

/**
 * The key in a `/v1/keys/<key>` URL (with or without `/touch`, `/incr`, `/decr`, a query, an
 * origin): its third path segment, percent-decoded once and strictly. The one decoding of keys in
 * URLs, used by the key routes and the GET fast path alike, so `%25ff` is always the key `%ff`
 * and `%ff` — not UTF-8 once decoded — is a 400 `bad_key`, never a key kept literally (which
 * hono's lenient decoding does, making the two URLs reach the same entry).
 */
export function keyOfUrl(url: string): string {
  const pathStart = url.startsWith('/') ? 0 : url.indexOf('/', url.indexOf('//') + 2);
  let from = pathStart;
  for (let slashes = 0; slashes < 3; slashes++) from = url.indexOf('/', from) + 1;
  let end = from;
  while (end < url.length) {
    const c = url.charCodeAt(end);
    if (c === 0x2f || c === 0x3f || c === 0x23) break; // '/', '?', '#'
    end++;
  }
  const segment = url.slice(from, end);
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch (error) {
    const shown = segment.length > SHOWN_CHARS ? `${segment.slice(0, SHOWN_CHARS)}…` : segment;
    throw new HttpError(
      400,
      'bad_key',
      `the key in the URL is not valid percent-encoded UTF-8: ${shown}`,
      { cause: error },
    );
  }
}
