// A node partitioned away misses overwrites and deletes of its keys; once it answers again, the
// client counts on it (`incr`) or touches it before its hints are replayed. It does not know it
// missed anything — no stall — so without a fence it stamps its stale value above the write it
// missed, and the stale value wins for good: a counter goes back, an overwritten value returns, a
// deleted key comes back. Here the replay is held back deterministically: the stand-in that holds
// the hints is paused until the counting is done.
import { afterEach, describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../../src/index.js';
import { Nemesis } from './nemesis.js';

let nemesis: Nemesis | undefined;
const clients: DistributedCacheClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await nemesis?.cleanup();
  nemesis = undefined;
});

const PARTITIONED = 1;
const OTHER_REPLICA = 0;
const STAND_IN = 2;

function client(urls: string[]): DistributedCacheClient {
  const made = new DistributedCacheClient(urls, {
    replicas: 2,
    writeConsistency: 'all',
    onBackgroundError: () => {},
  });
  clients.push(made);
  return made;
}

/** `count` keys whose replicas are the partitioned node, then the other replica. */
function keysOf(cache: DistributedCacheClient, urls: string[], count: number): string[] {
  const keys: string[] = [];
  for (let i = 0; keys.length < count; i++) {
    const [first, second] = cache.nodesFor(`k${i}`);
    if (first === urls[PARTITIONED] && second === urls[OTHER_REPLICA]) keys.push(`k${i}`);
  }
  return keys;
}

/**
 * Cuts the partitioned node off, reads `counter` until the client marks the node down (its reads
 * time out there first), then counts it up five times on the other replicas; the last count.
 */
async function partitionAndCount(
  faults: Nemesis,
  writer: DistributedCacheClient,
  counter: string,
): Promise<number> {
  const cut = faults.urls[PARTITIONED]!;
  faults.partition(PARTITIONED);
  for (let i = 0; i < 10 && writer.nodesFor(counter).includes(cut); i++) {
    await writer.get(counter).catch(() => undefined);
  }
  expect(writer.nodesFor(counter)).not.toContain(cut);
  let acknowledged = 0;
  for (let i = 0; i < 5; i++) acknowledged = (await writer.incr(counter, 1))!;
  return acknowledged;
}

