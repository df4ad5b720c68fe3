import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.js';
import { header } from '../app-env.js';
import { HttpError } from '../../errors/http-error.js';

/** Methods a web page can send another origin without a CORS preflight, that change nothing. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses a change (any method but GET, HEAD and OPTIONS, and a get-and-touch: a GET or HEAD with
 * `?ttl=`) sent by a web browser: one carrying `Origin`, or `Sec-Fetch-Site` other than `none`
 * (typed in the address bar). A page on any site may POST to a node it can name —
 * `http://127.0.0.1:8001/v1/flush` with a `text/plain` body needs no CORS preflight — and a node
 * without a token would act on it (flush, fence, incr, save a snapshot); an `<img>` of
 * `/v1/keys/k?ttl=1` would expire the key. Nodes serve programs, which send neither header
 * (Node's fetch, undici, curl). A page reading an answer, or sending PUT, DELETE or a msgpack or
 * JSON body, needs CORS headers a node never sends: the browser stops it without this.
 */
export function refuseBrowserChanges(): MiddlewareHandler<AppEnv> {
  return async function browserGuard(c, next) {
    const site = header(c, 'sec-fetch-site');
    if (header(c, 'origin') === undefined && (site === undefined || site === 'none')) return next();
    // The query is looked at only for a browser's request: a program's GET pays nothing here.
    if (SAFE_METHODS.has(c.req.method) && c.req.query('ttl') === undefined) return next();
    throw new HttpError(
      403,
      'browser_refused',
      'a change sent by a web page (an Origin or Sec-Fetch-Site header) is refused: nodes take changes from programs, not browsers',
    );
  };
}
