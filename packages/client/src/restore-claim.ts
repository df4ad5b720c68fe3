// Who restores a returned node (docs/design/never-stale.md §7): one client of many, on a lease
// the node grants (`POST /v1/restore-claim?claimant=`). The claimer renews it while it copies and
// ends it when done; a claimer that crashes lets it lapse, and one that closes mid-restore releases
// it, so that another client, watching the claim, takes the restore over.
import type { Cluster } from './cluster.js';
import { isNodeRequestError } from './errors/node-request-error.js';
import type { NodeClient } from './node-client.js';

/** Waits before each further try of a claim request that failed for a passing reason. */
const RETRY_DELAYS_MS: readonly number[] = [250, 1000, 4000];
/** A node older than leases names none: its claims hold for good, and nothing is renewed. */
const NO_LEASE = 0;
/** Renewals go at a third of the lease, within these bounds whatever a node names. */
const MIN_RENEWAL_MS = 100;
const MAX_RENEWAL_MS = 20 * 60_000;
/**
 * A watcher asks again at least this often, whatever the lease left: a holder that stops early
 * releases its claim, and the restore should not wait out the rest of that lease.
 */
const WATCH_INTERVAL_MS = 5000;
/**
 * Rounds of a watch whose claims go unanswered (each the claim's tries and then a wait) before it
 * gives up, about a minute: a node whose claim route keeps failing is restored, if at all, on its
 * next return.
 */
const MAX_UNANSWERED_ROUNDS = 6;
/** Spreads the watchers of one claim, so they do not all ask at the same moment. */
const WATCH_JITTER_MS = 500;

/**
 * What a claim got. 'taken': another client holds it (`retryAfterMs`: until its lease lapses if it
 * is not renewed); 'restored': another client finished it; 'unanswered': every try failed for a
 * passing reason (a timeout, a lost connection, a 5xx, 408 or 429) while the node stayed up and a
 * member; 'failed': refused otherwise (an older node without the route, a bad token), the node
 * went down or left, or the client is closing.
 */
export type ClaimOutcome =
  | { kind: 'claimed'; lease: ClaimLease }
  | { kind: 'taken'; retryAfterMs: number }
  | { kind: 'restored' }
  | { kind: 'unanswered'; retryAfterMs: number }
  | { kind: 'failed' };

/** A failure that says nothing of the claim: a timeout, a lost connection, a 5xx, 408 or 429. */
function passing(error: unknown): boolean {
  // A 4xx is the node's answer to this request, except a timeout or a rate limit (a proxy's).
  return (
    isNodeRequestError(error) && (!error.refused || error.status === 408 || error.status === 429)
  );
}

/** A held claim, renewed in the background at a third of its lease until it ends. */
export class ClaimLease {
  readonly #cluster: Cluster;
  readonly #node: NodeClient;
  readonly #path: string;
  readonly #renewal: NodeJS.Timeout | undefined;
  #renewing = false;
  #lost = false;
  #ended = false;

  constructor(cluster: Cluster, node: NodeClient, path: string, leaseMs: number) {
    this.#cluster = cluster;
    this.#node = node;
    this.#path = path;
    if (leaseMs === NO_LEASE) return;
    const every = Math.min(Math.max(Math.floor(leaseMs / 3), MIN_RENEWAL_MS), MAX_RENEWAL_MS);
    this.#renewal = setInterval(() => void this.#renew(), every);
    this.#renewal.unref();
  }

  /**
   * The node no longer holds this claim for this client: its lease lapsed (a long pause) and
   * another client took it, it was ended, or the node restarted since (a claim of its own).
   */
  get lost(): boolean {
    return this.#lost;
  }

  /**
   * Ends the claim: 'done' once the restore went through, 'released' when it stopped early, for
   * another client to take it over without waiting for the lease. Never rejects: a claim whose end
   * was not heard lapses with its lease.
   */
  async end(how: 'done' | 'released'): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    clearInterval(this.#renewal);
    if (this.#lost || this.#renewal === undefined) return;
    await askWithRetries(this.#cluster, this.#node, `${this.#path}&end=${how}`).catch(
      () => undefined,
    );
  }

  async #renew(): Promise<void> {
    if (this.#renewing || this.#ended) return;
    this.#renewing = true;
    try {
      // A renewal, never a claim: one that reached the node after a restart must not take the
      // new start's claim for the pages of the old start's restore that are left.
      await this.#cluster.transport.post(this.#node.url, `${this.#path}&renew=1`);
    } catch (error) {
      // A passing failure is tried again at the next tick, well inside the lease.
      if (isNodeRequestError(error) && error.status === 409) {
        this.#lost = true;
        clearInterval(this.#renewal);
      }
    } finally {
      this.#renewing = false;
    }
  }
}

/**
 * Asks `path` of `node`, again after each retry delay while it times out, loses its connection or
 * meets a 5xx, 408 or 429: a claim the node recorded while its answer was lost is then answered 204
 * again, as the same claimant's. Rejects with the last error; resolves to the answer's headers.
 */
async function askWithRetries(cluster: Cluster, node: NodeClient, path: string): Promise<Headers> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await cluster.transport.post(node.url, path);
    } catch (error) {
      const delay = RETRY_DELAYS_MS[attempt];
      // While closing, nothing is asked twice: a claim then would copy nothing, and an end not
      // heard lapses with its lease rather than hold close() up.
      if (!passing(error) || delay === undefined || cluster.closing) throw error;
      await cluster.waitUnlessClosing(delay);
      // A node seen down or removed since is restored, if at all, on its next return.
      if (!node.up || !cluster.isMember(node) || cluster.closing) throw error;
    }
  }
}

