// What reads and writes do while a transition window is open (transition.ts): a miss on a key's
// new owners asks its previous owners and backfills what they hold; a write buries the copies the
// previous owners hold with its own stamp. Newest wins on every node, so a backfill racing a write
// loses to it, and a bury never removes a newer write.
import { isStamp } from '@dcache/core';
import type { Cluster } from './cluster.js';
import type { NodeClient } from './node-client.js';
import type { Hit } from './read.js';
import type { CallTrace } from './telemetry-call.js';
import { handOff } from './hints.js';
import { buryOn, copyTo, getPastFullAnswers, hitOf } from './verify.js';
import type { BatchResult } from './wire.js';

/**
 * The first usable copy of the key on its previous owners (newest ring first), or undefined.
 * Usable: verified (a previous owner cannot be vouched for by the new owners, which know nothing
 * older than the change), not expired, and newer than `deletedAt` — the newest tombstone (or, for
 * `newestOfPrevious`, the copy) the new owners answered with — and than every tombstone an earlier
 * previous owner answered with; `deletedAt` then says the newest tombstone seen. A previous owner
 * marked down, or failing, is passed over: a miss is always safe.
 */
async function previousCopy(
  cluster: Cluster,
  stored: string,
  sources: readonly NodeClient[],
  deletedAt: number,
  queued: boolean,
  trace: CallTrace | undefined,
): Promise<{ hit: Hit | undefined; deletedAt: number }> {
  let newest = deletedAt;
  for (const source of sources) {
    if (!source.up) continue;
    if (trace !== undefined) trace.nodesTried++;
    let result;
    try {
      // Through a full answer: passed over, the newer copy it holds was not served.
      result = await getPastFullAnswers(source, ['get', stored], queued, trace);
    } catch {
      continue;
    }
    if (result[0] === 404) {
      const tombstone = result[1];
      if (isStamp(tombstone) && tombstone > newest) newest = tombstone;
      continue;
    }
    if (result[0] !== 200) continue;
    const hit = hitOf(cluster, result, source);
    if (hit === undefined || hit.unverified) continue;
    if (hit.ttl !== null && hit.ttl <= 0) continue;
    // Not newer than what was found (or deleted, overwritten) since: nothing to serve from here.
    if (hit.stamp <= newest) break;
    return { hit, deletedAt: newest };
  }
  return { hit: undefined, deletedAt: newest };
}

/**
 * Copies `hit` to `targets` (newest wins there) and counts the copies applied as backfilled.
 * Resolves once every copy has settled.
 */
function backfill(
  cluster: Cluster,
  key: string,
  hit: Hit,
  targets: readonly NodeClient[],
  queued: boolean,
): Promise<boolean[]> {
  const { transition } = cluster;
  return Promise.all(
    targets.map((node) =>
      copyTo(cluster, key, hit, node, queued, false).then((applied) => {
        if (applied) transition.backfilled++;
        return applied;
      }),
    ),
  );
}

/** The key's previous owners still to be asked, or undefined (no window, or the key did not move). */
function sourcesOf(cluster: Cluster, stored: string): NodeClient[] | undefined {
  const { transition } = cluster;
  if (!transition.open) return undefined;
  const sources = transition.previousOwners(stored, cluster.replicasOfStored(stored));
  return sources.length === 0 ? undefined : sources;
}

/** Whether `key` moved in the open window: it has previous owners to ask. */
export function movedInWindow(cluster: Cluster, key: string): boolean {
  return sourcesOf(cluster, cluster.storedKey(key)) !== undefined;
}

/**
 * A read that missed on every new owner it asked (`missed`, none failing) during a window: the
 * previous owners' copy, backfilled to `missed` with its remaining TTL (or `touch`, for a
 * get-and-touch) and stamp, or undefined; with `awaitBackfill` once the copies have settled. No
 * backfill after a flush that began since the read (`flushes`): the copy predates it.
 */
