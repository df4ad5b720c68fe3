import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/observability/logger.js';
import { ReplicaStore } from '../src/replication/replica-store.js';
import { NodeSnapshot } from '../src/snapshot/node-snapshot.js';
import { ENTRIES_PER_PIECE, decodeSnapshot } from '../src/snapshot/snapshot-format.js';
import { manualClock } from './helpers.js';
import { newCache } from './memcached/helpers.js';

/**
 * A save dumps the cache at once, then encodes the dump over several turns of the event loop,
 * while the node keeps serving. A touch stamps the stored value in place (ReplicaStore.retouch):
 * the snapshot must hold each entry as it was at the dump — its stamp with its TTL — not the
 * touch's stamp beside the TTL from before the touch, which a peer holding the touched write
 * would then vouch for.
 */

let dir: string;
let file: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dcache-snapshot-touch-'));
  file = join(dir, 'cache.snapshot');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function node(clock: ReturnType<typeof manualClock>) {
  const replicas = new ReplicaStore(newCache(clock.now), {
    tombstoneGrace: 600_000,
    maxClockSkew: 500,
    now: clock.now,
  });
  const logger = createLogger({ level: 'silent', node: 'test' });
  return { replicas, snapshot: new NodeSnapshot(file, replicas, clock.now, logger) };
}

describe('a touch while a save is encoding', () => {
  it('the file holds the entry as dumped (stamp and TTL of one moment), and a restore does not outlive the touch', async () => {
    const clock = manualClock(1_700_000_000_000);
    const first = node(clock);
    const value = () => ({ bytes: new Uint8Array([1]), flags: 0 });
    // Past the first piece, so that the hot entry is packed after a turn of the event loop.
    for (let i = 0; i < ENTRIES_PER_PIECE + 10; i++) {
      first.replicas.set(`k${i}`, value(), { ttl: 600_000 });
    }
    first.replicas.set('hot', value(), { ttl: 600_000 });
    const before = first.replicas.peekEntry('hot')!.value.stamp!;

    const saving = first.snapshot.save(); // dumps now
    const touched = first.replicas.retouch('hot', 1_000)!.stamp; // a touch served while it encodes
    expect(touched).toBeGreaterThan(before);
    await saving;

    const record = decodeSnapshot(file, await readFile(file)).entries.find(
      ([key]) => key === 'hot',
    )![1];
    // As at the dump: the stamp from before the touch, with the TTL from before the touch.
    expect({ stamp: record.value.stamp, ttl: record.ttl }).toEqual({ stamp: before, ttl: 600_000 });

    // The consequence: restarted from that file, a peer holding the touched write (stamp
    // `touched`, TTL 1 s) must not vouch for an entry that then lives on for 10 minutes.
    const second = node(clock);
    await second.snapshot.restore();
    expect(second.replicas.verify('hot', touched).verified).toBe(false);
    clock.advance(2_000);
    expect(second.replicas.get('hot')).toBeUndefined();
  });
});