async function until(probe: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('counting on a node back from a partition', () => {
  it('never stamps what it missed the write of above that write: no counter goes back, no overwritten or deleted value returns', async () => {
    nemesis = await Nemesis.start({ nodes: 3 });
    const urls = nemesis.urls;
    const writer = client(urls);
    const [counter, overwritten, deletedThenTouched, deletedThenCounted] = keysOf(writer, urls, 4);
    await writer.set(counter!, 5);
    await writer.set(overwritten!, 'zzz-old');
    await writer.set(deletedThenTouched!, 'zzz-old');
    await writer.set(deletedThenCounted!, 5);

    const acknowledged = await partitionAndCount(nemesis, writer, counter!);
    expect(await writer.set(overwritten!, 'aaa-new')).toBe(true);
    await writer.delete(deletedThenTouched!);
    await writer.delete(deletedThenCounted!);
    // The stand-in holds the hints for the partitioned node: paused, it cannot replay them.
    nemesis.pause(STAND_IN);
    try {
      nemesis.heal(PARTITIONED);
      await until(() => writer.nodesFor(counter!).includes(urls[PARTITIONED]!), 15_000, 'back up');
      const counted = await writer.incr(counter!, 1);
      expect(counted).toBe(acknowledged + 1);
      expect(await writer.touch(overwritten!, 600_000)).toBe(true);
      expect(await writer.touch(deletedThenTouched!, 600_000)).toBe(false);
      expect(await writer.incr(deletedThenCounted!, 1)).toBeUndefined();
    } finally {
      nemesis.resume(STAND_IN);
    }
    // The settle time (README), then a process that saw none of this reads.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const reader = client(urls);
    expect(await reader.get(counter!)).toBe(acknowledged + 1);
    expect(await reader.get(overwritten!)).toBe('aaa-new');
    expect(await reader.get(deletedThenTouched!)).toBeUndefined();
    expect(await reader.get(deletedThenCounted!)).toBeUndefined();
    expect(await writer.get(counter!)).toBe(acknowledged + 1);
  });

  it('sends no incr or touch to a replica still marked down: back already, it would count on what it missed', async () => {
    // No node takes hints (--peers names none of them): what the partitioned node missed reaches
    // it only through its fence and the reads' verification, so nothing replays it in time by luck.
    nemesis = await Nemesis.start({ nodes: 3, args: ['--peers', 'http://127.0.0.1:1'] });
    const urls = nemesis.urls;
    const writer = client(urls);
    const [counter, overwritten, deleted] = keysOf(writer, urls, 3);
    await writer.set(counter!, 5);
    await writer.set(overwritten!, 'zzz-old');
    await writer.set(deleted!, 'zzz-old');

    const acknowledged = await partitionAndCount(nemesis, writer, counter!);
    expect(await writer.set(overwritten!, 'aaa-new')).toBe(true);
    await writer.delete(deleted!);
    // Hinting waits for the writes still on their way to the cut-off node (its timeout).
    await until(() => writer.getReplicationStats().hintsDropped > 0, 5000, 'hints refused');

    nemesis.heal(PARTITIONED);
    // At once: the client still has the node marked down (its probe runs every second).
    const [counted, touched, touchedDeleted] = await Promise.all([
      writer.incr(counter!, 1),
      writer.touch(overwritten!, 600_000),
      writer.touch(deleted!, 600_000),
    ]);
    expect([counted, touched, touchedDeleted]).toEqual([acknowledged + 1, true, false]);
    await until(() => writer.nodesFor(counter!).includes(urls[PARTITIONED]!), 15_000, 'back up');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const reader = client(urls);
    expect(await reader.get(counter!)).toBe(acknowledged + 1);
    expect(await reader.get(overwritten!)).toBe('aaa-new');
    expect(await reader.get(deleted!)).toBeUndefined();
  });
});

describe('counting on a node that missed a write before it was marked down', () => {
  it('fences it on its return too: a replica partitioned after the write was sent counts on nothing it missed', async () => {
    // Three replicas on four nodes: the write's hint goes to the first natural replica that took
    // it (HOLDER), which is paused during the count so that its replay cannot land first, while
    // the third replica still counts.
    nemesis = await Nemesis.start({ nodes: 4 });
    const urls = nemesis.urls;
    const HOLDER = 0;
    const THIRD = 2;
    const writer = new DistributedCacheClient(urls, {
      replicas: 3,
      writeConsistency: 'all',
      onBackgroundError: () => {},
    });
    clients.push(writer);
    let counter = '';
    for (let i = 0; counter === ''; i++) {
      const [first, second, third] = writer.nodesFor(`k${i}`);
      if (first === urls[PARTITIONED] && second === urls[HOLDER] && third === urls[THIRD]) {
        counter = `k${i}`;
      }
    }
    await writer.set(counter, 5);
    const cut = urls[PARTITIONED]!;
    nemesis.partition(PARTITIONED);
    // Still up to the client when the count is sent: it times out there, and its hint is handed
    // to HOLDER. Only the reads after it mark the node down.
    expect(writer.nodesFor(counter)).toContain(cut);
    expect(await writer.incr(counter, 1)).toBe(6);
    for (let i = 0; i < 10 && writer.nodesFor(counter).includes(cut); i++) {
      await writer.get(counter).catch(() => undefined);
    }
    expect(writer.nodesFor(counter)).not.toContain(cut);
    nemesis.pause(HOLDER);
    try {
      nemesis.heal(PARTITIONED);
      await until(() => writer.nodesFor(counter).includes(cut), 15_000, 'back up');
      expect(await writer.incr(counter, 1)).toBe(7);
    } finally {
      nemesis.resume(HOLDER);
    }
    // The settle time (README), then a process that saw none of this reads.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const reader = new DistributedCacheClient(urls, { replicas: 3, onBackgroundError: () => {} });
    clients.push(reader);
    expect(await reader.get(counter)).toBe(7);
  });
});