export async function fallbackRead(
  cluster: Cluster,
  key: string,
  missed: readonly NodeClient[],
  deletedAt: number,
  flushes: number,
  queued: boolean,
  trace: CallTrace | undefined,
  touch: number | undefined,
  awaitBackfill = false,
): Promise<Hit | undefined> {
  const stored = cluster.storedKey(key);
  const sources = sourcesOf(cluster, stored);
  if (sources === undefined) return undefined;
  let { hit } = await previousCopy(cluster, stored, sources, deletedAt, queued, trace);
  cluster.transition.checked(hit !== undefined);
  if (hit === undefined) return undefined;
  if (touch !== undefined) hit = { ...hit, ttl: touch === 0 ? null : touch };
  if (cluster.flushes === flushes) {
    const targets = missed.filter((node) => cluster.isMember(node));
    const copied = backfill(cluster, key, hit, targets, queued);
    if (awaitBackfill) await copied;
    else cluster.track(copied);
  }
  return hit;
}

/**
 * A read that hit on one of the key's owners during a window: a previous owner may hold something
 * newer — a write or a delete by a client still on the ring before the change (DNS discovery
 * reaches clients up to an interval apart; such a client writes only there), or a copy written
 * there after an earlier change moved the key away (a key moving back). The newest wins: a newer
 * copy is served and copied to the key's owners; a newer tombstone makes the read a miss and
 * follows there. Either counts as a stale read prevented. A tombstone of a write of
 * this key still in flight (its invalidation lands first) makes a concurrent read a miss: safe.
 * A hit that came from a previous owner already (a fallback) is returned as it is.
 */
export async function newestOfPrevious(
  cluster: Cluster,
  key: string,
  hit: Hit,
  queued: boolean,
  trace: CallTrace | undefined,
  touch: number | undefined,
): Promise<Hit | undefined> {
  const stored = cluster.storedKey(key);
  const owners = cluster.replicasOfStored(stored);
  if (!owners.includes(hit.node.url)) return hit;
  const sources = sourcesOf(cluster, stored);
  if (sources === undefined) return hit;
  const found = await previousCopy(cluster, stored, sources, hit.stamp, queued, trace);
  cluster.transition.checked(found.hit !== undefined);
  if (found.hit !== undefined) {
    cluster.counters.staleReadsPrevented++;
    const newer = found.hit;
    const served = touch === undefined ? newer : { ...newer, ttl: touch === 0 ? null : touch };
    cluster.track(backfill(cluster, key, served, ownersNow(cluster, key, hit.node), queued));
    return served;
  }
  if (found.deletedAt > hit.stamp) {
    cluster.counters.staleReadsPrevented++;
    for (const node of ownersNow(cluster, key, hit.node)) {
      buryOn(cluster, key, node, found.deletedAt, queued);
    }
    return undefined;
  }
  return hit;
}

/**
 * Where what `newestOfPrevious` found goes: every live owner of the key, not only the one that
 * answered (`answered`, first) — with `replicas` ≥ 2 the others may hold the same older copy (both
 * owners new, or a read repair of it under way), and would serve it on a failover once the window
 * has closed. Newest wins on each, so a write made there meanwhile stays.
 */
function ownersNow(cluster: Cluster, key: string, answered: NodeClient): NodeClient[] {
  const owners = [answered];
  for (const node of cluster.preference(key)) if (node !== answered) owners.push(node);
  return owners;
}

/**
 * Before an operation that needs the key's value where it is now (add, replace, compareAndSet;
 * incr or touch that found nothing): copies the previous owners' copy to the key's live new
 * owners and waits for it. True when the key moved (its previous owners were asked): the new
 * owners may hold it now even when this copy was refused or none was found — a concurrent write
 * or another backfill landed there first — so an operation that found nothing runs once more.
 */
export async function warmKey(
  cluster: Cluster,
  key: string,
  queued: boolean,
  trace?: CallTrace,
): Promise<boolean> {
  return (await warmKeySeen(cluster, key, queued, trace)).moved;
}

