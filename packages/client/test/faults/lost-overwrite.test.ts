// A node stopped (SIGTERM saves its snapshot) while its key is overwritten on the other replica,
// where the overwrite then leaves — by its TTL, or evicted for room. The node restarts from its
// snapshot with the value from before the overwrite, unverified. The other replica misses the key
// with no tombstone; that miss must not vouch for the old copy (its floor covers values it lost),
// so no reader gets the overwritten value back and no read repair spreads it.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../../src/index.js';
import { readOnNode, statNamed, nodeStats } from './node-http.js';
import { useNemesis } from './use-nemesis.js';
import type { Nemesis } from './nemesis.js';

const fixture = useNemesis();

/** A key whose primary is node 1, so writes while node 0 is down complete there. */
function keyOnSecond(client: DistributedCacheClient, nemesis: Nemesis): string {
  for (let n = 0; ; n++) {
    const key = `lost:${n}`;
    if (client.nodesFor(key)[0] === nemesis.urls[1]) return key;
  }
}

/** Node 0 back from its snapshot, then past the settle time, read by a process that saw nothing. */
async function readAfterReturn(nemesis: Nemesis, key: string): Promise<unknown> {
  await nemesis.restart(0, 'snapshot');
  // Past the client's settle time (1.5 s) after a restart, as the other fault tests wait.
  await sleep(3000);
  const fresh = fixture.keep(new DistributedCacheClient(nemesis.urls, { replicas: 2 }));
  return fresh.get(key);
}

describe('an overwrite the other replica lost while a node was down', () => {
  it('by its TTL: the old value does not come back', async () => {
    const nemesis = await fixture.start({ nodes: 2, snapshots: true });
    const writer = fixture.keep(new DistributedCacheClient(nemesis.urls, { replicas: 2 }));
    const key = keyOnSecond(writer, nemesis);
    expect(await writer.set(key, 'v0')).toBe(true);
    await nemesis.stop(0);
    expect(await writer.set(key, 'v1', { ttl: 1500 })).toBe(true);
    expect(await writer.get(key)).toBe('v1');
    await sleep(2500);

    expect(await readAfterReturn(nemesis, key)).toBeUndefined();
    expect(await writer.get(key)).toBeUndefined();
    // Not repaired onto the replica that had lost it either.
    expect((await readOnNode(nemesis.urls[1]!, key)).status).toBe(404);
    expect(statNamed(await nodeStats(nemesis.urls[1]!), 'lostValueFloor')).toBeGreaterThan(0);
  }, 40_000);

  it('evicted for room: the old value does not come back', async () => {
    const nemesis = await fixture.start({
      nodes: 2,
      snapshots: true,
      args: ['--max-memory', '1mb'],
    });
    const writer = fixture.keep(new DistributedCacheClient(nemesis.urls, { replicas: 2 }));
    const key = keyOnSecond(writer, nemesis);
    expect(await writer.set(key, 'v0')).toBe(true);
    await nemesis.stop(0);
    expect(await writer.set(key, 'v1')).toBe(true);
    // Other traffic fills node 1 (1 MiB), which evicts the key first (least recently used).
    const filler = 'x'.repeat(4000);
    for (let i = 0; i < 400; i++) await writer.set(`fill:${i}`, filler);
    expect((await readOnNode(nemesis.urls[1]!, key)).status).toBe(404);

    expect(await readAfterReturn(nemesis, key)).toBeUndefined();
    expect((await readOnNode(nemesis.urls[1]!, key)).status).toBe(404);
  }, 60_000);
});
