import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.js';
import { header } from '../app-env.js';
import { HttpError } from '../../errors/http-error.js';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * A check of an `Authorization` header against `token`. Both sides are hashed to 32 bytes first
 * so timingSafeEqual compares equal lengths and neither the token's content nor its length leaks
 * through timing. The node resolves it once (`NodeState.authorized`) for every door.
 */
export function bearerChecker(token: string): (authorization: string | undefined) => boolean {
  const expected = digest(token);
  return (authorization) => {
    const match = /^bearer[ \t]+(\S+)\s*$/i.exec(authorization ?? '');
    return match !== null && timingSafeEqual(digest(match[1]!), expected);
  };
}

/** Requires `authorized` (the node's one check) of the `Authorization` header on every path but `except`. */
export function bearerAuth(
  authorized: (authorization: string | undefined) => boolean,
  except: readonly string[] = [],
): MiddlewareHandler<AppEnv> {
  const matches = authorized;
  const open = new Set(except);
  return async function auth(c, next) {
    if (open.has(c.req.path)) return next();
    if (!matches(header(c, 'authorization'))) {
      throw new HttpError(
        401,
        'unauthorized',
        'a valid Authorization: Bearer <token> header is required',
        {
          headers: { 'www-authenticate': 'Bearer realm="dcache"' },
        },
      );
    }
    return next();
  };
}
