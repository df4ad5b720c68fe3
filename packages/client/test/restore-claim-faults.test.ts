// A returned node's restore claim under faults, with real CLI nodes; between the clients and the
// restarted node a proxy that follows it to its new port and records the claims' answers.
//
// - A claim whose answer is lost: the node recorded it, the client never learnt so. Before, the
//   client gave up on that node start and every other client got 409. Now it asks again under
//   the same claimant, which the node answers 204 again.
// - A claim is a lease: a claimer that crashes, or closes mid-restore, leaves the node's share to
//   another client. Before, the claim held for the whole node start.
// Either way, before, the node got back only the keys reads repaired (those it is the primary of),
// and a crash of the other replica of a key it held second lost that key.
import { afterEach, describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../src/index.js';
import type { CliNode } from './cli-nodes.js';
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

/** Two nodes, the first behind a proxy that follows it when it restarts. */
async function pairBehindProxy(flags: readonly string[]) {
  let restarted = await startCliNode('127.0.0.1', 0, [...NODE_FLAGS, ...flags]);
  const other = await startCliNode('127.0.0.1', 0, [...NODE_FLAGS, ...flags]);
  const proxy = await startHoldingProxy(() => restarted.url);
  cleanups.push(proxy.close);
  proxy.release();
  const client = (options: { restoreRate?: number } = {}): DistributedCacheClient => {
    const made = new DistributedCacheClient([proxy.url, other.url], { replicas: 2, ...options });
    clients.push(made);
    return made;
  };
  return {
    proxy,
    client,
    /** The proxied node, SIGKILLed and started again empty on a new port. */
    restart: async (): Promise<CliNode> => {
      await restarted.stop();
      restarted = await startCliNode('127.0.0.1', 0, [...NODE_FLAGS, ...flags]);
      return restarted;
    },
  };
}

async function claimCode(node: CliNode, claimant: string): Promise<string> {
  const res = await fetch(`${node.url}/v1/restore-claim?claimant=${claimant}`, { method: 'POST' });
  const body = (await res.json()) as { error: { code: string } };
  return body.error.code;
}

describe('a restore claim whose answer is lost', () => {
  it('is asked again under the same claimant, and the restarted node gets all its keys back', async () => {
    const { proxy, client, restart } = await pairBehindProxy([]);
    const keys = Array.from({ length: 200 }, (_, i) => `claim-${i}`);
    const app = client();
    await app.setMany(keys.map((key) => [key, `v-${key}`] as const));

    const node = await restart();
    proxy.loseNextAnswer('/v1/restore-claim');
    // The batches that reach the restarted node carry its new start; the client claims its restore.
    const read = await app.getMany(keys);
    expect(read.size).toBe(keys.length);

    await waitFor(
      async () => (await node.items()) === keys.length,
      'the restarted node to hold every key again',
      { timeoutMs: 15_000, intervalMs: 50 },
    );
    // The first claim was recorded and its answer lost; the second, same claimant, was granted.
    // (Its end, `done`, may follow them.)
    expect(proxy.statuses('/v1/restore-claim').slice(0, 2)).toEqual([204, 204]);
    expect(app.getReplicationStats().restoresRun).toBe(1);
  });
});

describe('a restore claim', () => {
  it('whose holder crashed lapses, and a client that found it claimed restores the node', async () => {
    const { proxy, client, restart } = await pairBehindProxy(['--restore-claim-lease', '2000']);
    const keys = Array.from({ length: 200 }, (_, i) => `lapse-${i}`);
    const app = client();
    await app.setMany(keys.map((key) => [key, `v-${key}`] as const));

    const node = await restart();
    // A client that claims the restore and dies before copying anything: on the wire, a claim
    // never renewed.
    const crashed = await fetch(`${node.url}/v1/restore-claim?claimant=crashed-client`, {
      method: 'POST',
    });
    expect(crashed.status).toBe(204);
    // A batch to the restarted node carries its new start: the client claims, finds it held.
    // (Forty keys: some of them are the restarted node's to answer first.)
    expect((await app.getMany(keys.slice(0, 40))).size).toBe(40);

    await waitFor(async () => (await node.items()) === keys.length, 'every key back', {
      timeoutMs: 20_000,
      intervalMs: 50,
    });
    const statuses = proxy.statuses('/v1/restore-claim');
    expect(statuses.slice(0, 2)).toEqual([409, 204]);
    expect(app.getReplicationStats().restoresRun).toBe(1);
    // The taker ended its claim as done: nobody restores this start again.
    await waitFor(async () => (await claimCode(node, 'late')) === 'already_restored', 'done', {
      timeoutMs: 5000,
      intervalMs: 50,
    });
  });

  it('whose holder closed mid-restore is released, and a watching client takes it over', async () => {
    // The default lease (30 s): the takeover below must not wait it out.
    const { client, restart } = await pairBehindProxy([]);
    const keys = Array.from({ length: 2500 }, (_, i) => `release-${i}`);
    // 1000 keys a listing page, then a 2 s pause at 500 keys a second: mid-restore for a while.
    const holder = client({ restoreRate: 500 });
    const watcher = client();
    await holder.setMany(keys.map((key) => [key, `v-${key}`] as const));
    // Each client has seen the node's first start (every key read: some are the node's to
    // answer), so the next one is a restart to both.
    expect((await holder.getMany(keys)).size).toBe(keys.length);
    expect((await watcher.getMany(keys)).size).toBe(keys.length);

    const node = await restart();
    // Forty keys: some of them, but not all, the restarted node's to answer first (as primary).
    const someKeys = keys.slice(0, 40);
    await holder.getMany(someKeys);
    await waitFor(() => holder.getReplicationStats().restoredKeys > 0, 'a first page restored', {
      timeoutMs: 10_000,
    });
    await watcher.getMany(someKeys);
    const before = await node.items();
    expect(before).toBeLessThan(keys.length);
    const closedAt = performance.now();
    await holder.close();

    await waitFor(async () => (await node.items()) === keys.length, 'every key back', {
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    // Well inside the 30 s lease: the holder released its claim as it closed.
    expect(performance.now() - closedAt).toBeLessThan(20_000);
    expect(holder.getReplicationStats().restoresRun).toBe(1);
    expect(watcher.getReplicationStats().restoresRun).toBe(1);
    await waitFor(async () => (await claimCode(node, 'late')) === 'already_restored', 'done', {
      timeoutMs: 5000,
      intervalMs: 50,
    });
  });
});