/** Claims the restore of `node` under `claimant` (a token of the restore's own). */
export async function claimRestore(
  cluster: Cluster,
  node: NodeClient,
  claimant: string,
): Promise<ClaimOutcome> {
  if (cluster.closing) return { kind: 'failed' };
  const path = `/v1/restore-claim?claimant=${claimant}`;
  try {
    const headers = await askWithRetries(cluster, node, path);
    const lease = Number(headers.get('dcache-claim-lease') ?? NO_LEASE);
    const leaseMs = Number.isSafeInteger(lease) && lease > 0 ? lease : NO_LEASE;
    return { kind: 'claimed', lease: new ClaimLease(cluster, node, path, leaseMs) };
  } catch (error) {
    if (passing(error)) {
      const stillThere = !cluster.closing && node.up && cluster.isMember(node);
      if (!stillThere) return { kind: 'failed' };
      const retryAfter = isNodeRequestError(error) ? error.retryAfter : undefined;
      return { kind: 'unanswered', retryAfterMs: (retryAfter ?? 0) * 1000 };
    }
    if (!isNodeRequestError(error) || error.status !== 409) return { kind: 'failed' };
    // A node older than leases answers `already_claimed` with no Retry-After: held for good.
    if (error.code !== 'already_claimed' || error.retryAfter === undefined) {
      return { kind: 'restored' };
    }
    return { kind: 'taken', retryAfterMs: error.retryAfter * 1000 };
  }
}

/** The node start each node's watcher watches, so that a client keeps one watcher per start. */
const watched = new WeakMap<NodeClient, string | undefined>();

/**
 * Another client holds the restore of `node`: asks again once its lease would lapse (or after
 * `WATCH_INTERVAL_MS`, if sooner), and again while it is renewed, and runs `restore` under the
 * claim if the holder went quiet (crashed) or released it. Also for a claim that went unanswered:
 * asked again `WATCH_INTERVAL_MS` (or its `Retry-After`) after the last try, for at most
 * `MAX_UNANSWERED_ROUNDS` rounds in a row. Ends once the claim is refused otherwise
 * (`already_restored`, or a refusal), the node restarted again (a return of its own), went down or
 * left, or this client closes. Never rejects.
 */
export async function watchClaim(
  cluster: Cluster,
  node: NodeClient,
  claimant: string,
  first: Extract<ClaimOutcome, { kind: 'taken' | 'unanswered' }>,
  restore: (lease: ClaimLease) => Promise<void>,
): Promise<void> {
  let start = cluster.lastStartOf(node.url);
  if (watched.has(node) && watched.get(node) === start) return;
  watched.set(node, start);
  try {
    let wait = waitAfter(first);
    let unanswered = first.kind === 'unanswered' ? 1 : 0;
    for (;;) {
      await cluster.waitUnlessClosing(wait + Math.random() * WATCH_JITTER_MS);
      if (cluster.closing || !node.up || !cluster.isMember(node)) return;
      // A node this client had no batch answer from yet names its start now: the one watched.
      const current = cluster.lastStartOf(node.url);
      if (start === undefined && current !== undefined) watched.set(node, (start = current));
      if (current !== start) return;
      const claim = await claimRestore(cluster, node, claimant);
      if (claim.kind === 'claimed') {
        await restore(claim.lease);
        return;
      }
      if (claim.kind === 'unanswered') {
        if (++unanswered >= MAX_UNANSWERED_ROUNDS) return;
      } else if (claim.kind === 'taken') {
        unanswered = 0;
      } else {
        return;
      }
      wait = waitAfter(claim);
    }
  } finally {
    if (watched.get(node) === start) watched.delete(node);
  }
}

/**
 * How long a watcher waits before it asks again: a held claim until its lease would lapse, but at
 * most `WATCH_INTERVAL_MS`; an unanswered one at least that, longer when the last answer asked
 * for it (a 503's or 429's `Retry-After`).
 */
function waitAfter(claim: Extract<ClaimOutcome, { kind: 'taken' | 'unanswered' }>): number {
  return claim.kind === 'taken'
    ? Math.min(claim.retryAfterMs, WATCH_INTERVAL_MS)
    : Math.max(claim.retryAfterMs, WATCH_INTERVAL_MS);
}
