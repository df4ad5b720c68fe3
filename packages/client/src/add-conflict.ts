// An add decided by one replica is only as good as that replica's "absent". A replica that
// restarted empty, holds the key unverified (a stall, a snapshot restore) or evicted it cannot
// tell a key nobody wrote from one it lost, while another replica still holds it and a read there
// finds it. So the add's copies are adds too: a replica holding the key refuses its copy, and the
// add is undone on the deciding replica and answered false — what a read had already shown
// (never-stale.md §5).
import type { Cluster } from './cluster.js';
import type { EncodedValue } from './codec.js';
import type { NodeClient } from './node-client.js';
import type { Hit } from './read.js';
import { asError, rejection } from './results.js';
import type { CallTrace } from './telemetry-call.js';
import { copyTo, hitOf } from './verify.js';
import { writeReplicas } from './write.js';
import type { KeyOp } from './write.js';
import type { BatchResult } from './wire.js';
import { ADD_COPIES } from './write-policy.js';
import type { ReplicaSet } from './write-policy.js';

/** The add as the deciding replica stored it: the version a compare-and-set undoes it by. */
export interface DecidedAdd {
  readonly node: NodeClient;
  readonly version: number;
  readonly stamp: number;
}

/**
 * Copies an add that `decided` created to the replicas of `rest`, as adds with its stamp, and
 * answers whether the add stands: false when a natural replica held the key, after the add was
 * replaced by the value that replica holds on the deciding replica and copied to the others.
 */
export async function copyAdd(
  cluster: Cluster,
  key: string,
  rest: ReplicaSet,
  value: EncodedValue,
  ttl: number | null,
  decided: DecidedAdd,
  queued: boolean,
  trace?: CallTrace,
): Promise<boolean> {
  const stored = cluster.storedKey(key);
  const op = ['set', stored, value.bytes, value.flags, ttl, 'add', decided.stamp] as const;
  const outcome = await writeReplicas(cluster, rest, op, ADD_COPIES, queued, trace);
  const holders: NodeClient[] = [];
  for (const { node, result } of outcome.results) {
    if (result[0] === 412 && rest.natural.includes(node)) holders.push(node);
  }
  if (holders.length === 0) return true;
  const held = await newestHeld(cluster, key, holders, queued);
  if (held === undefined) {
    // Gone since their refusal (deleted, expired): the add stands, and they get its copy after all
    // (newest wins, so a delete stamped after it stays).
    const copy = ['set', stored, value.bytes, value.flags, ttl, null, decided.stamp] as const;
    await Promise.all(holders.map((node) => send(cluster, key, node, copy, queued)));
    return true;
  }
  await undo(cluster, key, rest, held, decided, queued, trace);
  return false;
}

/** The newest live value the holders vouch for now, undefined when none holds one any more. */
async function newestHeld(
  cluster: Cluster,
  key: string,
  holders: readonly NodeClient[],
  queued: boolean,
): Promise<Hit | undefined> {
  const stored = cluster.storedKey(key);
  const reads = holders.map(async (node) => {
    try {
      const result = await node.run(['get', stored], queued);
      const hit = result[0] === 200 ? hitOf(cluster, result, node) : undefined;
      // Expired on its way, or unverified since (a stall): nothing to undo the add with.
      if (hit === undefined || hit.unverified || (hit.ttl !== null && hit.ttl <= 0))
        return undefined;
      return hit;
    } catch (error) {
      const context = { operation: 'replica-write', key, node: node.url } as const;
      cluster.reportBackgroundError(asError(error), context);
      return undefined;
    }
  });
  let newest: Hit | undefined;
  for (const hit of await Promise.all(reads)) {
    if (hit !== undefined && (newest === undefined || hit.stamp > newest.stamp)) newest = hit;
  }
  return newest;
}

/**
 * Puts `held` back on the deciding replica in place of the add — by compare-and-set on the add's
 * version, so a write made there since stands — then copies it, with the stamp it got there, to
 * the other replicas, where the add's copy may have been created.
 */
async function undo(
  cluster: Cluster,
  key: string,
  rest: ReplicaSet,
  held: Hit,
  decided: DecidedAdd,
  queued: boolean,
  trace?: CallTrace,
): Promise<void> {
  const stored = cluster.storedKey(key);
  const ttl = held.ttl ?? 0;
  const tick = cluster.clock.tick();
  const op = ['set', stored, held.bytes, held.flags, ttl, decided.version, tick] as const;
  const { node } = decided;
  const result = await send(cluster, key, node, op, queued, trace);
  // 412: written since the add, and that write stands over both.
  if (result?.[0] !== 204) return;
  cluster.counters.addsUndone++;
  const stamp = typeof result[2] === 'number' ? result[2] : tick;
  const restored: Hit = { ...held, ttl, stamp };
  const others = cluster.members(rest.live);
  await Promise.all(others.map((other) => copyTo(cluster, key, restored, other, queued, false)));
}

/**
 * One write to one replica; a failure or a refusal other than 412 (the replica holds something
 * else) is reported, and undefined for a failure.
 */
async function send(
  cluster: Cluster,
  key: string,
  node: NodeClient,
  op: KeyOp,
  queued: boolean,
  trace?: CallTrace,
): Promise<BatchResult | undefined> {
  const context = { operation: 'replica-write', key, node: node.url } as const;
  try {
    const result = await node.run(op, queued, trace);
    if (result[0] !== 204 && result[0] !== 412) {
      cluster.reportBackgroundError(rejection(node.url, key, result), context);
    }
    return result;
  } catch (error) {
    cluster.reportBackgroundError(asError(error), context);
    return undefined;
  }
}
