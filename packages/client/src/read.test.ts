// The read path against the decision table of docs/design/never-stale.md §5, row by row, with
// stub nodes: each node answers from a table, and every operation sent is recorded.
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster } from './cluster.js';
import type { NodeClient } from './node-client.js';
import { resolveOptions } from './options.js';
import { readEntry } from './read.js';
import type { BatchOp, BatchResult } from './wire.js';

// Nothing listens there; every node's `run` is replaced below.
const URLS = ['http://127.0.0.1:9', 'http://127.0.0.2:9', 'http://127.0.0.3:9'];
const KEY = 'k';
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const hit = (value: string, stamp: number, unverified = false): BatchResult =>
  unverified
    ? [200, bytes(value), 0, 1, null, stamp, true]
    : [200, bytes(value), 0, 1, null, stamp];
const miss = (tombstone: number | null = null, floor = 0): BatchResult => [404, tombstone, floor];
const FAILED = new Error('refused');

const FULL: BatchResult = [413, 'too_large', 'the batch answer is full'];

/** A result, a failure, or a function giving one when the get arrives. */
type Answer = BatchResult | Error | ((get: BatchOp) => BatchResult | Error);

interface Stubbed {
  cluster: Cluster;
  /** The key's nodes in ring order: its natural replicas first, then the next one. */
  order: NodeClient[];
  /** Every op sent, with the node it went to (gets included). */
  sent: { node: number; op: BatchOp }[];
  /** Every op sent in the background (hints), with the node it went to. */
  background: { node: number; op: BatchOp }[];
}

const clusters: Cluster[] = [];
afterEach(async () => {
  for (const cluster of clusters.splice(0)) await cluster.close();
});

/**
 * A cluster whose node i (in the key's ring order) answers gets with `answers[i]` (a miss when
 * absent); a list is answered in turn, its last entry from then on.
 */
function stubbed(answers: readonly (Answer | Answer[])[], replicas = 2, urls = URLS): Stubbed {
  const cluster = new Cluster(
    resolveOptions(urls, { replicas, failureThreshold: 1000, transition: { maxWindowMs: 0 } }),
  );
  clusters.push(cluster);
  const order = cluster.preference(KEY, urls.length);
  const sent: Stubbed['sent'] = [];
  const background: Stubbed['background'] = [];
  order.forEach((node, index) => {
    const given = answers[index] ?? miss();
    // A result starts with its status (a number); a list of answers with an answer.
    const queue: Answer[] =
      Array.isArray(given) && typeof given[0] !== 'number'
        ? [...(given as Answer[])]
        : [given as Answer];
    (node as { run: NodeClient['run'] }).run = (op: BatchOp): Promise<BatchResult> => {
      sent.push({ node: index, op });
      if (op[0] === 'touch') return Promise.resolve([204, op[3]]);
      if (op[0] !== 'get') return Promise.resolve(op[0] === 'copy' ? [204, op[5]] : [204]);
      const next = queue.length > 1 ? queue.shift()! : queue[0]!;
      const answer = typeof next === 'function' ? next(op) : next;
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    };
    (node as { runInBackground: NodeClient['runInBackground'] }).runInBackground = (op) => {
      background.push({ node: index, op });
      return Promise.resolve([204]);
    };
  });
  return { cluster, order, sent, background };
}

const decoded = async (cluster: Cluster): Promise<string | undefined> => {
  const found = await readEntry(cluster, KEY, true);
  return found === undefined ? undefined : new TextDecoder().decode(found.bytes);
};

/** The mending ops sent (not gets), as [node, op name, stamp]. */
const mends = (sent: Stubbed['sent']): [number, string, unknown][] =>
  sent
    .filter(({ op }) => op[0] !== 'get')
    .map(({ node, op }) => [node, op[0], op[0] === 'copy' ? op[5] : op[2]]);

