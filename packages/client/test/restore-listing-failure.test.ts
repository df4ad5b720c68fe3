// A restore whose listing of one source fails (the source paused past the client's timeout): the
// node restored must still get that source's keys once it answers again. Before, the restore went
// on to the next source and ended its claim `done`: the node never got the keys only the failed
// source held besides it, and no client restored that node start again.
import { expect, it } from 'vitest';
import { HashRing } from '@dcache/ring';
import { DistributedCacheClient } from '../src/index.js';
import type { BackgroundErrorContext } from '../src/index.js';
import { useNemesis } from './faults/use-nemesis.js';
import { waitUntilHeld } from './raw-node.js';
import { waitFor } from './cluster.js';

const fixture = useNemesis();

const KEYS = Array.from({ length: 200 }, (_, i) => `listing:${i}`);

it("a source whose listing failed is listed again once it answers: the node gets that source's keys", async () => {
  const nemesis = await fixture.start({ nodes: 3 });
  const urls = nemesis.urls;
  const ring = new HashRing(urls);
  const reports: BackgroundErrorContext[] = [];
  const client = fixture.keep(
    new DistributedCacheClient(urls, {
      // No node is marked down here: the paused source stays a source, and its listing times out.
      timeout: 500,
      failureThreshold: 1000,
      onBackgroundError: (_error, context) => reports.push(context),
    }),
  );
  expect(await client.setMany(KEYS.map((key) => [key, `v-${key}`]))).toBe(true);
  // Node 0's keys held besides it by node 1 alone (replicas 2), and those by node 2.
  const fromPaused = KEYS.filter((key) => ring.getN(key, 2).includes(urls[0]!)).filter((key) =>
    ring.getN(key, 2).includes(urls[1]!),
  );
  const fromOther = KEYS.filter((key) => ring.getN(key, 2).includes(urls[0]!)).filter((key) =>
    ring.getN(key, 2).includes(urls[2]!),
  );
  expect(fromPaused.length).toBeGreaterThan(0);
  expect(fromOther.length).toBeGreaterThan(0);

  await nemesis.kill(0);
  await nemesis.restart(0, 'empty');
  nemesis.pause(1);
  // A write on nodes 0 and 2 meets node 0's new start: the client restores it, and node 1's
  // listing times out.
  let i = 0;
  while (ring.getN(`trigger:${i}`, 2).includes(urls[1]!)) i++;
  await waitFor(
    async () => {
      await client.set(`trigger:${i}`, 'x').catch(() => undefined);
      return reports.some((context) => context.operation === 'restore');
    },
    "node 1's listing to fail",
    { timeoutMs: 10_000, intervalMs: 200 },
  );
  expect(reports.filter((context) => context.operation === 'restore')[0]).toStrictEqual({
    operation: 'restore',
    key: '',
    node: urls[1],
  });
  nemesis.resume(1);
  await waitUntilHeld(urls[0]!, fromOther, "node 0's keys from node 2");
  await waitUntilHeld(urls[0]!, fromPaused, "node 0's keys from node 1", 10_000);
});
