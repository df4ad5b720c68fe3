// A scale-up and a scale-down inside one transition window (a record set that flaps, or an
// autoscaler that changes its mind within `maxWindowMs`): keys written while the 3 → 4 window is
// open, then 4 → 3. Prints what a read of each finds after the scale-down, with the transition
// counters. A reproduction, not a test: it never fails.
//
//   npx -y pnpm@10.34.8 --filter @dcache/server... build
//   node --import tsx packages/client/test/scale/repro-up-down.ts
import { DistributedCacheClient } from '../../src/index.js';
import { Nemesis } from '../faults/nemesis.js';

const KEYS = 400;
const nemesis = await Nemesis.start({ nodes: 4 });
const [a, b, c, d] = nemesis.urls as [string, string, string, string];
const client = new DistributedCacheClient([a, b, c], { replicas: 1, timeout: 10_000 });
try {
  client.addNode(d);
  for (let i = 0; i < KEYS; i++) await client.set(`k${i}`, `v${i}`);
  const moved = Array.from({ length: KEYS }, (_, i) => `k${i}`).filter(
    (key) => client.nodesFor(key)[0] === d,
  );
  await client.removeNode(d);
  let hits = 0;
  for (const key of moved) if ((await client.get(key)) !== undefined) hits++;
  const { transition } = await client.getStats();
  console.log(
    `${KEYS} keys written while the 3 → 4 window was open, ${moved.length} of them on the fourth node; ` +
      `after 4 → 3 (window still open) ${hits} of those read back\n` +
      `transition ${JSON.stringify(transition)}`,
  );
} finally {
  await client.close();
  await nemesis.cleanup();
}
