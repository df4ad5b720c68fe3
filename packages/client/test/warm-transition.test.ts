// Warm transitions through CLI-started nodes: after addNode / removeNode, keys written before the
// change are hits (fallback to their previous owners, backfilled), writes and deletes made during
// the window are never shadowed by an old copy, and the window closes (quiet, max-window).
import { afterEach, describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../src/index.js';
import type { ClientOptions, TransitionEvent } from '../src/index.js';
import { startRingChangeNodes, stopCliNodes } from './cli-nodes.js';
import type { CliNode } from './cli-nodes.js';
import { waitFor } from './cluster.js';

const clients: DistributedCacheClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await stopCliNodes();
});

const KEYS = Array.from({ length: 200 }, (_, i) => `warm:${i}`);
/**
 * quietMs for tests that read moved keys and then wait for the window to go quiet: above the
 * pauses a loaded machine puts between two steps of a test (over 1 s seen), below waitFor's 10 s.
 */
const QUIET_MS = 3000;

function connect(nodes: readonly string[], options: ClientOptions): DistributedCacheClient {
  // A generous timeout: CLI nodes on a loaded 2-core machine must not look failed.
  const client = new DistributedCacheClient([...nodes], { timeout: 5000, ...options });
  clients.push(client);
  return client;
}

/**
 * Four CLI nodes and a client of the first three (replicas 1) whose window stays open for
 * `maxWindowMs` 60 s and goes quiet after `quietMs`, recording its transition events; the fourth
 * node is the one to add.
 */
async function watchedClient(quietMs: number): Promise<{
  client: DistributedCacheClient;
  events: TransitionEvent[];
  nodes: CliNode[];
}> {
  const [a, b, c, d] = await startRingChangeNodes(4);
  const events: TransitionEvent[] = [];
  const client = connect([a!.url, b!.url, c!.url], {
    replicas: 1,
    transition: { maxWindowMs: 60_000, quietMs },
    onTransition: (event) => events.push(event),
  });
  return { client, events, nodes: [a!, b!, c!, d!] };
}

/** `POST /v1/batch` requests `node` has served. */
async function batchRequests(node: CliNode): Promise<number> {
  const stats = (await (await fetch(`${node.url}/v1/stats`)).json()) as {
    requests: Record<string, number>;
  };
  return stats.requests.batch ?? 0;
}

/** Keys whose natural replicas changed between `before` and now, for `client`'s ring. */
function movedKeys(before: Map<string, string[]>, client: DistributedCacheClient): string[] {
  return KEYS.filter((key) => {
    const now = client.nodesFor(key);
    return before.get(key)!.some((url) => !now.includes(url));
  });
}

/**
 * Of `keys`, those none of whose natural replicas now held them before: only a fallback finds
 * them (the others are found on a replica that kept them, and read-repaired from it).
 */
function onlyBefore(
  keys: readonly string[],
  before: Map<string, string[]>,
  client: DistributedCacheClient,
): string[] {
  return keys.filter((key) => !client.nodesFor(key).some((url) => before.get(key)!.includes(url)));
}

function owners(client: DistributedCacheClient): Map<string, string[]> {
  return new Map(KEYS.map((key) => [key, client.nodesFor(key)]));
}

