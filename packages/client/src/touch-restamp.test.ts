// A touch is sent again above a write that outstamped it (replicated-ops.ts writeNewest), as a set
// is — but only when a replica says it kept that write instead. With stub nodes: each holds the key
// under a stamp ahead of this client's clock (written by a client whose clock is ahead), and
// answers touches as a node of this release does or as one of the previous release did.
import { stampAt } from '@dcache/core';
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster } from './cluster.js';
import type { NodeClient } from './node-client.js';
import { resolveOptions } from './options.js';
import { touchEverywhere } from './replicated-ops.js';
import type { BatchOp, BatchResult } from './wire.js';

// Nothing listens there; every node's `run` is replaced below.
const URLS = ['http://127.0.0.1:9', 'http://127.0.0.2:9'];
const KEY = 'k';

const clusters: Cluster[] = [];
afterEach(async () => {
  for (const cluster of clusters.splice(0)) await cluster.close();
});

/** How a node answers a stamped touch of an entry stamped `held`: its answer, and the new stamp. */
type Touching = (stamp: number, held: number) => [BatchResult, number];

/** This release: one at or below the entry changes nothing, answered superseded. */
const current: Touching = (stamp, held) =>
  stamp <= held ? [[204, held, true], held] : [[204, stamp], stamp];
/** The previous release: applied, stamped above the entry (`max(stamp, held + 1)`). */
const previous: Touching = (stamp, held) => {
  const next = Math.max(stamp, held + 1);
  return [[204, next], next];
};

/** Two replicas holding the key at `held`, answering touches as `touching`; every touch sent. */
function stubbed(touching: Touching, held: number) {
  const cluster = new Cluster(
    resolveOptions(URLS, { replicas: 2, failureThreshold: 1000, transition: { maxWindowMs: 0 } }),
  );
  clusters.push(cluster);
  const touches: number[] = [];
  for (const node of cluster.nodes) {
    let stamp = held;
    (node as { run: NodeClient['run'] }).run = (op: BatchOp): Promise<BatchResult> => {
      if (op[0] !== 'touch') return Promise.reject(new Error(`unexpected ${op[0]}`));
      touches.push(op[3]!);
      const [answer, next] = touching(op[3]!, stamp);
      stamp = next;
      return Promise.resolve(answer);
    };
  }
  return { cluster, touches };
}

describe('touch of an entry stamped ahead of this client', () => {
  it('a replica that kept the write instead: sent again above it, counted', async () => {
    const ahead = stampAt(Date.now() + 300);
    const { cluster, touches } = stubbed(current, ahead);
    expect(await touchEverywhere(cluster, KEY, 5000, true)).toBe(true);
    expect(touches).toHaveLength(4);
    expect(touches[2]).toBeGreaterThan(ahead);
    expect(cluster.counters.restampedWrites).toBe(1);
  });

  it('nodes of the previous release, which applied it above the entry: sent once, not counted', async () => {
    const ahead = stampAt(Date.now() + 300);
    const { cluster, touches } = stubbed(previous, ahead);
    expect(await touchEverywhere(cluster, KEY, 5000, true)).toBe(true);
    expect(touches).toHaveLength(2);
    expect(cluster.counters.restampedWrites).toBe(0);
  });
});