describe('readEntry: an unverified hit on the primary, stamped 100, against its peer replica', () => {
  it('a newer hit: the peer value, copied to the primary (repairs, staleReadsPrevented)', async () => {
    const { cluster, sent } = stubbed([hit('old', 100, true), hit('new', 200)]);
    expect(await decoded(cluster)).toBe('new');
    expect(mends(sent)).toStrictEqual([[0, 'copy', 200]]);
    expect(cluster.counters).toMatchObject({
      repairs: 1,
      staleReadsPrevented: 1,
      verifications: 0,
    });
  });

  it('the same stamp: the value, verified on the primary (verifications)', async () => {
    const { cluster, sent } = stubbed([hit('v', 100, true), hit('v', 100)]);
    expect(await decoded(cluster)).toBe('v');
    expect(mends(sent)).toStrictEqual([[0, 'verify', 100]]);
    expect(cluster.counters).toMatchObject({ repairs: 0, verifications: 1 });
  });

  it('an older hit: the unverified value, verified, and copied to the peer', async () => {
    const { cluster, sent } = stubbed([hit('new', 100, true), hit('old', 50)]);
    expect(await decoded(cluster)).toBe('new');
    expect(mends(sent)).toStrictEqual([
      [0, 'verify', 100],
      [1, 'copy', 100],
    ]);
    expect(cluster.counters).toMatchObject({ repairs: 1, verifications: 1 });
  });

  it('a tombstone at or above the stamp: a miss, the tombstone buried on the primary', async () => {
    const { cluster, sent } = stubbed([hit('old', 100, true), miss(100)]);
    expect(await decoded(cluster)).toBeUndefined();
    expect(mends(sent)).toStrictEqual([[0, 'bury', 100]]);
    expect(cluster.counters).toMatchObject({ staleReadsPrevented: 1, repairs: 0 });
  });

  it("a miss, no tombstone, stamp above the peer's floor: the value, verified, copied to the peer", async () => {
    const { cluster, sent } = stubbed([hit('v', 100, true), miss(null, 99)]);
    expect(await decoded(cluster)).toBe('v');
    expect(mends(sent)).toStrictEqual([
      [0, 'verify', 100],
      [1, 'copy', 100],
    ]);
    expect(cluster.counters).toMatchObject({ repairs: 1, verifications: 1 });
  });

  it("a miss, stamp at or below the peer's floor: a miss, buried at the copy's own stamp", async () => {
    const { cluster, sent } = stubbed([hit('v', 100, true), miss(null, 100)]);
    expect(await decoded(cluster)).toBeUndefined();
    expect(mends(sent)).toStrictEqual([[0, 'bury', 100]]);
    expect(cluster.counters).toMatchObject({ staleReadsPrevented: 1 });
  });

  it('the peer unverified too: the next node can only refute; none vouching is a miss', async () => {
    const { cluster, sent } = stubbed([hit('v', 100, true), hit('v', 100, true), hit('v', 100)]);
    expect(await decoded(cluster)).toBeUndefined();
    expect(mends(sent)).toStrictEqual([]);
    expect(sent.filter(({ op }) => op[0] === 'get').map(({ node }) => node)).toStrictEqual([
      0, 1, 2,
    ]);
    expect(cluster.counters).toMatchObject({ unverifiedDropped: 1 });
  });

  it('the peer unverified too, the next node newer: its value refutes the copy', async () => {
    const { cluster, sent } = stubbed([hit('v', 100, true), hit('v', 100, true), hit('n', 300)]);
    expect(await decoded(cluster)).toBe('n');
    expect(mends(sent)).toStrictEqual([[0, 'copy', 300]]);
  });

  it('no peer answers: a miss (unverifiedDropped)', async () => {
    const { cluster } = stubbed([hit('v', 100, true), FAILED, FAILED]);
    expect(await decoded(cluster)).toBeUndefined();
    expect(cluster.counters).toMatchObject({ unverifiedDropped: 1, staleReadsPrevented: 0 });
  });
});

describe('readEntry: a miss on the primary, an unverified hit on the second replica', () => {
  it('the primary vouches by its miss: the value is served, and the primary gets one copy', async () => {
    const { cluster, sent } = stubbed([miss(null, 10), hit('v', 100, true)]);
    expect(await decoded(cluster)).toBe('v');
    const copies = mends(sent).filter(([, name]) => name === 'copy');
    expect(copies).toStrictEqual([[0, 'copy', 100]]);
    expect(cluster.counters).toMatchObject({ repairs: 1, verifications: 1 });
  });
});

describe('readEntry: the primary failed, an unverified hit on the second replica', () => {
  it('does not ask the primary again (another timeout when it hangs): a miss, the next node cannot vouch', async () => {
    const { cluster, sent } = stubbed([FAILED, hit('v', 100, true), miss()]);
    expect(await decoded(cluster)).toBeUndefined();
    expect(sent.filter(({ op }) => op[0] === 'get').map(({ node }) => node)).toStrictEqual([
      0, 1, 2,
    ]);
    expect(cluster.counters).toMatchObject({ unverifiedDropped: 1 });
  });
});

