// A node that leaves the ring and joins it again — a pod restarted behind a headless Service that
// drops a stopping pod's records (deploy/'s publishNotReadyAddresses: false) — gets the restore a
// node seen up again gets: it comes back from its snapshot holding what it had at SIGTERM, and the
// keys it owns are copied to it from the other replicas (what was written while it was away; what
// still stands verified), instead of it serving misses until each key's next set. CLI nodes.
import { describe, expect, it } from 'vitest';
import { encodeValue } from '../src/codec.js';
import { DistributedCacheClient } from '../src/index.js';
import { waitFor } from './cluster.js';
import { useNemesis } from './faults/use-nemesis.js';
import { readOnNode } from './faults/node-http.js';

const fixture = useNemesis();

const KEYS = Array.from({ length: 150 }, (_, i) => `rejoin:${i}`);

describe('a node that rejoins the ring, replicas 2', () => {
  it('gets the keys it owns copied from the other replicas: those written while it was out too', async () => {
    const nemesis = await fixture.start({
      nodes: 3,
      snapshots: true,
    });
    const urls = nemesis.urls;
    const client = new DistributedCacheClient(urls, {
      replicas: 2,
      writeConsistency: 'all',
      timeout: 5000,
    });
    fixture.keep(client);
    expect(await client.setMany(KEYS.map((key) => [key, 'v1'] as const))).toBe(true);
    // Out of the ring and stopped (its snapshot saved), as its records leave DNS.
    const [rejoining] = urls;
    await Promise.all([client.removeNode(rejoining!), nemesis.stop(0)]);
    expect(await client.setMany(KEYS.map((key) => [key, 'v2'] as const))).toBe(true);
    await nemesis.restart(0, 'snapshot');
    const restores = client.getReplicationStats().restoresRun;
    client.addNode(rejoining!);
    // Checked on the node itself: a read through the client would repair the key and hide a
    // restore that never ran.
    const owned = KEYS.filter((key) => client.nodesFor(key).includes(rejoining!));
    expect(owned.length).toBeGreaterThan(50);
    const v2 = encodeValue('v2').bytes;
    const stale = async (): Promise<string[]> => {
      const wrong: string[] = [];
      for (const key of owned) {
        const held = await readOnNode(rejoining!, key);
        if (held.status !== 200 || !Buffer.from(held.bytes).equals(Buffer.from(v2))) {
          wrong.push(key);
        }
      }
      return wrong;
    };
    await waitFor(async () => (await stale()).length === 0, 'the rejoined node to hold v2', {
      timeoutMs: 5000,
    });
    expect(client.getReplicationStats().restoresRun).toBe(restores + 1);
    expect(client.getReplicationStats().restoredKeys).toBeGreaterThanOrEqual(owned.length);
  });
});
