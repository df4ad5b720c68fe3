// Two clients that disagree about the ring while a node rejoins it, through CLI-started nodes: a
// pod restarted from its snapshot behind a headless Service that dropped its records meanwhile.
// One client takes the node back first and restores it, which vouches for the node's snapshot copy
// of each key it owns (the peers hold the same stamp). The other, whose DNS view lags and whose
// transition window has closed, still has the node out of its ring and overwrites those keys on
// the other two nodes only. Once it takes the node back too, no read may return the snapshot copy,
// vouched for before that write: a fresh process reading the keys the node is primary for gets the
// overwrite.
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../src/index.js';
import type { ClientOptions } from '../src/index.js';
import { waitFor } from './cluster.js';
import { useNemesis } from './faults/use-nemesis.js';
import { nodeStats, statNamed } from './faults/node-http.js';
import { rawGets } from './raw-node.js';

const fixture = useNemesis();

function connect(urls: readonly string[], options: ClientOptions = {}): DistributedCacheClient {
  const client = new DistributedCacheClient([...urls], {
    replicas: 2,
    writeConsistency: 'all',
    timeout: 5000,
    // Short windows: the writer's must have closed (quiet) before it writes, as in the roll.
    transition: { maxWindowMs: 200, quietMs: 100 },
    ...options,
  });
  return fixture.keep(client);
}

async function fences(url: string): Promise<number> {
  return statNamed(await nodeStats(url), 'fences') ?? 0;
}

describe('a node taken back by a lagging client after another client restored it, replicas 2', () => {
  it('serves none of its vouched-for snapshot copies the lagging client overwrote while it was out', async () => {
    const nemesis = await fixture.start({
      nodes: 3,
      snapshots: true,
      args: ['--stall-threshold', '10000'],
    });
    const urls = nemesis.urls;
    const rejoining = urls[0]!;
    const restorer = connect(urls);
    const lagging = connect(urls);
    const all = Array.from({ length: 400 }, (_, i) => `vouch:${i}`);
    // Keys the rejoining node is primary for: a read asks it first, and it answers alone when
    // it holds the key verified.
    const keys = all.filter((key) => restorer.nodesFor(key)[0] === rejoining);
    expect(keys.length).toBeGreaterThan(50);
    expect(await restorer.setMany(keys.map((key) => [key, 'v1'] as const))).toBe(true);

    // Its records leave DNS: both clients take it out; it stops (snapshot saved) and comes back.
    await Promise.all([
      restorer.removeNode(rejoining),
      lagging.removeNode(rejoining),
      nemesis.stop(0),
    ]);
    await nemesis.restart(0, 'snapshot');

    // The restorer sees its records first: it takes it back and restores it (one client per node
    // start), which vouches for every copy the peers hold with the same stamp.
    await restorer.addNode(rejoining);
    await waitFor(
      async () => (await rawGets(rejoining, keys)).every((held) => held[0] === 200 && !held[6]),
      'the restore to vouch for the rejoining node’s copies',
      { timeoutMs: 10_000 },
    );

    // The lagging client's window closed while the node was out of its ring: its writes go to the
    // two other nodes only, and bury nothing on the rejoining one.
    await waitFor(() => !lagging.getTransitionStats().open, 'the lagging client’s window to close');
    expect(await lagging.setMany(keys.map((key) => [key, 'v2'] as const))).toBe(true);
    expect(lagging.nodesFor(keys[0]!)).not.toContain(rejoining);

    // Its DNS view catches up: it takes the node back (the restore is claimed already).
    const fencesBefore = await fences(rejoining);
    const restoresBefore = lagging.getReplicationStats().restoresRun;
    await lagging.addNode(rejoining);
    // What the lagging client does for the node it took back, given the time to do it (without
    // the fence, nothing happens and the wait runs out).
    await waitFor(async () => (await fences(rejoining)) > fencesBefore, 'a fence', {
      timeoutMs: 3000,
    }).catch(() => undefined);

    // A process that never saw any of it, the node primary on its ring: the overwrite, every key.
    const reader = connect(urls, { transition: { maxWindowMs: 0, quietMs: 1 } });
    const wrong: string[] = [];
    for (const key of keys) {
      const found = await reader.get(key);
      if (found !== 'v2') wrong.push(`${key}=${String(found)}`);
    }
    expect(wrong).toEqual([]);
    expect(lagging.getReplicationStats().fencesSent).toBe(1);
    // And restored it again, though the restorer had claimed this node start's restore: the fence
    // undid what that restore vouched for.
    await waitFor(
      () => lagging.getReplicationStats().restoresRun === restoresBefore + 1,
      'the lagging client’s restore',
    );
  });
});