for (const replicas of [1, 2]) {
  describe(`warm transitions, replicas ${replicas}`, () => {
    it('addNode 3→4: keys written before are hits after, backfilled to the new node; a write and a delete during the window hold', async () => {
      const [a, b, c, d] = await startRingChangeNodes(4);
      const events: TransitionEvent[] = [];
      const client = connect([a!.url, b!.url, c!.url], {
        replicas,
        writeConsistency: 'all',
        // The window stays open for the whole test (closing is tested below).
        transition: { maxWindowMs: 60_000, quietMs: 60_000 },
        onTransition: (event) => events.push(event),
      });
      expect(await client.setMany(KEYS.map((key) => [key, `v1:${key}`] as const))).toBe(true);
      const before = owners(client);
      client.addNode(d!.url);
      expect(events.map((event) => [event.phase, event.added])).toStrictEqual([['open', [d!.url]]]);
      const moved = movedKeys(before, client);
      expect(moved.length).toBeGreaterThan(20);
      const [written, deleted, ...rest] = moved;

      // During the window: a write and a delete of moved keys go to the new owners and bury the
      // old copies, so no fallback can find them.
      expect(await client.set(written!, 'v2')).toBe(true);
      expect(await client.delete(deleted!)).toBe(true);
      const previous = (key: string): CliNode[] =>
        [a!, b!, c!].filter(
          (node) => before.get(key)!.includes(node.url) && !client.nodesFor(key).includes(node.url),
        );
      for (const node of previous(written!)) expect(await node.holds(written!)).toBe(false);
      for (const node of previous(deleted!)) expect(await node.holds(deleted!)).toBe(false);

      const found = await client.getMany(KEYS);
      const wrong = KEYS.filter((key) => {
        if (key === written) return found.get(key) !== 'v2';
        if (key === deleted) return found.has(key);
        return found.get(key) !== `v1:${key}`;
      });
      expect(wrong).toStrictEqual([]);
      const stats = (await client.getStats()).transition;
      expect(stats.open).toBe(true);
      expect(stats.transitions).toBe(1);
      expect(stats.invalidated).toBeGreaterThanOrEqual(2);
      // Every key no new owner held came from a previous owner (with replicas 2 one node added
      // leaves one old owner of every key among its new ones: read repair warms those).
      const fallbackOnly = onlyBefore(rest, before, client);
      if (replicas === 1) expect(fallbackOnly).toStrictEqual(rest);
      expect(stats.fallbackHits).toBe(fallbackOnly.length);
      await waitFor(
        async () => (await client.getStats()).transition.backfilled >= stats.fallbackHits,
        'the fallback hits to be backfilled',
      );
      // The new node holds what it now owns first, without any new set.
      const led = rest.filter((key) => client.nodesFor(key)[0] === d!.url);
      expect(led.length).toBeGreaterThan(0);
      for (const key of led.slice(0, 20)) expect(await d!.holds(key)).toBe(true);

      // A client that joined after the change never saw the window: it reads the new owners only,
      // which hold the write, the delete's tombstone and the backfilled keys.
      const late = connect([a!.url, b!.url, c!.url, d!.url], { replicas });
      expect(await late.get(written!)).toBe('v2');
      expect(await late.get(deleted!)).toBeUndefined();
      const lateFound = await late.getMany(rest);
      expect(rest.filter((key) => lateFound.get(key) !== `v1:${key}`)).toStrictEqual([]);
    });

    it('removeNode 4→3: the removed node stays a fallback source until the window goes quiet, then gets nothing', async () => {
      const nodes = await startRingChangeNodes(4);
      const events: TransitionEvent[] = [];
      const client = connect(
        nodes.map((node) => node.url),
        {
          replicas,
          writeConsistency: 'all',
          // Quiet long enough that the reads below come first: the window closes quietMs after
          // the change when no read has fallen back yet, and a loaded machine took over 400 ms to
          // get from the change to them (52 keys missed).
          transition: { maxWindowMs: 60_000, quietMs: QUIET_MS },
          onTransition: (event) => events.push(event),
        },
      );
      expect(await client.setMany(KEYS.map((key) => [key, `v1:${key}`] as const))).toBe(true);
      const leaving = nodes[0]!;
      const before = owners(client);
      expect(await client.removeNode(leaving.url)).toBe(true);
      const moved = movedKeys(before, client);
      const [deleted] = moved;
      // With replicas 1 only the removed node held it: its answer counts.
      expect(await client.delete(deleted!)).toBe(true);
      expect(await leaving.holds(deleted!)).toBe(false);
      const found = await client.getMany(KEYS);
      expect(KEYS.filter((key) => key !== deleted && found.get(key) !== `v1:${key}`)).toStrictEqual(
        [],
      );
      expect(found.has(deleted!)).toBe(false);
      const stats = (await client.getStats()).transition;
      expect(stats.fallbackReads).toBeGreaterThan(0);
      expect(stats.fallbackHits).toBe(onlyBefore(moved.slice(1), before, client).length);
      // A late client sees the delete too.
      const late = connect(
        nodes.slice(1).map((node) => node.url),
        { replicas },
      );
      expect(await late.get(deleted!)).toBeUndefined();

      await waitFor(() => events.some((event) => event.phase === 'close'), 'the window to close', {
        timeoutMs: 10_000,
      });
      const close = events.find((event) => event.phase === 'close')!;
      expect(close.reason).toBe('quiet');
      expect(close.removed).toStrictEqual([leaving.url]);
      expect(close.stats.open).toBe(false);
      expect((await client.getStats()).transition.lastCloseReason).toBe('quiet');
      // Closed: the removed node is asked nothing more (its node client is closed), even for keys
      // that only it held before (replicas 1: none is left, every one was backfilled).
      const served = await batchRequests(leaving);
      await client.getMany(KEYS);
      await client.set(moved[1]!, 'after');
      expect(await batchRequests(leaving)).toBe(served);
      expect(await client.get(moved[1]!)).toBe('after');
    });
  });
}

