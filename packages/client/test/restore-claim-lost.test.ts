// A restore claim whose answer is lost: the node recorded it, the client never learnt so. Before,
// the client gave up on that node start and every other client got 409, so the restarted node got
// back only the keys reads repaired (those it is the primary of). Now the client asks again under
// the same claimant, which the node answers 204 again. Real CLI nodes; between the client and one
// of them a proxy that drops the connection of the first claim once the node has answered it.
import { afterEach, describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../src/index.js';
import { startCliNode, stopCliNodes } from './cli-nodes.js';
import { startHoldingProxy, waitFor } from './cluster.js';

const cleanups: (() => Promise<void>)[] = [];
const clients: DistributedCacheClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  await stopCliNodes();
});

/**
 * This shared machine can stall a node past the default `--stall-threshold` under load; a node
 * that stalls fences itself, and a restore copies no unverified entry. Fences are tested elsewhere.
 */
const NODE_FLAGS = ['--stall-threshold', '10000'];
const KEYS = 200;
const keys = Array.from({ length: KEYS }, (_, i) => `claim-${i}`);

describe('a restore claim whose answer is lost', () => {
  it('is asked again under the same claimant, and the restarted node gets all its keys back', async () => {
    let restarted = await startCliNode('127.0.0.1', 0, NODE_FLAGS);
    const other = await startCliNode('127.0.0.1', 0, NODE_FLAGS);
    const proxy = await startHoldingProxy(() => restarted.url);
    cleanups.push(proxy.close);
    proxy.release();
    const client = new DistributedCacheClient([proxy.url, other.url], { replicas: 2 });
    clients.push(client);
    await client.setMany(keys.map((key) => [key, `v-${key}`] as const));
    expect(await restarted.items()).toBe(KEYS);

    await restarted.stop();
    restarted = await startCliNode('127.0.0.1', 0, NODE_FLAGS);
    proxy.loseNextAnswer('/v1/restore-claim');
    // The batches that reach the restarted node carry its new start; the client claims its restore.
    const read = await client.getMany(keys);
    expect(read.size).toBe(KEYS);

    await waitFor(
      async () => (await restarted.items()) === KEYS,
      'the restarted node to hold every key again',
      { timeoutMs: 15_000, intervalMs: 50 },
    );
    // The first claim was recorded and its answer lost; the second, same claimant, was granted.
    expect(proxy.statuses('/v1/restore-claim')).toEqual([204, 204]);
    expect(client.getReplicationStats().restoresRun).toBe(1);
  });
});
