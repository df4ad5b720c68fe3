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
    if (hosts.serves(host)) return next();
    throw new HttpError(403, 'host_refused', hosts.refusal(host!));
  };
}
