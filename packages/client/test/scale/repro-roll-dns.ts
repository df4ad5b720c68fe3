// A rolling restart as a StatefulSet does it behind deploy/'s headless Service
// (publishNotReadyAddresses false): each node's records leave DNS as it gets SIGTERM and come back
// once it listens again, so every client's ring changes twice per node (3 → 2 → 3). Under the scale
// tests' load, replicas 2, it prints the hit ratio, errors and stale reads beside the same roll with
// the records kept (rolling-restart.test.ts). A reproduction, not a test: it never fails.
//
//   npx -y pnpm@10.34.8 --filter @dcache/server... build
//   node --import tsx packages/client/test/scale/repro-roll-dns.ts [runs=1]
import { rollUnderLoad } from './rolling-scenario.js';
import type { RollOptions } from './rolling-scenario.js';
import { ScaleCluster } from './scale-cluster.js';

const runs = Number(process.argv[2] ?? 1);
for (let run = 1; run <= runs; run++) {
  for (const records of ['removed', 'kept'] as const) {
    const cluster = await ScaleCluster.start({ nodes: 3, members: [0, 1, 2], snapshots: true });
    try {
      const options: RollOptions = { replicas: 2, records, settleMs: 3000 };
      const result = await rollUnderLoad(cluster, options);
      console.log(`run ${run}, records ${records} while restarting\n${result.summary}\n`);
    } finally {
      await cluster.cleanup();
    }
  }
}
