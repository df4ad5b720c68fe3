import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.js';
import { header } from '../app-env.js';
import type { ServedHosts } from '../served-hosts.js';
import { HttpError } from '../../errors/http-error.js';

/**
 * Refuses, 403 `host_refused`, a request whose `Host` names something the node does not answer
 * as (served-hosts.ts): a page's own name re-pointed at the node by DNS rebinding. Reads too — a
 * rebound page is the node's same origin, so it reads the answers, which CORS otherwise stops.
 */
export function refuseForeignHosts(hosts: ServedHosts): MiddlewareHandler<AppEnv> {
  return async function hostGuard(c, next) {
    const host = header(c, 'host');
    if (!hosts.serves(host)) throw refused(hosts, host!);
    // An absolute-form target (`GET http://name/… HTTP/1.1`, as sent to a proxy) names the host
    // the request is for, with or without a Host (RFC 9112 §3.2.2): the adapter takes it so, and
    // without a Host it would otherwise pass unchecked. Only then is the URL parsed again.
    const target = c.env?.incoming?.url;
    if (target !== undefined && target[0] !== '/') {
      const named = new URL(c.req.url).host;
      if (!hosts.serves(named)) throw refused(hosts, named);
    }
    return next();
  };
}

function refused(hosts: ServedHosts, host: string): HttpError {
  return new HttpError(403, 'host_refused', hosts.refusal(host));
}
