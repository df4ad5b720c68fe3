import type { NodeState } from '../app-env.js';
import { CONTENT_TYPES, encodingOfFlags } from '../codec/encoding.js';
import { keyOfUrl } from '../url-key.js';
import { validateKey } from '../../operations/validate.js';
import type { FastPath } from './batch-fast-path.js';
import { KEY_NOT_FOUND } from '../responses.js';
import { acceptedHost } from '../accepted-host.js';
import { valueData } from '../../operations/stored-value.js';

const PREFIX = '/v1/keys/';

/**
 * A key segment that hono and @hono/node-server's URL parsing leave as is, apart from
 * percent-decoding: unreserved and sub-delimiter characters, ':' '@' and complete %XX escapes.
 * Anything else ('?', '/', spaces, non-ASCII, a bare '%') goes to hono.
 */
const SIMPLE_SEGMENT = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})+$/;

/** The Accept values the hono route serves without negotiation for a value stored as each type. */
const SERVED_AS_IS = new Set(Object.values(CONTENT_TYPES));

/**
 * The key of a `GET /v1/keys/:key` URL as the hono route sees it (url-key.ts, the one decoding),
 * or undefined when the URL is not one the fast path takes: the WHATWG URL parser would turn
 * '.'/'..' (also as %2e) segments into another path, and a key the route refuses gets its 400 there.
 */
function keyOfFastUrl(url: string, maxKeyBytes: number): string | undefined {
  if (!url.startsWith(PREFIX)) return undefined;
  if (!SIMPLE_SEGMENT.test(url.slice(PREFIX.length))) return undefined;
  try {
    const key = keyOfUrl(url);
    return key === '.' || key === '..' ? undefined : validateKey(key, maxKeyBytes);
  } catch {
    return undefined; // the hono route answers 400
  }
}

/**
 * `GET /v1/keys/:key` straight on Node's request and response, the GET benchmark's case: it skips
 * hono's routing and the web `Request` @hono/node-server builds per request. It takes only a
 * present key whose URL needs no more than percent-decoding, with the token when one is set, a
 * Host the adapter accepts, no If-Match or If-None-Match, and an Accept the stored type satisfies
 * as is (absent, `*∕*` or that type: the hono route's own no-negotiation case). The key is looked
 * up with `peekEntry` first, so a request handed to hono (a miss, a conversion) has not touched
 * the hit/miss counters or the LRU order; a taken one then counts its hit through `getEntry`, and
 * its `get` request and latency like the route's `timed` wrapper. The answer is the route's: same
 * status, headers and body.
 */
export function getFastPath(node: NodeState): FastPath {
  const { replicas, metrics, options, bodyBudget } = node;
  const { authorized, hosts } = node;
  const hostAccepted = acceptedHost();

  return function getFast(req, res) {
    if (req.method !== 'GET' || bodyBudget.refuses(req.socket)) return false; // hono answers the 503
    const url = req.url;
    if (url === undefined) return false;
    const key = keyOfFastUrl(url, options.maxKeyBytes);
    if (key === undefined) return false;
    const headers = req.headers;
    if (!authorized(headers.authorization)) return false;
    if (!hostAccepted(headers.host) || !hosts.serves(headers.host)) return false;
    const accept = headers.accept;
    if (accept !== undefined && accept !== '*/*' && !SERVED_AS_IS.has(accept)) return false;
    // A conditional read (304, 412) is the route's.
    if (headers['if-none-match'] !== undefined || headers['if-match'] !== undefined) return false;
    const peeked = replicas.peekEntry(key);
    if (peeked === undefined) return false;
    const type = CONTENT_TYPES[encodingOfFlags(peeked.value.flags)];
    if (accept !== undefined && accept !== '*/*' && accept !== type) return false;

    const start = performance.now();
    metrics.start();
    const entry = replicas.getEntry(key);
    if (entry === undefined) {
      // Expired between the two lookups (the clock moved): the route's 404, counted as its miss.
      metrics.record('get', performance.now() - start);
      res.writeHead(404, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(KEY_NOT_FOUND),
      });
      res.end(KEY_NOT_FOUND);
      return true;
    }
    const { flags } = entry.value;
    // The bytes as held (a one-byte string for most values: written as latin1, one byte each).
    const body = valueData(entry.value);
    const out: Record<string, string | number> = {
      'content-type': type,
      etag: `"${entry.version}"`,
      'dcache-flags': `${flags}`,
      vary: 'accept',
    };
    if (entry.ttl !== undefined) out['dcache-ttl'] = `${entry.ttl}`;
    out['content-length'] = body.length;
    metrics.record('get', performance.now() - start);
    res.writeHead(200, out);
    res.end(body, 'latin1');
    bodyBudget.holdUnflushed(res);
    return true;
  };
}
