// Issue #18: a rolling restart of all three nodes under cache traffic, one node at a time: SIGTERM
// (it saves its snapshot and exits), a restart from the snapshot on the same address and port, and
// the next node 3 s after the restart (as a StatefulSet's minReadySeconds would). Two load worker processes follow the
// DNS records (dns+srv://, every 500 ms) with replicas 2. The records name all three nodes
// throughout: a StatefulSet's pod names are stable, and a headless Service with
// publishNotReadyAddresses true keeps a restarting pod's records.
//
// Bounds, with replicas 2 (each key keeps a live copy while one node restarts): no call fails (the
// client fails over to the other replica while a node is down; a set in flight when its primary
// stops answers false — taken by the other replica, not the primary — and counts only then); the
// checker finds no stale read begun outside the nodes' settling windows (the snapshot's entries are
// old: never-stale's fence holds them back until a peer vouches), and within them at most 0.1% of
// the roll's gets; and the hit ratio during the roll and in the 3 s after it is at least 95% of the
// one before. Not 98% as for a scale step: a restored node's entries are unverified until a peer
// vouches for them (on a read, or by the clients' restore of the node, which runs at
// `restoreRate`); a key whose other natural replica restarts before that is vouched for by neither
// and read as a miss. On an idle machine the restore finishes within the gap (100% measured); at a
// load average of 13–18 it did not always (94–100%).
//
// Settling windows: from a node's SIGTERM to the client README's settle time (1.5 s) after it is
// back. The load uses writeConsistency 'one', the default, whose documented exception allows a
// stale read there: a client that still has the node marked down reads the other replica, where a
// completed write may still be on its way. This file failed so in 1 run of 4 while it asserted
// none (test/scale/README.md has the trace): with the records removed, a client whose ring still
// lacked the restarted node read a key's second owner 7 ms after a set had completed at its
// primary, before the copy arrived; a set in a transition window now waits for that owner too
// (write.ts). The window cannot tell that read from a failover read, so this test does not guard
// that fix: warm-lagging-client.test.ts does. With the records kept, the read (23 ms after the
// node's return) was not traced; it fits the failover read above.
//
// The same roll with each node's records removed while it restarts, as deploy/'s headless Service
// does (publishNotReadyAddresses false): every client's ring goes 3 → 2 → 3 per node, at times a
// lookup apart, so for a moment one client writes a key's new owners and buries its copy on the
// restarting node while another still reads it there. Same bounds. Before transition-ops.ts sent
// that bury to a node its writer still had marked down, 3 of 32 runs of repro-roll-dns.ts read a
// replaced value so (the node was back, vouched for by a restore; the hint that went instead was
// not delivered in those runs, whose nodes could not resolve the clients' DNS names). A rarer
// mechanism, seen once in those 32 runs, is most likely the one traced above
// (test/scale/README.md). Should this test fail on a stale read, its message names the key and the
// write.
//
// The nodes resolve the pod names as clients do (scale-cluster.ts), so writes a restarting node
// missed reach it as hints once it is back: the test checks that some were delivered, or it would
// not cover that path.
import { afterEach, describe, expect, it } from 'vitest';
import { rollUnderLoad } from './rolling-scenario.js';
import type { RollOptions } from './rolling-scenario.js';
import { ScaleCluster } from './scale-cluster.js';

let cluster: ScaleCluster | undefined;

afterEach(async () => {
  await cluster?.cleanup();
  cluster = undefined;
});

const MIN_RATIO = 0.95;
/** Stale reads begun in settling windows, as a share of the gets during the roll (seen: 0–1 of ~7,500). */
const MAX_STALE_SETTLING = 0.001;
const GAP_MS = 3000;

const cases: [string, RollOptions['records'], string][] = [
  [
    'replicas 2, records kept: every node restarted from its snapshot in turn; no error, no stale read outside the settling windows, the hit ratio holds, hints delivered',
    'kept',
    'records kept',
  ],
  [
    'replicas 2, records removed while each node restarts: no error, no stale read outside the settling windows, the hit ratio holds, hints delivered',
    'removed',
    'records removed while restarting',
  ],
];

describe('a rolling restart under load', () => {
  it.each(cases)(
    '%s',
    async (_name, records, label) => {
      cluster = await ScaleCluster.start({ nodes: 3, members: [0, 1, 2], snapshots: true });
      const result = await rollUnderLoad(cluster, { replicas: 2, records, settleMs: GAP_MS });
      console.log(`rolling restart, replicas 2, ${label}\n${result.summary}`);

      expect(result.errors.length, result.summary).toBe(0);
      expect(result.staleOutsideSettling, result.summary).toStrictEqual([]);
      expect(result.staleWhileSettling.length, result.summary).toBeLessThanOrEqual(
        Math.ceil(MAX_STALE_SETTLING * result.during.gets),
      );
      expect(result.during.ratio, result.summary).toBeGreaterThanOrEqual(
        MIN_RATIO * result.before.ratio,
      );
      expect(result.after.ratio, result.summary).toBeGreaterThanOrEqual(
        MIN_RATIO * result.before.ratio,
      );
      expect(result.hintsReplayed, result.summary).toBeGreaterThan(0);
    },
    60_000,
  );
});
