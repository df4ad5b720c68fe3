import { Hono } from 'hono';
import type { AppEnv, NodeState } from '../app-env.js';
import { HttpError } from '../../errors/http-error.js';
import { timed } from '../middleware/timed.js';
import { stampOf } from '../../replication/replica-order.js';
import type { ClaimEnd } from '../../replication/restore-claim.js';

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

/** How a claimer ends its restore claim (`end=`): undefined when it claims or renews. */
function endParam(raw: string | undefined): ClaimEnd | undefined {
  if (raw === undefined || raw === 'done' || raw === 'released') return raw;
  throw new HttpError(
    400,
    'bad_end',
    `end must be done or released, got ${JSON.stringify(raw.slice(0, 80))}`,
  );
}

/** `renew=1`: the holder renews its lease (it never gets a claim it does not hold). */
function renewParam(raw: string | undefined): boolean {
  if (raw === undefined) return false;
  if (raw === '1') return true;
  throw new HttpError(400, 'bad_renew', `renew must be 1, got ${JSON.stringify(raw.slice(0, 80))}`);
}

/** 204 to the holder, naming its lease; none for a claim without a claimant, held for good. */
function leaseGranted(leaseMs: number | undefined): Response {
  if (leaseMs === undefined) return new Response(null, { status: 204 });
  return new Response(null, { status: 204, headers: { 'dcache-claim-lease': String(leaseMs) } });
}

/** The claimant a renewal or an end names: it needs one. */
function holding(claimant: string | undefined): string {
  if (claimant !== undefined) return claimant;
  throw new HttpError(400, 'bad_claimant', 'renewing or ending a claim needs its claimant');
}

function restored(): HttpError {
  return new HttpError(409, 'already_restored', 'another client restored this node already');
}

function notClaimant(): HttpError {
  return new HttpError(409, 'not_claimant', 'this claimant does not hold the restore claim');
}

/**
 * `GET /v1/keys?cursor=&limit=`: the node's keys in pages, for a client restoring a returned
 * node's share (never-stale.md §7): `{ keys: [[key, stamp, ttlMs or null, tombstone, unverified]],
 * cursor }`, `cursor` null once done. `unverified`: this node does not vouch for the entry (written
 * before its fence), so a restoring client must not have another replica vouch for it either.
 * Pages come from the core's slot scan, so a key present for the whole listing is listed exactly
 * once; each page is bounded (`limit` ≤ 10000), so a listing never makes the node build a response
 * the size of its cache.
 *
 * `POST /v1/restore-claim?claimant=<token>[&renew=1|&end=done|released]`: one client at a time
 * copies this node start's share back to it, on a lease (`restoreClaimLease`, in
 * `Dcache-Claim-Lease`) that it renews (`renew=1`) and ends when it has finished (`done`) or stops
 * early (`released`). Another claimant gets 409 `already_claimed` with `Retry-After` while the
 * lease holds, and `already_restored` once it is done; a renewal or end by a claimant not holding
 * it, 409 `not_claimant`. A claim without a claimant, granted, holds the start for good.
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
        !node.replicas.isVerified(entry),
      ]);
      return Response.json({ keys, cursor: page.next ?? null });
    }),
  );
  app.post(
    '/restore-claim',
    timed(node, 'claim', (c) => {
      const claimant = claimantParam(c.req.query('claimant'));
      const end = endParam(c.req.query('end'));
      const renew = renewParam(c.req.query('renew'));
      if (end !== undefined && renew) {
        throw new HttpError(400, 'bad_end', 'a claim is either renewed or ended, not both');
      }
      if (end !== undefined) {
        if (!node.restoreClaim.end(holding(claimant), end)) throw notClaimant();
        return new Response(null, { status: 204 });
      }
      if (renew) {
        const renewed = node.restoreClaim.renew(holding(claimant));
        if (!renewed.granted) throw renewed.reason === 'restored' ? restored() : notClaimant();
        return leaseGranted(renewed.leaseMs);
      }
      const answer = node.restoreClaim.claim(claimant);
      if (answer.granted) return leaseGranted(answer.leaseMs);
      if (answer.reason === 'restored') throw restored();
      throw new HttpError(409, 'already_claimed', 'another client is restoring this node', {
        headers: { 'retry-after': String(Math.max(1, Math.ceil(answer.retryAfterMs / 1000))) },
      });
    }),
  );
  return app;
}
