// Two clients that disagree about the ring, through CLI-started nodes: `moved` has changed its
// ring (a transition window is open), `lagging` has not yet (DNS discovery reaches clients up to
// an interval apart) and writes and deletes only a key's old owner. Once its call has resolved, no
// read by the moved client returns what it replaced, though the moved client holds an older copy
// on the key's new owner (its own write, or a backfill).
import { afterEach, describe, expect, it } from 'vitest';
import { HashRing } from '@dcache/ring';
import { DistributedCacheClient } from '../src/index.js';
import type { ClientOptions } from '../src/index.js';
import { encodeValue } from '../src/codec.js';
import { startRingChangeNodes, stopCliNodes } from './cli-nodes.js';
import type { CliNode } from './cli-nodes.js';
import { waitFor } from './cluster.js';
import { Nemesis } from './faults/nemesis.js';
import type { NemesisOptions } from './faults/nemesis.js';
import { readOnNode } from './faults/node-http.js';

const clients: DistributedCacheClient[] = [];
let nemesis: Nemesis | undefined;
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await stopCliNodes();
  await nemesis?.cleanup();
  nemesis = undefined;
});

const KEYS = Array.from({ length: 200 }, (_, i) => `lag:${i}`);

function connect(
  nodes: readonly (CliNode | string)[],
  options: ClientOptions = {},
): DistributedCacheClient {
  const client = new DistributedCacheClient(
    nodes.map((node) => (typeof node === 'string' ? node : node.url)),
    {
      replicas: 1,
      timeout: 5000,
      transition: { maxWindowMs: 60_000, quietMs: 60_000 },
      ...options,
    },
  );
  clients.push(client);
  return client;
}

/** Reads each key by `reader`, returning `key=value` for those not as `expected` says. */
async function wrongReads(
  reader: DistributedCacheClient,
  expected: ReadonlyMap<string, string | undefined>,
): Promise<string[]> {
  const wrong: string[] = [];
  for (const [key, value] of expected) {
    const found = await reader.get(key);
    if (found !== value) wrong.push(`${key}=${String(found)}`);
  }
  return wrong;
}

/**
 * Four nodes with snapshots; the moved client writes every key (v1), takes node 3 out of its ring
 * as the node stops, and writes v2 to the keys node 3 owned (more than 20), which the node misses.
 */
async function writeWhileLeavingStopped(
  nodeOptions: Pick<NemesisOptions, 'args'>,
  clientOptions: ClientOptions,
): Promise<{
  urls: string[];
  moved: DistributedCacheClient;
  leaving: string;
  onLeaving: string[];
}> {
  nemesis = await Nemesis.start({ nodes: 4, snapshots: true, ...nodeOptions });
  const urls = nemesis.urls;
  const moved = connect(urls, clientOptions);
  expect(await moved.setMany(KEYS.map((key) => [key, 'v1'] as const))).toBe(true);
  const leaving = urls[3]!;
  const onLeaving = KEYS.filter((key) => moved.nodesFor(key)[0] === leaving);
  expect(onLeaving.length).toBeGreaterThan(20);
  await Promise.all([moved.removeNode(leaving), nemesis.stop(3)]);
  for (const key of onLeaving) expect(await moved.set(key, 'v2')).toBe(true);
  return { urls, moved, leaving, onLeaving };
}

/** Restarts node 3 from its snapshot and waits until it holds v2 for every key of `keys`. */
async function restartUntilHeld(leaving: string, keys: readonly string[]): Promise<void> {
  await nemesis!.restart(3, 'snapshot');
  const v2 = Buffer.from(encodeValue('v2').bytes);
  const delivered = async (): Promise<boolean> => {
    for (const key of keys) {
      const held = await readOnNode(leaving, key);
      if (held.status !== 200 || !Buffer.from(held.bytes).equals(v2)) return false;
    }
    return true;
  };
  await waitFor(delivered, 'the hints to be delivered', { timeoutMs: 5000 });
}

