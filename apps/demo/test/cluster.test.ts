import { afterEach, describe, expect, it } from 'vitest';
import type { Cluster } from '../src/cluster.js';
import { startNodes } from './helpers/nodes.js';

let cluster: Cluster | undefined;
afterEach(async () => {
  // Whatever this test's cluster still runs (a node started after the stop, were it allowed).
  await Promise.all(
    [...(cluster?.nodes ?? []), ...(cluster ? [cluster.spare] : [])].map((node) => node.kill()),
  );
  cluster = undefined;
});

describe('a stopped cluster', () => {
  it('starts no node again: a walkthrough step cut short by a Ctrl-C cannot spawn one after the stop', async () => {
    cluster = await startNodes(3);
    // Section 8 killed node-1; a Ctrl-C stops the cluster before section 9 restarts it, or before
    // section 10 starts the spare. The walkthrough carries on in the background and tries anyway:
    // a node spawned now would outlive the stop and keep the demo's process alive.
    const victim = cluster.nodes[0]!;
    await victim.kill();
    await cluster.stop();
    await expect(victim.start()).rejects.toThrow(/node-1 was not started: the cluster is stopping/);
    await expect(cluster.spare.start()).rejects.toThrow(
      /node-4 was not started: the cluster is stopping/,
    );
    expect(victim.running).toBe(false);
    expect(cluster.spare.running).toBe(false);
  });
});
