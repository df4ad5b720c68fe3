// The case writeConsistency 'one' cannot guarantee (client README, "Consistency"): a write the
// primary acknowledged while the other replica's copy failed, then a read whose primary does not
// answer, before the primary has replayed its hint. The replica serves the older value. It cannot
// be told from a current one, so every such read is counted — by the client, and by the node
// that served it (/v1/stats, /metrics, a log line) — never silent.
import { HashRing } from '@dcache/ring';
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../../src/index.js';
import type { ClientOptions } from '../../src/index.js';
import { useNemesis } from './use-nemesis.js';
import { eventually, metricName, nodeMetrics, nodeStats, statNamed } from './node-http.js';

const fixture = useNemesis();

function client(urls: readonly string[], options: ClientOptions = {}): DistributedCacheClient {
  const made = new DistributedCacheClient([...urls], options);
  return fixture.keep(made);
}

/** A key whose replicas are node 0 (primary) then node 1, on the ring every client builds. */
function keyOnNodes01(urls: readonly string[]): string {
  const ring = new HashRing([...urls]);
  for (let i = 0; ; i++) {
    const [primary, second] = ring.getN(`unvouched:${i}`, 2);
    if (primary === urls[0] && second === urls[1]) return `unvouched:${i}`;
  }
}

/** `unvouchedReads` of one node, from /v1/stats and /metrics (which must agree). */
async function nodeUnvouched(url: string): Promise<number | undefined> {
  const [stats, metrics] = await Promise.all([nodeStats(url), nodeMetrics(url)]);
  const inStats = statNamed(stats, 'unvouchedReads');
  expect(metrics.get(metricName('unvouchedReads', 'counter')), `${url} /metrics`).toBe(inStats);
  return inStats;
}

describe("writeConsistency 'one': a read failing over to a replica that missed a write", () => {
  it('is counted by the reader and by the node that served it, and logged there', async () => {
    const nemesis = await fixture.start({ nodes: 3 });
    const urls = nemesis.urls;
    const [primary, replica] = [urls[0]!, urls[1]!];
    const key = keyOnNodes01(urls);

    const setup = client(urls);
    expect(await setup.set(key, 'old')).toBe(true);
    expect(await setup.get(key)).toBe('old');
    // A read the primary answers is vouched for: nothing counted.
    expect(setup.getReplicationStats().unvouchedReads).toBe(0);
    await setup.close();

    // Fault 1: the replica cut off. A writer that never connected to it (so no request of its
    // lingers in a socket, to land when the partition heals) overwrites the key: the primary
    // acknowledges, so the set succeeds under 'one'; the replica's copy times out, and the primary
    // takes a hint for it.
    nemesis.partition(1);
    const writer = client(urls);
    expect(await writer.set(key, 'new')).toBe(true);
    const hinted = await eventually(
      async () => (statNamed(await nodeStats(primary), 'hintsPending') ?? 0) >= 1,
      5000,
    );
    expect(hinted, 'the primary holds a hint for the replica').toBe(true);
    await writer.close();

    // Fault 2, before the hint is replayed: the primary stops answering (paused, so it cannot
    // replay either), and the replica is reachable again with the old value.
    nemesis.pause(0);
    nemesis.heal(1);
    expect(await client([replica]).get(key), 'the replica missed the write').toBe('old');

    // A reader that never saw the write: its primary times out, the replica serves the old value;
    // then, the primary marked down (one failure is enough here), the replica is asked first.
    const reader = client(urls, { failureThreshold: 1 });
    expect(await reader.get(key)).toBe('old');
    expect(reader.getReplicationStats().unvouchedReads).toBe(1);
    expect(await reader.get(key)).toBe('old');
    expect(reader.getReplicationStats().unvouchedReads).toBe(2);
    expect(await nodeUnvouched(replica)).toBe(2);
    const logged = await eventually(
      async () => nemesis!.output(1).includes('(unvouchedReads)'),
      5000,
    );
    expect(logged, `node 1 logs the read:\n${nemesis.output(1)}`).toBe(true);

    // With 'all' the write could not have succeeded without the replica: its failover reads are
    // vouched for, and not counted.
    const strict = client(urls, { writeConsistency: 'all' });
    expect(await strict.get(key)).toBe('old');
    expect(strict.getReplicationStats().unvouchedReads).toBe(0);
    expect(await nodeUnvouched(replica)).toBe(2);
  });
});