describe('a client still on the old ring, replicas 1', () => {
  it('3 → 4: its writes to the old owner win over the moved client’s older write on the new one', async () => {
    const [a, b, c, d] = await startRingChangeNodes(4);
    const moved = connect([a!, b!, c!]);
    const lagging = connect([a!, b!, c!]);
    expect(await moved.setMany(KEYS.map((key) => [key, 'v1'] as const))).toBe(true);
    moved.addNode(d!.url);
    const onD = KEYS.filter((key) => moved.nodesFor(key)[0] === d!.url);
    expect(onD.length).toBeGreaterThan(20);
    // The moved client writes the new owner and buries the old owner's copy.
    for (const key of onD) expect(await moved.set(key, 'v2')).toBe(true);
    // The lagging one finds the tombstone (a miss, never v1) and writes the old owner only.
    expect(await wrongReads(lagging, new Map(onD.map((key) => [key, undefined])))).toStrictEqual(
      [],
    );
    const half = onD.length >> 1;
    for (const key of onD.slice(0, half)) expect(await lagging.set(key, 'v3')).toBe(true);
    // (false: the old owner held only the moved client's tombstone.)
    for (const key of onD.slice(half)) expect(await lagging.delete(key)).toBe(false);
    const expected = new Map(onD.map((key, i) => [key, i < half ? 'v3' : undefined]));
    expect(await wrongReads(moved, expected)).toStrictEqual([]);
    expect((await moved.getStats()).replication.staleReadsPrevented).toBeGreaterThanOrEqual(
      onD.length,
    );
  });

  it('4 → 3: its writes and deletes on the leaving node win over the backfilled copy', async () => {
    const nodes = await startRingChangeNodes(4);
    const moved = connect(nodes);
    const lagging = connect(nodes);
    expect(await moved.setMany(KEYS.map((key) => [key, 'v1'] as const))).toBe(true);
    const leaving = nodes[3]!;
    const onLeaving = KEYS.filter((key) => moved.nodesFor(key)[0] === leaving.url);
    expect(onLeaving.length).toBeGreaterThan(20);
    expect(await moved.removeNode(leaving.url)).toBe(true);
    // Fallback reads: the new owners get v1 backfilled.
    expect(await wrongReads(moved, new Map(onLeaving.map((key) => [key, 'v1'])))).toStrictEqual([]);
    const half = onLeaving.length >> 1;
    for (const key of onLeaving.slice(0, half)) expect(await lagging.set(key, 'v2')).toBe(true);
    for (const key of onLeaving.slice(half)) expect(await lagging.delete(key)).toBe(true);
    const expected = new Map(onLeaving.map((key, i) => [key, i < half ? 'v2' : undefined]));
    expect(await wrongReads(moved, expected)).toStrictEqual([]);
    // The newer copies and tombstones followed to the new owners: the lagging client, once it
    // has changed its ring too, reads the same (it has no window: owners only).
    expect(await lagging.removeNode(leaving.url)).toBe(true);
    await leaving.stop();
    expect(await wrongReads(moved, expected)).toStrictEqual([]);
  });

  it('a previous owner down when a moved key is written gets the write as a hint once it is back', async () => {
    // The node restarts from its snapshot (what it held at SIGTERM) while the lagging client
    // still has it as the key's owner: the write must reach it, not only the new owner.
    const { urls, moved, leaving, onLeaving } = await writeWhileLeavingStopped({}, {});
    expect(moved.getReplicationStats().hintsHandedOff).toBeGreaterThanOrEqual(onLeaving.length);
    await restartUntilHeld(leaving, onLeaving);
    const lagging = connect(urls);
    expect(await wrongReads(lagging, new Map(onLeaving.map((key) => [key, 'v2'])))).toStrictEqual(
      [],
    );
  });

  it('a previous owner back before the moved client noticed gets the bury of a later write, so the lagging client reads that write', async () => {
    // A rolling restart behind a headless Service that drops a restarting pod's records: the node
    // comes back (hints delivered, its copies verified) and the lagging client — whose ring never
    // lost it — reads it as the keys' owner, while the moved client still has it marked down (its
    // probe has not run yet: probeInterval is long here to hold that moment). A write by the
    // moved client then sends the bury anyway, not only a hint that reaches the node at its
    // holder's next replay. Its buries while the node is down fail: it is marked down, and the
    // new owners hold hints.
    const { urls, moved, leaving, onLeaving } = await writeWhileLeavingStopped(
      { args: ['--stall-threshold', '10000'] },
      { probeInterval: 600_000 },
    );
    await restartUntilHeld(leaving, onLeaving);
    const lagging = connect(urls);
    expect(await wrongReads(lagging, new Map(onLeaving.map((key) => [key, 'v2'])))).toStrictEqual(
      [],
    );

    for (const key of onLeaving) {
      const before = moved.getTransitionStats().invalidated;
      expect(await moved.set(key, 'v3')).toBe(true);
      // The bury to a node marked down is not awaited (it may be gone for good): it lands at once.
      await waitFor(
        () => moved.getTransitionStats().invalidated > before,
        `the bury of ${key} on the restarted node`,
        { timeoutMs: 2000 },
      );
      // v3, or the bury's tombstone (a miss: safe; the moved client buries, it copies nothing),
      // never v2.
      expect([undefined, 'v3']).toContain(await lagging.get(key));
    }
  });
});

describe('a client still on the old ring, replicas 2', () => {
  it("3 → 4, writeConsistency 'one': a set by the moved client waits for the owner the key keeps, its old primary, where the lagging client reads it first", async () => {
    nemesis = await Nemesis.start({ nodes: 4 });
    const urls = nemesis.urls;
    const before = new HashRing(urls.slice(0, 3));
    const after = new HashRing(urls);
    // A key the added node takes as primary, its old primary now its second owner. (With one node
    // added or removed, the owner a key keeps is its primary in one ring or the other.)
    const key = KEYS.find((candidate) => {
      const [first, second] = after.getN(candidate, 2);
      return first === urls[3] && second === before.getN(candidate, 1)[0];
    });
    expect(key, 'such a key among KEYS').toBeDefined();
    const kept = urls.indexOf(before.getN(key!, 1)[0]!);
    const options = { replicas: 2, writeConsistency: 'one' } as const;
    const moved = connect(urls.slice(0, 3), options);
    const lagging = connect(urls.slice(0, 3), options);
    expect(await lagging.set(key!, 'v1')).toBe(true);
    moved.addNode(urls[3]!);
    expect(moved.nodesFor(key!)).toStrictEqual([urls[3], urls[kept]]);

    // The kept owner stalls: the set's copy there cannot land until it resumes.
    nemesis.pause(kept);
    let answered = false;
    const write = moved.set(key!, 'v2').finally(() => (answered = true));
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(answered, 'the set answered without the old primary').toBe(false);
    } finally {
      nemesis.resume(kept);
    }
    expect(await write).toBe(true);
    expect(await lagging.get(key!)).toBe('v2');
  });
});
