// Replication restored (docs/design/never-stale.md §7): after a node returns, or leaves, each key
// gets back to `replicas` copies without waiting for its next set. Only clients know the ring, so
// a client does it: it pages through other nodes' key listings and copies (newest wins) what a
// replica lacks, one page at a time and at most `restoreRate` keys a second.
import { isStamp } from '@dcache/core';
import type { HashRing } from '@dcache/ring';
import type { Cluster } from './cluster.js';
import { isNodeRequestError } from './errors/node-request-error.js';
import type { NodeClient } from './node-client.js';
import { claimRestore, watchClaim } from './restore-claim.js';
import type { ClaimLease } from './restore-claim.js';
import type { BatchResult } from './wire.js';
import { getPastFullAnswers } from './verify.js';

/** Keys per listing page (`GET /v1/keys?limit=`). */
export const RESTORE_PAGE = 1000;
/**
 * Waits before each further listing of a source whose listing failed (a timeout, a pause, a lost
 * connection), once the other sources are listed: a restore that skipped it would leave the node
 * without the keys only that source holds besides it.
 */
export const LISTING_RETRY_DELAYS_MS: readonly number[] = [250, 1000, 4000];

/** One row of a node's key listing. */
export interface ListedKey {
  key: string;
  stamp: number;
  tombstone: boolean;
  /** The listing node vouches for the entry (a node that does not say, older than that, does not). */
  verified: boolean;
}

/** A page of `GET /v1/keys`: `{ keys: [[key, stamp, ttl, tombstone, unverified], …], cursor }`. */
export function parseKeyPage(body: unknown): { rows: ListedKey[]; cursor: string | undefined } {
  if (typeof body !== 'object' || body === null)
    throw new TypeError('key listing is not an object');
  const { keys, cursor } = body as { keys?: unknown; cursor?: unknown };
  if (!Array.isArray(keys)) throw new TypeError('key listing has no keys array');
  const rows: ListedKey[] = [];
  for (const row of keys) {
    if (!Array.isArray(row) || typeof row[0] !== 'string' || !isStamp(row[1])) continue;
    // A key written through a node's memcached port as bytes that are not UTF-8 is held under a
    // lone surrogate (server MEMCACHED.md, "Keys"). It is that port's own and has no UTF-8 form:
    // copied, it would land on the target as another key, with U+FFFD in place of the surrogate.
    if (!(row[0] as unknown as { isWellFormed(): boolean }).isWellFormed()) continue;
    rows.push({
      key: row[0],
      stamp: row[1],
      tombstone: row[3] === true,
      verified: row[4] === false,
    });
  }
  const next =
    typeof cursor === 'string' && cursor !== ''
      ? cursor
      : isStamp(cursor)
        ? String(cursor)
        : undefined;
  return { rows, cursor: next };
}

/**
 * When the keys this client's restores went through so far are due at its `restoreRate`: one
 * pace for all of them. Restores run at once — nodes added or removed together, two nodes back
 * up at once — would otherwise each go through `restoreRate` keys a second, not all of them.
 */
const restoresDue = new WeakMap<Cluster, number>();

/**
 * Waits so that `keys` more keys, with those this client's restores went through since `started`
 * (this restore's start), stay at or below the cluster's `restoreRate` a second, or until close()
 * begins: the restore then stops at its next page.
 */
async function paced(cluster: Cluster, started: number, keys: number): Promise<void> {
  const due =
    Math.max(restoresDue.get(cluster) ?? 0, started) + (keys / cluster.restoreRate) * 1000;
  restoresDue.set(cluster, due);
  const wait = due - performance.now();
  if (wait > 0) await cluster.waitUnlessClosing(wait);
}

/** What copying one listed key came to: the target vouched for its own copy, took one, or neither. */
type Copied = 'vouched' | 'copied' | 'not applied';

/**
 * Whether a restore first asks the target to vouch for the listed write it may hold already (a
 * node back from its snapshot) before reading and sending the value. Turned off for the rest of
 * the restore after a page where the target held none of the keys it was asked about (every
 * `verify` answered 404): a node that came back empty, or a removed node's keys going to their new
 * replicas, would pay a `verify` per key for nothing. A target holding other writes of those keys,
 * or a `verify` that failed, says nothing of the kind and leaves it on.
 */
interface Vouching {
  on: boolean;
  /** This page's `verify` ops, and those the target answered 404 (it holds nothing there). */
  asked: number;
  absent: number;
}

const noVouching = (): Vouching => ({ on: false, asked: 0, absent: 0 });

