// An incr whose answer is lost on the way back (the node counted, the connection dropped) during a
// transition window: the call must not send that incr to the same node again, or it counts twice.
import { afterEach, expect, it } from 'vitest';
import { DistributedCacheClient } from '../src/index.js';
import { startCluster, startHoldingProxy } from './cluster.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

it('a moved counter whose replica lost the answer of an incr counts once there', async () => {
  const cluster = await startCluster(3);
  cleanups.push(cluster.close);
  const [a, b, c] = cluster.nodes;
  const proxy = await startHoldingProxy(b!.url);
  cleanups.push(proxy.close);
  proxy.release();
  const client = new DistributedCacheClient([a!.url, proxy.url], {
    replicas: 2,
    timeout: 5000,
    failureThreshold: 100,
  });
  cleanups.push(() => client.close());
  const keys = Array.from({ length: 200 }, (_, i) => `counter:${i}`);
  for (const key of keys) await client.incr(key, 1, { initial: 10 });
  client.addNode(c!.url);
  // A counter now owned by the new node first, then by the proxied node, which holds it.
  const key = keys.find((k) => {
    const owners = client.nodesFor(k);
    return owners[0] === c!.url && owners[1] === proxy.url;
  });
  expect(key).toBeDefined();
  proxy.loseNextAnswer('/v1/batch');
  // The new owner lacks it (the window's first round misses there), and the proxied replica
  // counts but its answer is lost: the round found nothing, so the call runs once more.
  expect(await client.incr(key!, 1)).toBe(11);
  await client.close();
  // One incr from 10: 11 on every replica. Sent again to the replica that had counted, it was 12
  // there (and stayed 12 while the call answered 11).
  for (const node of [b!, c!]) {
    expect(Buffer.from(node.entry(key!)!.value.bytes).toString(), node.url).toBe('11');
  }
});
