import { Hono } from 'hono';
import type { AppEnv, NodeState } from '../app-env.js';
import { HttpError } from '../../errors/http-error.js';
import { timed } from '../middleware/timed.js';
import { stampOf } from '../../replication/replica-order.js';

/** Rows per page when `limit` is not given, and the most one page may hold. */
export const DEFAULT_LIST_LIMIT = 1000;
export const MAX_LIST_LIMIT = 10_000;

function wholeParam(name: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
  if (!(value <= max)) {
    throw new HttpError(
      400,
      `bad_${name}`,
      `${name} must be a whole number up to ${max}, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

/** A restore claimant: the token a client names its claim by, so that it can ask again. */
function claimantParam(raw: string | undefined): string | undefined {
  if (raw === undefined || /^[A-Za-z0-9_-]{1,64}$/.test(raw)) return raw;
  throw new HttpError(
    400,
    'bad_claimant',
    `claimant must be 1 to 64 letters, digits, '-' or '_', got ${JSON.stringify(raw.slice(0, 80))}`,
  );
}

/**
 * `GET /v1/keys?cursor=&limit=`: the node's keys in pages, for a client restoring a returned
 * node's share (never-stale.md §7): `{ keys: [[key, stamp, ttlMs or null, tombstone]], cursor }`,
 * `cursor` null once done. Pages come from the core's slot scan, so a key present for the whole
 * listing is listed exactly once; each page is bounded (`limit` ≤ 10000), so a listing never makes
 * the node build a response the size of its cache.
 *
 * `POST /v1/restore-claim[?claimant=<token>]`: 204 to the first caller since this node started,
 * 409 after, so one client of many copies the node's share back to it. A caller that named a
 * claimant gets 204 again for that claimant: a client whose claim timed out may ask again without
 * losing a claim the node did record.
 */
export function listingRoutes(node: NodeState): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get(
    '/keys',
    timed(node, 'list', (c) => {
      const cursor = wholeParam('cursor', c.req.query('cursor'), 0, Number.MAX_SAFE_INTEGER);
      const limit = wholeParam('limit', c.req.query('limit'), DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT);
      if (limit === 0) throw new HttpError(400, 'bad_limit', 'limit must be at least 1');
      const page = node.replicas.scan(cursor, limit);
      const keys = page.entries.map(([key, entry]) => [
        key,
        stampOf(entry.value),
        entry.ttl ?? null,
        entry.value.tombstone === true,
      ]);
      return Response.json({ keys, cursor: page.next ?? null });
    }),
  );
  app.post(
    '/restore-claim',
    timed(node, 'claim', (c) => {
      if (!node.claimRestore(claimantParam(c.req.query('claimant')))) {
        throw new HttpError(
          409,
          'already_claimed',
          'another client is restoring this node already',
        );
      }
      return new Response(null, { status: 204 });
    }),
  );
  return app;
}
