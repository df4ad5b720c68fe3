// A scale-up and back down inside one transition window (a flapping record set, an autoscaler
// changing its mind within maxWindowMs), through CLI-started nodes: every write, incr and delete
// that completed while the key lived on the node that came and went is what a read finds after
// it left — never a miss for a completed write, never a value it replaced.
import { afterEach, describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../src/index.js';
import { startRingChangeNodes, stopCliNodes } from './cli-nodes.js';
import { waitFor } from './cluster.js';

const clients: DistributedCacheClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await stopCliNodes();
});

const KEYS = Array.from({ length: 300 }, (_, i) => `updown:${i}`);

function connect(nodes: readonly string[], replicas: number): DistributedCacheClient {
  const client = new DistributedCacheClient([...nodes], {
    replicas,
    writeConsistency: 'all',
    timeout: 5000,
    // Open for the whole test: both changes fall in one window.
    transition: { maxWindowMs: 60_000, quietMs: 60_000 },
  });
  clients.push(client);
  return client;
}

for (const replicas of [1, 2]) {
  describe(`scale 3 → 4 → 3 in one window, replicas ${replicas}`, () => {
    it('keys set, counted and deleted while the fourth node owned them read back as written', async () => {
      const [a, b, c, d] = await startRingChangeNodes(4);
      const client = connect([a!.url, b!.url, c!.url], replicas);
      expect(await client.setMany(KEYS.map((key) => [key, 'before'] as const))).toBe(true);
      client.addNode(d!.url);
      // The keys the fourth node now owns (every one moved to it).
      const onD = KEYS.filter((key) => client.nodesFor(key).includes(d!.url));
      expect(onD.length).toBeGreaterThan(30);
      const third = Math.floor(onD.length / 3);
      const written = onD.slice(0, third);
      const counted = onD.slice(third, 2 * third);
      const deleted = onD.slice(2 * third);
      for (const key of written) expect(await client.set(key, `during:${key}`)).toBe(true);
      for (const key of counted) {
        expect(await client.set(key, 5)).toBe(true);
        expect(await client.incr(key, 2)).toBe(7);
      }
      for (const key of deleted) expect(await client.delete(key)).toBe(true);

      expect(await client.removeNode(d!.url)).toBe(true);
      // d is still running (a leaving node serves reads until the window closes).
      const read = async (reader: DistributedCacheClient): Promise<string[]> => {
        const wrong: string[] = [];
        for (const key of written) {
          const value = await reader.get(key);
          if (value !== `during:${key}`) wrong.push(`${key}=${String(value)}`);
        }
        for (const key of counted) {
          const value = await reader.get(key);
          if (value !== 7) wrong.push(`${key}=${String(value)}`);
        }
        for (const key of deleted) {
          const value = await reader.get(key);
          if (value !== undefined) wrong.push(`${key}=${String(value)}`);
        }
        return wrong;
      };
      expect(await read(client)).toStrictEqual([]);
      // Copied back to the owners they returned to: a client that never had a window (it reads
      // the owners only) finds the same, also once the fourth node is gone.
      const late = connect([a!.url, b!.url, c!.url], replicas);
      await waitFor(async () => (await read(late)).length === 0, 'the copies to be backfilled');
      await d!.stop();
      expect(await read(late)).toStrictEqual([]);
      expect(await read(client)).toStrictEqual([]);
      // The counters keep counting from where they were, instead of restarting.
      expect(await client.incr(counted[0]!, 1, { initial: 0 })).toBe(8);
      expect(await late.get(counted[0]!)).toBe(8);
    });
  });
}