describe('warm transitions: the window', () => {
  it('a client closed with its window open reports it closed, with no close event', async () => {
    const {
      client,
      events,
      nodes: [, , , d],
    } = await watchedClient(60_000);
    client.addNode(d!.url);
    expect(client.getTransitionStats()).toMatchObject({ open: true, lastCloseReason: null });
    await client.close();
    expect(client.getTransitionStats()).toMatchObject({
      open: false,
      openedAt: null,
      transitions: 1,
      lastCloseReason: 'client-closed',
    });
    expect(events.map((event) => event.phase)).toStrictEqual(['open']);
  });

  it('an idle client keeps its window past quietMs: its first read after the change finds the moved keys, then the window goes quiet', async () => {
    const {
      client,
      events,
      nodes: [, , , d],
    } = await watchedClient(300);
    expect(await client.setMany(KEYS.map((key) => [key, key] as const))).toBe(true);
    const before = owners(client);
    client.addNode(d!.url);
    const moved = movedKeys(before, client);
    expect(moved.length).toBeGreaterThan(20);
    // Idle for several quiet periods (the window's timer looks every 75 ms meanwhile).
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(client.getTransitionStats()).toMatchObject({ open: true, fallbackReads: 0 });
    const firstRead = Date.now();
    const found = await client.getMany(moved);
    expect(moved.filter((key) => found.get(key) !== key)).toStrictEqual([]);
    // Every moved key is on its new owner now: nothing more to find, so quiet counts down.
    await waitFor(() => events.length === 2, 'the window to close', { timeoutMs: 5000 });
    expect(Date.now() - firstRead).toBeGreaterThanOrEqual(300);
    expect(events[1]).toMatchObject({
      phase: 'close',
      reason: 'quiet',
      added: [d!.url],
      stats: { fallbackHits: moved.length },
    });
  });

  it('closes at maxWindowMs when that comes before quietMs', async () => {
    const [a, b] = await startRingChangeNodes(2);
    const events: TransitionEvent[] = [];
    const client = connect([a!.url], {
      replicas: 1,
      transition: { maxWindowMs: 300, quietMs: 60_000 },
      onTransition: (event) => events.push(event),
    });
    client.addNode(b!.url);
    await waitFor(() => events.length === 2, 'the window to close', { timeoutMs: 5000 });
    expect(events[1]).toMatchObject({ phase: 'close', reason: 'max-window', added: [b!.url] });
  });

  it('a removed node is asked nothing maxWindowMs after its removal, though a flapping node keeps the window open', async () => {
    const [a, b, leaving, flapping] = await startRingChangeNodes(4);
    const client = connect([a!.url, b!.url, leaving!.url], {
      replicas: 1,
      transition: { maxWindowMs: 2000, quietMs: 60_000 },
    });
    expect(await client.setMany(KEYS.map((key) => [key, key] as const))).toBe(true);
    expect(await client.removeNode(leaving!.url)).toBe(true);
    const removedAt = Date.now();
    // A record set that keeps changing: a change every 150 ms, past maxWindowMs since the removal.
    for (let i = 0; Date.now() - removedAt < 2600 || i % 2 === 1; i++) {
      if (i % 2 === 0) client.addNode(flapping!.url);
      else await client.removeNode(flapping!.url);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    expect((await client.getStats()).transition.open).toBe(true);
    const served = await batchRequests(leaving!);
    await client.getMany(KEYS);
    expect(await batchRequests(leaving!)).toBe(served);
  });

  it('is off with maxWindowMs 0: a moved key is a miss (the cold dip the window avoids)', async () => {
    const [a, b, c, d] = await startRingChangeNodes(4);
    const client = connect([a!.url, b!.url, c!.url], {
      replicas: 1,
      transition: { maxWindowMs: 0 },
    });
    expect(await client.setMany(KEYS.map((key) => [key, key] as const))).toBe(true);
    const before = owners(client);
    client.addNode(d!.url);
    const moved = movedKeys(before, client);
    const found = await client.getMany(moved);
    expect(found.size).toBe(0);
    expect((await client.getStats()).transition).toMatchObject({ open: false, transitions: 0 });
  });

  it('a read falling back while a write of the key is in flight never wins over the write', async () => {
    const [a, b, c, d] = await startRingChangeNodes(4);
    const client = connect([a!.url, b!.url, c!.url], {
      replicas: 1,
      transition: { maxWindowMs: 60_000, quietMs: 60_000 },
    });
    expect(await client.setMany(KEYS.map((key) => [key, 'old'] as const))).toBe(true);
    const before = owners(client);
    client.addNode(d!.url);
    const moved = movedKeys(before, client);
    // Each read and write issued together: the read misses on the new owner, falls back to the
    // old copy and backfills it while the write lands. Whatever the order, the write's newer
    // stamp keeps it on the new owner (and buries the old copy).
    await Promise.all(moved.flatMap((key) => [client.get(key), client.set(key, 'new')]));
    // Single gets, so that an unreachable node rejects instead of leaving keys out.
    const late = connect([a!.url, b!.url, c!.url, d!.url], { replicas: 1 });
    const expected = Object.fromEntries(moved.map((key) => [key, 'new']));
    const readBy = async (reader: DistributedCacheClient) =>
      Object.fromEntries(await Promise.all(moved.map(async (key) => [key, await reader.get(key)])));
    expect(await readBy(late)).toStrictEqual(expected);
    expect(await readBy(client)).toStrictEqual(expected);
  });

  it('a key moved away and back: the newest copy wins, whether written during the first window or after it closed', async () => {
    // Quiet long enough that the reads below come first (see removeNode 4→3; 300 ms let 54 keys
    // miss on a loaded machine).
    const {
      client,
      events,
      nodes: [a, b, c, d],
    } = await watchedClient(QUIET_MS);
    expect(await client.setMany(KEYS.map((key) => [key, 'old'] as const))).toBe(true);
    const before = owners(client);
    client.addNode(d!.url);
    const [during, after] = movedKeys(before, client);
    // During the window: the old owner's copy is buried (below the write's stamp).
    expect(await client.set(during!, 'new')).toBe(true);
    expect(await client.get(during!)).toBe('new');
    // Reads find the other moved keys on their old owners; then nothing more: the window goes quiet.
    const moved = await client.getMany(KEYS);
    expect(moved.size).toBe(KEYS.length);
    await waitFor(() => events.some((event) => event.phase === 'close'), 'the window to close', {
      timeoutMs: 10_000,
    });
    // After it closed: only the new owner gets the write; the old owner still holds 'old'.
    expect(await client.set(after!, 'new')).toBe(true);
    const oldOwner = [a!, b!, c!].find((node) => node.url === before.get(after!)![0])!;
    expect(await oldOwner.holds(after!)).toBe(true);

    // d leaves: both keys go back to their old owners, which hold a tombstone and a stale copy.
    expect(await client.removeNode(d!.url)).toBe(true);
    expect(await client.get(during!)).toBe('new');
    expect(await client.get(after!)).toBe('new');
    // Both were copied back where they now belong: a client that never saw a window reads them.
    const late = connect([a!.url, b!.url, c!.url], { replicas: 1 });
    await waitFor(
      async () => (await late.get(during!)) === 'new' && (await late.get(after!)) === 'new',
      'the newest copies to be backfilled',
    );
  });

  it('incr, touch, replace and add of moved keys see the value their previous owner holds; a flush closes the window', async () => {
    const {
      client,
      events,
      nodes: [a, b, c, d],
    } = await watchedClient(60_000);
    const counters = KEYS.slice(0, 100);
    for (const key of counters) expect(await client.incr(key, 1, { initial: 10 })).toBe(10);
    const values = KEYS.slice(100);
    expect(await client.setMany(values.map((key) => [key, 'old'] as const))).toBe(true);
    const before = owners(client);
    client.addNode(d!.url);
    const [counter] = movedKeys(before, client).filter((key) => counters.includes(key));
    const [touched, replaced, added] = movedKeys(before, client).filter((key) =>
      values.includes(key),
    );
    // The counter keeps counting from what its previous owner held (not restarted from initial).
    expect(await client.incr(counter!, 5, { initial: 10 })).toBe(15);
    expect(await client.incr(counter!, 1)).toBe(16);
    expect(await client.touch(touched!, 60_000)).toBe(true);
    expect(await client.replace(replaced!, 'replaced')).toBe(true);
    expect(await client.add(added!, 'added')).toBe(false); // it exists, on its previous owner
    const late = connect([a!.url, b!.url, c!.url, d!.url], { replicas: 1 });
    expect(await late.get(counter!)).toBe(16);
    expect(await late.get(touched!)).toBe('old');
    expect(await late.get(replaced!)).toBe('replaced');
    expect(await late.get(added!)).toBe('old');

    await client.flush();
    expect(client.getTransitionStats()).toMatchObject({ open: false, lastCloseReason: 'flush' });
    expect(events.at(-1)).toMatchObject({ phase: 'close', reason: 'flush' });
  });

  for (const replicas of [1, 2]) {
    it(`a second change while the window is open chains (replicas ${replicas}): keys of both earlier rings are found`, async () => {
      const [a, b, c, d] = await startRingChangeNodes(4);
      const client = connect([a!.url, b!.url], {
        replicas,
        writeConsistency: 'all',
        transition: { maxWindowMs: 60_000, quietMs: 60_000 },
      });
      expect(await client.setMany(KEYS.map((key) => [key, key] as const))).toBe(true);
      const before = owners(client);
      client.addNode(c!.url);
      client.addNode(d!.url);
      const found = await client.getMany(KEYS);
      expect(KEYS.filter((key) => found.get(key) !== key)).toStrictEqual([]);
      const stats = (await client.getStats()).transition;
      expect(stats.transitions).toBe(1);
      // Both new nodes own some keys together (replicas 2) or alone: found only by fallback.
      const fallbackOnly = onlyBefore(KEYS, before, client);
      expect(fallbackOnly.length).toBeGreaterThan(10);
      expect(stats.fallbackHits).toBe(fallbackOnly.length);
    });
  }
});

describe('warm transitions: counters', () => {
  it('an incr of a moved counter racing a set of it counts on what the set stored, never answers "absent"', async () => {
    const [a, b, c, d] = await startRingChangeNodes(4);
    const client = connect([a!.url, b!.url, c!.url], {
      replicas: 1,
      transition: { maxWindowMs: 60_000, quietMs: 60_000 },
    });
    const counters = KEYS.slice(0, 100);
    expect(await client.setMany(counters.map((key) => [key, 5] as const))).toBe(true);
    const before = new Map(counters.map((key) => [key, client.nodesFor(key)]));
    client.addNode(d!.url);
    const moved = counters.filter((key) => client.nodesFor(key)[0] !== before.get(key)![0]);
    expect(moved.length).toBeGreaterThan(5);
    // Issued together: the incr misses on the new owner, the set lands there and buries the old
    // copy, so the incr's fallback finds a tombstone. The counter existed all along (5, then 50):
    // the incr counts before the set (6) or after it (51), and "absent" is neither.
    const outcomes = await Promise.all(
      moved.map((key) => Promise.all([client.incr(key), client.set(key, 50)])),
    );
    expect(outcomes.filter(([counted]) => counted !== 51 && counted !== 6)).toStrictEqual([]);
    const late = connect([a!.url, b!.url, c!.url, d!.url], { replicas: 1 });
    const found = await late.getMany(moved);
    const expected = new Map(moved.map((key, i) => [key, outcomes[i]![0] === 51 ? 51 : 50]));
    expect(moved.filter((key) => found.get(key) !== expected.get(key))).toStrictEqual([]);
  });

  it('two incr of a moved counter at once both count', async () => {
    const [a, b, c, d] = await startRingChangeNodes(4);
    const client = connect([a!.url, b!.url, c!.url], {
      replicas: 1,
      transition: { maxWindowMs: 60_000, quietMs: 60_000 },
    });
    const counters = KEYS.slice(0, 100);
    expect(await client.setMany(counters.map((key) => [key, 5] as const))).toBe(true);
    const before = new Map(counters.map((key) => [key, client.nodesFor(key)]));
    client.addNode(d!.url);
    const moved = counters.filter((key) => client.nodesFor(key)[0] !== before.get(key)![0]);
    const counted = await Promise.all(moved.flatMap((key) => [client.incr(key), client.incr(key)]));
    expect(counted.filter((value) => value !== 6 && value !== 7)).toStrictEqual([]);
    const late = connect([a!.url, b!.url, c!.url, d!.url], { replicas: 1 });
    const found = await late.getMany(moved);
    expect(moved.filter((key) => found.get(key) !== 7)).toStrictEqual([]);
  });
});
