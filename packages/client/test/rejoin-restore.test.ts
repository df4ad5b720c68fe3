// A node that leaves the ring and joins it again — a pod restarted behind a headless Service that
// drops a stopping pod's records (deploy/'s publishNotReadyAddresses: false) — gets the restore a
// node seen up again gets: it comes back from its snapshot holding what it had at SIGTERM, and the
// keys it owns are copied to it from the other replicas (what was written while it was away; what
// still stands verified), instead of it serving misses until each key's next set. What it still
// holds as the other replica lists it is vouched for by a `verify`, no value sent. CLI nodes.
import { describe, expect, it } from 'vitest';
import { encodeValue } from '../src/codec.js';
import { DistributedCacheClient } from '../src/index.js';
import { waitFor } from './cluster.js';
import { useNemesis } from './faults/use-nemesis.js';
import { heldOnNode, nodeStats, readOnNode, statNamed } from './faults/node-http.js';

const fixture = useNemesis();

/**
 * Three CLI nodes with snapshots and a client (replicas 2, writeConsistency 'all') that wrote
 * `keys` as v1; node 0 taken out of the ring and stopped, `changed` rewritten as v2 meanwhile, and
 * node 0 restarted from its snapshot, not yet back in the client's ring.
 */
async function rejoiningNode(keys: readonly string[], changed: readonly string[]) {
  const nemesis = await fixture.start({ nodes: 3, snapshots: true });
  const client = new DistributedCacheClient(nemesis.urls, {
    replicas: 2,
    writeConsistency: 'all',
    timeout: 5000,
  });
  fixture.keep(client);
  expect(await client.setMany(keys.map((key) => [key, 'v1'] as const))).toBe(true);
  // Out of the ring and stopped (its snapshot saved), as its records leave DNS.
  const returning = nemesis.urls[0]!;
  await Promise.all([client.removeNode(returning), nemesis.stop(0)]);
  expect(await client.setMany(changed.map((key) => [key, 'v2'] as const))).toBe(true);
  await nemesis.restart(0, 'snapshot');
  return { client, returning };
}

describe('a node that rejoins the ring, replicas 2', () => {
  it('gets the keys it owns copied from the other replicas: those written while it was out too', async () => {
    const keys = Array.from({ length: 150 }, (_, i) => `rejoin:${i}`);
    const { client, returning } = await rejoiningNode(keys, keys);
    const restores = client.getReplicationStats().restoresRun;
    client.addNode(returning);
    // Checked on the node itself: a read through the client would repair the key and hide a
    // restore that never ran.
    const owned = keys.filter((key) => client.nodesFor(key).includes(returning));
    expect(owned.length).toBeGreaterThan(50);
    const v2 = encodeValue('v2').bytes;
    const stale = async (): Promise<string[]> => {
      const wrong: string[] = [];
      for (const key of owned) {
        const held = await readOnNode(returning, key);
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

  it('vouches for what it still holds and copies only what changed while it was away', async () => {
    const keys = Array.from({ length: 200 }, (_, i) => `vouch:${i}`);
    const changed = new Set(keys.filter((_, i) => i % 4 === 0));
    const { client, returning } = await rejoiningNode(keys, [...changed]);
    const before = await nodeStats(returning);
    client.addNode(returning);

    const owned = keys.filter((key) => client.nodesFor(key).includes(returning));
    const ownedChanged = owned.filter((key) => changed.has(key));
    expect(owned.length).toBeGreaterThan(80);
    expect(ownedChanged.length).toBeGreaterThan(10);
    // Read on the node itself, verified or not (a read through the client would verify it).
    const wrong = async (): Promise<string[]> => {
      const found: string[] = [];
      for (const key of owned) {
        const held = await heldOnNode(returning, key);
        const want = encodeValue(changed.has(key) ? 'v2' : 'v1').bytes;
        if (held.status !== 200 || held.unverified || !Buffer.from(held.bytes).equals(want)) {
          found.push(key);
        }
      }
      return found;
    };
    await waitFor(async () => (await wrong()).length === 0, 'every owned key held, verified', {
      timeoutMs: 8000,
    });

    const after = await nodeStats(returning);
    const grew = (name: string): number =>
      (statNamed(after, name) ?? 0) - (statNamed(before, name) ?? 0);
    // Values travelled only for the keys overwritten while it was away: by the restore, and by
    // the hints of those writes (a copy arriving second, with the same stamp, counts as applied).
    const hints = client.getReplicationStats().hintsHandedOff;
    expect(hints).toBeLessThanOrEqual(ownedChanged.length);
    expect(grew('copiesApplied')).toBeLessThanOrEqual(ownedChanged.length + hints);
    expect(grew('verifications')).toBeGreaterThanOrEqual(owned.length - ownedChanged.length);
    expect(grew('restoredKeys')).toBeGreaterThanOrEqual(owned.length);
    expect(client.getReplicationStats().restoredKeys).toBeGreaterThanOrEqual(owned.length);
  });
});
