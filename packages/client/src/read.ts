import type { Cluster } from './cluster.js';
import { NodeRequestError } from './errors/node-request-error.js';
import type { NodeClient } from './node-client.js';
import type { CallTrace } from './telemetry-call.js';
import { asError, rejection } from './results.js';
import type { Entry } from './results.js';
import type { BatchOp, BatchResult } from './wire.js';
import { writeReplicas } from './write.js';
import { TOUCH_REST } from './write-policy.js';

/**
 * How many later batches a get refused for a full batch answer is tried in; each batch serves at
 * least one value (a node's default 16 MiB holds 16 values of its 1 MiB maximum).
 */
const FULL_ANSWER_RETRIES = 64;

export interface ReadOptions {
  /** Await the primary's read repair and return its version (for compareAndSet). */
  awaitRepair?: boolean;
  /** Get-and-touch: the TTL in ms (0 = never expires) every replica of a hit gets. */
  touch?: number;
  /** The traced call this read belongs to (nodes asked, failovers, repairs). */
  trace?: CallTrace;
}

export interface Hit extends Entry {
  /** The node that answered; after a read repair of the primary, the primary. */
  node: NodeClient;
}

/**
 * Reads `key` from its replicas in preference order: the primary first, the next replica on a miss
 * or an error. A value found after misses is written back to the nodes that missed it (read
 * repair) with its remaining TTL and exact flags, as an add so a newer write there wins.
 * With `awaitRepair` the primary's repair is awaited and its version returned (for CAS). With
 * `touch` it is a get-and-touch: the node that answers sets that TTL as it reads, the replicas
 * after it get a `touch` in the background, and a repair writes the new TTL.
 */
export async function readEntry(
  cluster: Cluster,
  key: string,
  queued: boolean,
  options?: ReadOptions,
): Promise<Hit | undefined> {
  // Read field by field: a destructuring default would allocate an object on every read.
  const touch = options?.touch;
  const awaitRepair = options?.awaitRepair === true;
  const trace = options?.trace;
  const nodes = cluster.preference(key);
  const flushes = cluster.flushes;
  const stored = cluster.storedKey(key);
  const op: BatchOp = touch === undefined ? ['get', stored] : ['get', stored, touch];
  // Allocated only when needed: most reads hit on the primary.
  let errors: Error[] | undefined;
  let missed: NodeClient[] | undefined;
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    // Removed from the cluster while this read waited on an earlier replica.
    if (i > 0 && !cluster.isMember(node)) continue;
    let result: BatchResult;
    if (trace !== undefined) trace.nodesTried++;
    try {
      result = await node.run(op, queued, trace);
      // The node's batch answer was full: it caps the values of one answer at its maxBatchBytes
      // and always serves the first get, so asked again in a later batch this one moves up.
      // Through the batcher, not a request of its own: a getMany of many big values must not
      // open a request per value at once.
      for (let retry = 0; result[0] === 413 && queued && retry < FULL_ANSWER_RETRIES; retry++) {
        result = await node.run(op, true, trace);
      }
    } catch (error) {
      if (trace !== undefined) trace.failovers++;
      (errors ??= []).push(asError(error));
      continue;
    }
    if (result[0] === 404) {
      (missed ??= []).push(node);
      continue;
    }
    if (result[0] !== 200) throw rejection(node.url, key, result);
    const hit = hitOf(result, node);
    if (hit === undefined) {
      (errors ??= []).push(new NodeRequestError(node.url, `malformed get result for key "${key}"`));
      continue;
    }
    if (touch !== undefined && i + 1 < nodes.length) {
      // The copies not asked keep up with the new TTL, so a failover does not find them expiring.
      const rest = nodes.slice(i + 1);
      const target = { natural: rest, live: rest };
      void writeReplicas(cluster, target, ['touch', stored, touch], TOUCH_REST, queued);
    }
    if (missed === undefined) return hit;
    // A flush since the read began: the value predates it, and writing it back would undo it.
    if (cluster.flushes !== flushes) return hit;
    const primaryRepair = repair(cluster, key, hit, missed, queued, trace);
    const primary = missed[0]!;
    if (awaitRepair && primary === nodes[0]) {
      const version = await primaryRepair;
      if (version !== undefined) return { ...hit, version, node: primary };
    }
    return hit;
  }
  if (missed === undefined) throw cluster.unavailable(key, nodes, errors ?? []);
  return undefined;
}

/** The checked entry of a `[200, …]` get result, with the node that answered (one allocation). */
function hitOf(result: BatchResult, node: NodeClient): Hit | undefined {
  const [, bytes, flags, version, ttl] = result;
  if (!(bytes instanceof Uint8Array) || typeof flags !== 'number' || typeof version !== 'number') {
    return undefined;
  }
  return { bytes, flags, version, ttl: typeof ttl === 'number' ? ttl : null, node };
}

/** Writes the entry to every node that missed it; resolves to the first one's new version. */
function repair(
  cluster: Cluster,
  key: string,
  entry: Entry,
  missed: readonly NodeClient[],
  queued: boolean,
  trace: CallTrace | undefined,
): Promise<number | undefined> {
  // null = never expires, which is ttl 0 on the wire (null there would mean the node's default).
  const ttl = entry.ttl ?? 0;
  if (entry.ttl !== null && entry.ttl <= 0) return Promise.resolve(undefined);
  let first: Promise<number | undefined> | undefined;
  for (const node of missed) {
    if (!cluster.isMember(node)) continue;
    // A failed repair only leaves the node cold; the value is still served from the replica, so
    // the failure is reported, not returned. 412: a newer write landed there first, as intended.
    const failed = (error: Error): undefined => {
      cluster.reportBackgroundError(error, { operation: 'read-repair', key, node: node.url });
      return undefined;
    };
    const op = ['set', cluster.storedKey(key), entry.bytes, entry.flags, ttl, 'add'] as const;
    if (trace !== undefined) trace.repairs++;
    const write = node.run(op, queued).then(
      (result) => {
        if (result[0] === 204) return typeof result[1] === 'number' ? result[1] : undefined;
        return result[0] === 412 ? undefined : failed(rejection(node.url, key, result));
      },
      (error: unknown) => failed(asError(error)),
    );
    cluster.track(write);
    first ??= write;
  }
  return first ?? Promise.resolve(undefined);
}