describe('readEntry with replicas: 3 (four nodes)', () => {
  const four = [...URLS, 'http://127.0.0.4:9'];

  it('the second replica unverified too: the third vouches', async () => {
    const { cluster, sent } = stubbed(
      [hit('v', 100, true), hit('v', 100, true), hit('v', 100), hit('x', 900)],
      3,
      four,
    );
    expect(await decoded(cluster)).toBe('v');
    expect(mends(sent)).toStrictEqual([[0, 'verify', 100]]);
    expect(sent.filter(({ op }) => op[0] === 'get').map(({ node }) => node)).toStrictEqual([
      0, 1, 2,
    ]);
  });

  it('two natural replicas unverified, the third failed: the fourth node cannot vouch', async () => {
    const { cluster } = stubbed(
      [hit('v', 100, true), hit('v', 100, true), FAILED, hit('v', 100)],
      3,
      four,
    );
    expect(await decoded(cluster)).toBeUndefined();
    expect(cluster.counters).toMatchObject({ unverifiedDropped: 1 });
  });
});

describe('readEntry in a cluster of one node', () => {
  it('serves the unverified entry to this client, and leaves the node to judge it for others', async () => {
    // This client's one-node view may be a moment of a larger cluster (pods restarting behind
    // DNS): vouching for the entry would have every reader take it as current.
    const { cluster, sent } = stubbed([hit('v', 100, true)], 2, URLS.slice(0, 1));
    expect(await decoded(cluster)).toBe('v');
    expect(mends(sent)).toStrictEqual([]);
  });
});

describe('readEntry: a batch answer full (413) is asked again in a later batch, as the read is', () => {
  it("the peer's answer full: the unverified value is still vouched for, not dropped", async () => {
    const { cluster, sent } = stubbed([hit('v', 100, true), [FULL, hit('v', 100)]]);
    expect(await decoded(cluster)).toBe('v');
    expect(mends(sent)).toStrictEqual([[0, 'verify', 100]]);
    expect(cluster.counters).toMatchObject({ verifications: 1, unverifiedDropped: 0 });
  });
});

describe('readEntry: a caller that gave up', () => {
  it('asks no further peer once its signal aborted while a peer was asked', async () => {
    const controller = new AbortController();
    const { cluster, sent } = stubbed([
      hit('v', 100, true),
      () => {
        controller.abort();
        return FAILED;
      },
      hit('v', 300),
    ]);
    await readEntry(cluster, KEY, true, { signal: controller.signal }).catch(() => undefined);
    expect(sent.map(({ node }) => node)).toStrictEqual([0, 1]);
  });
});

describe('readEntry with touch (getAndTouch): the natural replicas the read did not reach', () => {
  const TTL = 5000;
  /** A hit the node touched as it read it: stamped with the get-and-touch's stamp. */
  const touchedHit = (get: BatchOp): BatchResult => hit('v', get[4] as number);
  /** Every op sent but the gets, in the foreground and in the background, by node. */
  const after = ({ sent, background }: Stubbed): [number, BatchOp][] =>
    [...sent.filter(({ op }) => op[0] !== 'get'), ...background].map(({ node, op }) => [node, op]);
  /** Lets the touches and hints sent in the background finish: closes the cluster (once). */
  const settled = async ({ cluster }: Stubbed): Promise<void> => {
    clusters.splice(clusters.indexOf(cluster), 1);
    await cluster.close();
  };

  it('none (no fault): the other replica is touched at the hit stamp, and no hint', async () => {
    const stub = stubbed([touchedHit]);
    const found = await readEntry(stub.cluster, KEY, true, { touch: TTL });
    await settled(stub);
    expect(after(stub)).toStrictEqual([[1, ['touch', KEY, TTL, found!.stamp]]]);
  });

  it("the primary's get failed: the replica that touched is handed its hint", async () => {
    const stub = stubbed([FAILED, touchedHit]);
    expect(await readEntry(stub.cluster, KEY, true, { touch: TTL })).toBeDefined();
    await settled(stub);
    expect(after(stub)).toStrictEqual([[1, ['hint', KEY, stub.order[0]!.url, false]]]);
    expect(stub.cluster.counters.hintsHandedOff).toBe(1);
  });

  it('the primary marked down, a stand-in answered: it is sent the touch again, and holds the hint naming its stamp', async () => {
    const stub = stubbed([hit('v', 1), miss(), touchedHit]);
    let release = (): void => {};
    stub.order[0]!.holdOutUntil(new Promise((resolve) => (release = resolve)));
    const found = await readEntry(stub.cluster, KEY, true, { touch: TTL });
    await settled(stub);
    release();
    const primary = stub.order[0]!.url;
    // The replica that missed gets the read's repair instead.
    expect(after(stub)).toStrictEqual([
      [2, ['touch', KEY, TTL, found!.stamp]],
      [1, ['copy', KEY, found!.bytes, 0, 0, found!.stamp, 'repair']],
      [2, ['hint', KEY, primary, true, found!.stamp]],
    ]);
    expect(stub.sent.filter(({ node }) => node === 0)).toStrictEqual([]);
  });
});