/** Copies one listed key from `source` to `target`. */
async function copyKey(
  source: NodeClient,
  target: NodeClient,
  row: ListedKey,
  vouching: Vouching,
): Promise<Copied> {
  let result: BatchResult;
  if (row.tombstone) {
    result = await target.run(['bury', row.key, row.stamp, 'restore'], true);
    return result[0] === 204 ? 'copied' : 'not applied';
  }
  if (vouching.on && row.verified) {
    // The source vouches for the listed write; a target holding it, unverified, needs no value.
    vouching.asked++;
    const vouched = await target.run(['verify', row.key, row.stamp, 'restore'], true);
    if (vouched[0] === 204) return 'vouched';
    if (vouched[0] === 404) vouching.absent++;
    // Something newer there already, which a copy of the listed write could not replace.
    if (vouched[0] === 412 && isStamp(vouched[1]) && vouched[1] > row.stamp) return 'not applied';
  }
  // A page's reads ride one batch per source and fill its answers: read again past a full one.
  const read = await getPastFullAnswers(source, ['get', row.key], true, undefined);
  if (read[0] === 404 && isStamp(read[1])) {
    // Deleted since it was listed: the tombstone is what the target must hold.
    result = await target.run(['bury', row.key, read[1], 'restore'], true);
    return result[0] === 204 ? 'copied' : 'not applied';
  }
  const [status, bytes, flags, , ttl, stamp, unverified] = read;
  // An unverified copy is not the source's to hand on: the target would serve it as verified.
  if (status !== 200 || !(bytes instanceof Uint8Array) || unverified === true) return 'not applied';
  if (typeof flags !== 'number' || !isStamp(stamp)) return 'not applied';
  const remaining = typeof ttl === 'number' ? ttl : 0;
  if (typeof ttl === 'number' && ttl <= 0) return 'not applied';
  result = await target.run(['copy', row.key, bytes, flags, remaining, stamp, 'restore'], true);
  return result[0] === 204 ? 'copied' : 'not applied';
}

/** Where a source's listing is: the cursor of its next page (undefined: its first). */
interface ListingPlace {
  cursor: string | undefined;
}

/**
 * Pages through `source`'s keys from `place` (moved past each page copied) and copies to the
 * nodes `targetsOf` names for each key. Resolves to 'stopped' when it stopped early because the
 * client closes or `held` turned false (another client took the restore over, or the node
 * restored left the ring), to 'listed' otherwise.
 */