/**
 * {@link warmKey}, also saying the newest tombstone a previous owner answered with (0: none), so
 * that an add's replica check does not take a new owner's copy that delete buries for a value.
 */
export async function warmKeySeen(
  cluster: Cluster,
  key: string,
  queued: boolean,
  trace?: CallTrace,
): Promise<{ moved: boolean; deletedAt: number }> {
  const stored = cluster.storedKey(key);
  const sources = sourcesOf(cluster, stored);
  if (sources === undefined) return { moved: false, deletedAt: 0 };
  const { hit, deletedAt } = await previousCopy(cluster, stored, sources, 0, queued, trace);
  cluster.transition.checked(hit !== undefined);
  if (hit !== undefined) await backfill(cluster, key, hit, cluster.preference(key), queued);
  return { moved: true, deletedAt };
}

/**
 * A write stamped `stamp` during a window: buries the copies of the key its previous owners
 * hold (newest wins: a newer copy there stays), so a fallback cannot serve what it replaced. The
 * write waits for it. A previous owner that is down or fails is distrusted for the rest of the
 * window instead. With `deleting` it sends the delete itself (a tombstone as well), so that the
 * answer says whether a previous owner held the key. Resolves to whether one did (deleting only);
 * undefined (nothing to wait for) when no window is open or the key did not move.
 */
export function invalidateMoved(
  cluster: Cluster,
  key: string,
  stamp: number,
  queued: boolean,
  deleting = false,
): Promise<boolean> | undefined {
  if (!cluster.transition.open) return undefined;
  const stored = cluster.storedKey(key);
  const { transition } = cluster;
  const sources = transition.previousOwners(stored, cluster.replicasOfStored(stored), true);
  if (sources.length === 0) return undefined;
  let held = false;
  // One below the write's stamp: it buries every older copy (a tombstone wins a tie) but loses to
  // the write itself, should the key move back here while the write's copy stands elsewhere.
  const op = deleting
    ? (['delete', stored, stamp] as const)
    : (['bury', stored, stamp - 1, 'repair'] as const);
  // A previous owner the bury cannot reach (down, restarting) may be read when it is back by a
  // client whose ring still has it as an owner: the key's owners now get a hint for it, as for a
  // replica a write missed, and hand it what stands once it answers. This client stops reading it.
  const missed = (node: NodeClient): Promise<void> => {
    transition.distrust(node);
    const { natural, live } = cluster.replicaSet(key);
    return handOff(cluster, stored, node, live, natural);
  };
  /** Whether a previous owner's answer leaves it nothing older than the write to serve. */
  const buried = (result: BatchResult): boolean => {
    const [status, applied] = result;
    if (deleting && (status === 204 || status === 404)) {
      // 204: it held the key; a stamp other than this delete's: a newer value stands there.
      if (status === 204) held = true;
      if (applied === stamp || !isStamp(applied)) transition.invalidated++;
      return true;
    }
    // 412: it holds this write or a newer one, which a fallback may serve.
    if (status === 204) transition.invalidated++;
    return status === 204 || status === 412;
  };
  return Promise.all(
    sources.map((node) => {
      if (!node.up) {
        // Marked down: the write waits for a hint, not for a request that may wait out the
        // timeout. The bury goes too, unawaited, as a write goes to a natural replica marked down
        // (write.ts): the node may be back before this client's probe notices — a pod restarted
        // from its snapshot, back in DNS — and serving the key to clients whose ring has it as an
        // owner, which the hint reaches only at its holder's next replay.
        cluster.track(node.run(op, queued).then(buried, () => false));
        return missed(node);
      }
      // Distrusted but seen up again (it restarted): the bury is sent again.
      return node.run(op, queued).then(
        (result) => (buried(result) ? undefined : missed(node)),
        () => missed(node),
      );
    }),
  ).then(() => held);
}
