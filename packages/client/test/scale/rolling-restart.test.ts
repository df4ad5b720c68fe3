// Issue #18: a rolling restart of all three nodes under cache traffic, one node at a time: SIGTERM
// (it saves its snapshot and exits), a restart from the snapshot on the same address and port, and
// the next node after never-stale's settle time (SETTLE_MS). Two load worker processes follow the
// DNS records (dns+srv://, every 250 ms) with replicas 2. The records name all three nodes
// throughout: a StatefulSet's pod names are stable, and a headless Service with
// publishNotReadyAddresses true keeps a restarting pod's records.
//
// Bounds, with replicas 2 (each key keeps a live copy while one node restarts): no call fails (the
// client fails over to the other replica while a node is down); the checker finds no stale read (the
// snapshot's entries are old: never-stale's fence holds them back until a peer vouches); and the hit
// ratio during the roll and in the 3 s after it is at least 98% of the one before — the same bound
// as a scale step, since every key has a live copy at every moment and the restored node's entries
// are verified by its peers and the restore job rather than dropped.
import { afterEach, describe, expect, it } from 'vitest';
import { SETTLE_MS } from '../faults/scenario.js';
import { rollUnderLoad } from './rolling-scenario.js';
import { ScaleCluster } from './scale-cluster.js';

let cluster: ScaleCluster | undefined;

afterEach(async () => {
  await cluster?.cleanup();
  cluster = undefined;
});

const MIN_RATIO = 0.98;

describe('a rolling restart under load', () => {
  it('replicas 2, records kept: every node restarted from its snapshot in turn; no error, no stale read, the hit ratio holds', async () => {
    cluster = await ScaleCluster.start({ nodes: 3, members: [0, 1, 2], snapshots: true });
    const result = await rollUnderLoad(cluster, {
      replicas: 2,
      records: 'kept',
      settleMs: SETTLE_MS,
    });
    console.log(`rolling restart, replicas 2, records kept\n${result.summary}`);

    expect(result.errors.length, result.summary).toBe(0);
    expect(result.staleness.stale, result.summary).toBe(0);
    expect(result.during.ratio, result.summary).toBeGreaterThanOrEqual(
      MIN_RATIO * result.before.ratio,
    );
    expect(result.after.ratio, result.summary).toBeGreaterThanOrEqual(
      MIN_RATIO * result.before.ratio,
    );
  }, 60_000);
});