async function copyListed(
  cluster: Cluster,
  source: NodeClient,
  targetsOf: (row: ListedKey) => readonly NodeClient[],
  vouching: Vouching,
  held: () => boolean,
  place: ListingPlace,
): Promise<'listed' | 'stopped'> {
  const started = performance.now();
  let cursor = place.cursor;
  do {
    if (cluster.closing || !held()) return 'stopped';
    if (!cluster.isMember(source)) return 'listed';
    const query = `/v1/keys?limit=${RESTORE_PAGE}${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
    const page = parseKeyPage(await cluster.transport.json(source.url, query));
    const copies: Promise<Copied>[] = [];
    vouching.asked = vouching.absent = 0;
    for (const row of page.rows) {
      for (const target of targetsOf(row)) {
        if (!cluster.isMember(target)) continue;
        copies.push(copyKey(source, target, row, vouching).catch(() => 'not applied' as const));
      }
    }
    const outcomes = await Promise.all(copies);
    cluster.counters.restoredKeys += outcomes.filter((outcome) => outcome !== 'not applied').length;
    if (vouching.asked > 0 && vouching.absent === vouching.asked) vouching.on = false;
    cursor = place.cursor = page.cursor;
    await paced(cluster, started, page.rows.length);
  } while (cursor !== undefined);
  return 'listed';
}

/**
 * Lists each other node (`skip` aside, asked as each is reached) through `list`. A listing that
 * fails is reported and, once the others are done, taken up again from the page it failed at,
 * after each of LISTING_RETRY_DELAYS_MS. Resolves to 'incomplete' when one still failed after the
 * last, to 'stopped' as soon as a listing stopped, to 'listed' otherwise.
 */
async function listEach(
  cluster: Cluster,
  skip: (source: NodeClient) => boolean,
  list: (source: NodeClient, place: ListingPlace) => Promise<'listed' | 'stopped'>,
): Promise<'listed' | 'stopped' | 'incomplete'> {
  const failed = new Map<NodeClient, ListingPlace>();
  const listed = async (source: NodeClient, place: ListingPlace): Promise<boolean> => {
    try {
      if ((await list(source, place)) === 'stopped') return false;
    } catch (error) {
      // A node without the listing (older than restores) has nothing to give: not a failure.
      if (!(isNodeRequestError(error) && error.status === 404)) {
        reportRestoreFailure(cluster, source, error);
        failed.set(source, place);
        return true;
      }
    }
    failed.delete(source);
    return true;
  };
  for (const source of cluster.nodes) {
    if (skip(source)) continue;
    if (!(await listed(source, { cursor: undefined }))) return 'stopped';
  }
  for (const delay of LISTING_RETRY_DELAYS_MS) {
    if (failed.size === 0) return 'listed';
    await cluster.waitUnlessClosing(delay);
    for (const [source, place] of failed) {
      // A source removed since lists nothing the restore needs.
      if (!cluster.isMember(source)) failed.delete(source);
      else if (!(await listed(source, place))) return 'stopped';
    }
  }
  return failed.size === 0 ? 'listed' : 'incomplete';
}

/**
 * `returned` answered again after being marked down, or restarted. The client that claims it
 * (restore-claim.ts: one client of many at a time, on a lease) copies to it the keys it is a
 * natural replica of from the other nodes that hold them. A node that restarted empty gets back
 * what it had; one that kept its data refuses older copies (412) and costs a listing. A client
 * that finds it claimed, or whose claim went unanswered, watches the claim and takes the restore
 * over if its holder goes quiet (or the node answers).
 * `claimed: 'restore anyway'`: also when another client claimed it (a fence since then undid what
 * that restore vouched for: node-return.ts).
 */
export async function restoreReturned(
  cluster: Cluster,
  returned: NodeClient,
  claimed: 'skip' | 'restore anyway' = 'skip',
): Promise<void> {
  const claimant = globalThis.crypto.randomUUID();
  const claim = await claimRestore(cluster, returned, claimant);
  if (claim.kind === 'failed') return;
  if (claim.kind === 'claimed') return restoreUnder(cluster, returned, claim.lease);
  // Whatever became of the claim: held by another, done, or not answered while the node is up.
  if (claimed === 'restore anyway') return restoreUnder(cluster, returned, undefined);
  if (claim.kind === 'restored') return;
  const restore = (lease: ClaimLease): Promise<void> => restoreUnder(cluster, returned, lease);
  // Tracked on its own, not as part of the return: a restart of the node while the watch lasts
  // (as long as another client's restore) is a return of its own, with its own fence.
  cluster.track(watchClaim(cluster, returned, claimant, claim, restore));
}

/** Copies `returned`'s share to it from the other replicas, and ends `lease` (when held) after. */
async function restoreUnder(
  cluster: Cluster,
  returned: NodeClient,
  lease: ClaimLease | undefined,
): Promise<void> {
  cluster.counters.restoresRun++;
  // A node removed meanwhile (perhaps added again: another NodeClient, with a restore of its own)
  // gets no copy from here: the rest of the listings would be read for nothing, at the pace the
  // client's other restores share, and the claim ended done though its keys were not copied.
  const held = (): boolean => cluster.isMember(returned) && (lease === undefined || !lease.lost);
  const owners = (row: ListedKey): readonly NodeClient[] =>
    cluster.replicasOfStored(row.key).includes(returned.url) ? [returned] : [];
  let outcome: 'listed' | 'stopped' | 'incomplete' = 'stopped';
  const vouching: Vouching = { on: true, asked: 0, absent: 0 };
  try {
    outcome = await listEach(
      cluster,
      (source) => source === returned || !source.up,
      (source, place) => {
        // Only a replica of the key copies it: a stand-in's copy reaches it as a hint.
        const fromReplica = (row: ListedKey): readonly NodeClient[] =>
          cluster.replicasOfStored(row.key).includes(source.url) ? owners(row) : [];
        return copyListed(cluster, source, fromReplica, vouching, held, place);
      },
    );
  } finally {
    // Done only once every source was listed: a restore that missed one (its listing kept
    // failing) is released, for a client watching the claim to take it over.
    await lease?.end(outcome === 'listed' ? 'done' : 'released');
  }
}

/**
 * After `removed` left the ring (`before` is the ring with it): each key it was a replica of has a
 * new replica now, which gets the key from the first remaining old replica that holds it.
 */
export async function restoreAfterRemoval(
  cluster: Cluster,
  before: HashRing,
  replicasBefore: number,
  removed: string,
): Promise<void> {
  cluster.counters.restoresRun++;
  // Once the node is back (a pod restarted behind DNS), each key's replicas are those from before
  // its removal: nothing is left to copy, and the rest of the listings would be read for nothing,
  // at the pace its own restore (a join's) shares.
  const gone = (): boolean => !cluster.has(removed);
  await listEach(
    cluster,
    (source) => !source.up,
    (source, place) => {
      const newOwners = (row: ListedKey): readonly NodeClient[] => {
        const old = before.getN(row.key, replicasBefore);
        if (!old.includes(removed)) return [];
        const now = cluster.replicasOfStored(row.key);
        // One copier per key: the first old replica still here.
        const copier = old.find((url) => url !== removed && now.includes(url));
        if (copier !== source.url) return [];
        return cluster.nodes.filter((node) => now.includes(node.url) && !old.includes(node.url));
      };
      // The new replicas had no reason to hold these keys: nothing to vouch for.
      return copyListed(cluster, source, newOwners, noVouching(), gone, place);
    },
  );
}

function reportRestoreFailure(cluster: Cluster, source: NodeClient, error: unknown): void {
  const failure = error instanceof Error ? error : new Error(String(error));
  cluster.reportBackgroundError(failure, { operation: 'restore', key: '', node: source.url });
}
