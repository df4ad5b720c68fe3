import { describe, expect, it, vi } from 'vitest';
import type { Cluster } from './cluster.js';
import { NodeRequestError } from './errors/node-request-error.js';
import type { NodeClient } from './node-client.js';
import { ReplicationCounters } from './replication-stats.js';
import { HashRing } from '@dcache/ring';
import { parseKeyPage, restoreAfterRemoval, restoreReturned } from './restore.js';

const PAGES = 10;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A returned node and one source whose listing answers a page of two keys every 60 ms; the node
 * grants the claim a lease of 300 ms (renewed every 100 ms) and refuses every renewal: another
 * client took the claim over while this one was paused past its lease.
 */
function restoreStub() {
  const posts: string[] = [];
  const listed: string[] = [];
  const copied: string[] = [];
  const tracked: Promise<unknown>[] = [];
  const node = (url: string, run: (op: unknown[]) => unknown[]) =>
    ({ url, up: true, run: vi.fn(async (op: unknown[]) => run(op)) }) as unknown as NodeClient;
  const returned = node('http://returned', (op) => {
    copied.push(op[1] as string);
    return [204];
  });
  const source = node('http://source', () => [200, Uint8Array.of(1), 0, 1, null, 5, false]);
  const cluster = {
    closing: false,
    nodes: [returned, source],
    counters: new ReplicationCounters(),
    restoreRate: 1_000_000,
    isMember: () => true,
    has: () => false,
    lastStartOf: () => 'start-1',
    replicasOfStored: () => [returned.url, source.url],
    // Retries and watches wait a few ms here instead of seconds.
    waitUnlessClosing: (ms: number) => sleep(Math.min(ms, 5)),
    track: (work: Promise<unknown>) => void tracked.push(work),
    reportBackgroundError: vi.fn(),
    transport: {
      post: vi.fn(async (_url: string, path: string) => {
        posts.push(path);
        if (path.includes('&renew=1')) {
          throw new NodeRequestError('http://returned', 'HTTP 409', {
            status: 409,
            code: 'not_claimant',
          });
        }
        return new Headers(path.includes('&end=') ? {} : { 'dcache-claim-lease': '300' });
      }),
      json: vi.fn(async (_url: string, query: string) => {
        await sleep(60);
        const page = Number(/cursor=(\d+)/.exec(query)?.[1] ?? 0);
        listed.push(String(page));
        const keys = [`k${page}a`, `k${page}b`].map((key) => [key, 5, null, false]);
        return { keys, cursor: page + 1 < PAGES ? page + 1 : null };
      }),
    },
  };
  return { cluster: cluster as unknown as Cluster, returned, posts, listed, copied, tracked };
}

it('stops copying at its next page once a renewal finds the claim lost, and ends nothing', async () => {
  const { cluster, returned, posts, listed, copied } = restoreStub();
  await restoreReturned(cluster, returned);
  // ~100 ms to the refused renewal at 60 ms a page: two or three pages, far from all ten.
  expect(listed.length).toBeGreaterThan(0);
  expect(listed.length).toBeLessThan(PAGES);
  expect(copied).toHaveLength(listed.length * 2);
  expect(posts.filter((path) => path.includes('&renew=1')).length).toBeGreaterThan(0);
  expect(posts.some((path) => path.includes('&end='))).toBe(false);
});

it('lists every page and ends its claim done while the claim holds', async () => {
  const { cluster, returned, posts, listed } = restoreStub();
  // Renewals granted: the lease holds.
  cluster.transport.post = vi.fn(async (_url: string, path: string) => {
    posts.push(path);
    return new Headers(path.includes('&end=') ? {} : { 'dcache-claim-lease': '300' });
  });
  await restoreReturned(cluster, returned);
  expect(listed).toHaveLength(PAGES);
  expect(posts.at(-1)).toMatch(/&end=done$/);
});

describe("a source's listing that fails", () => {
  /** The stub with its claim granted, and its listing failing (a timeout) for `failing` tries. */
  function failingListing(failing: number) {
    const stub = restoreStub();
    stub.cluster.transport.post = vi.fn(async (_url: string, path: string) => {
      stub.posts.push(path);
      return new Headers(path.includes('&end=') ? {} : { 'dcache-claim-lease': '30000' });
    });
    const json = stub.cluster.transport.json;
    let tries = 0;
    stub.cluster.transport.json = vi.fn(async (url: string, query: string) => {
      // The third page fails: the listing is taken up again there.
      if (query.includes('cursor=2') && ++tries <= failing) {
        throw new NodeRequestError(url, 'timed out');
      }
      return json(url, query);
    }) as typeof json;
    return stub;
  }

  it('is taken up again from the page it failed at, and the claim ends done once it went through', async () => {
    const { cluster, returned, posts, listed } = failingListing(3);
    await restoreReturned(cluster, returned);
    expect(listed).toEqual(Array.from({ length: PAGES }, (_, page) => String(page)));
    expect(cluster.reportBackgroundError).toHaveBeenCalledTimes(3);
    expect(posts.at(-1)).toMatch(/&end=done$/);
  });

  it('that never goes through leaves the restore incomplete: the claim is released, not done', async () => {
    const { cluster, returned, posts, listed } = failingListing(Infinity);
    await restoreReturned(cluster, returned);
    expect(listed).toEqual(['0', '1']);
    // The first listing and one more after each retry delay, each reported.
    expect(cluster.reportBackgroundError).toHaveBeenCalledTimes(4);
    expect(posts.at(-1)).toMatch(/&end=released$/);
  });
});

it('stops at its next page once the node left the ring, and releases its claim: not done', async () => {
  const { cluster, returned, posts, listed } = restoreStub();
  cluster.transport.post = vi.fn(async (_url: string, path: string) => {
    posts.push(path);
    return new Headers(path.includes('&end=') ? {} : { 'dcache-claim-lease': '30000' });
  });
  // Removed (or removed and added again: another NodeClient) once two pages were listed.
  (cluster as unknown as { isMember: (node: NodeClient) => boolean }).isMember = (node) =>
    node !== returned || listed.length < 2;
  await restoreReturned(cluster, returned);
  expect(listed).toHaveLength(2);
  // Another client may take the claim over if the node comes back under this start.
  expect(posts.at(-1)).toMatch(/&end=released$/);
});

it('stops at close() without waiting out the pause that paces it', async () => {
  const { cluster, returned, listed } = restoreStub();
  const stub = cluster as unknown as {
    closing: boolean;
    restoreRate: number;
    waitUnlessClosing: (ms: number) => Promise<void>;
  };
  // Two keys a page at one key a second: two seconds' pause after each page.
  stub.restoreRate = 1;
  const wakes: (() => void)[] = [];
  stub.waitUnlessClosing = (ms) =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      wakes.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  cluster.transport.post = vi.fn(
    async (_url: string, path: string) =>
      new Headers(path.includes('&end=') ? {} : { 'dcache-claim-lease': '30000' }),
  );
  const restoring = restoreReturned(cluster, returned);
  while (listed.length === 0) await sleep(10);
  await sleep(20);
  const closedAt = performance.now();
  stub.closing = true;
  for (const wake of wakes.splice(0)) wake();
  await restoring;
  expect(performance.now() - closedAt).toBeLessThan(1000);
  expect(listed).toHaveLength(1);
});

it('keeps to restoreRate between restores that run at once (two nodes removed together)', async () => {
  const { cluster, listed } = restoreStub();
  const stub = cluster as unknown as {
    nodes: NodeClient[];
    restoreRate: number;
    waitUnlessClosing: (ms: number) => Promise<void>;
  };
  // The source alone lists: ten pages of two keys, each restore, at 20 keys a second in all.
  stub.nodes = [cluster.nodes[1]!];
  stub.restoreRate = 20;
  stub.waitUnlessClosing = async (ms) => void (await sleep(ms));
  const before = new HashRing(['http://source', 'http://gone-a', 'http://gone-b']);
  const started = performance.now();
  await Promise.all([
    restoreAfterRemoval(cluster, before, 2, 'http://gone-a'),
    restoreAfterRemoval(cluster, before, 2, 'http://gone-b'),
  ]);
  expect(listed).toHaveLength(2 * PAGES);
  // 40 keys at 20 a second: two seconds, not the one each restore alone would take.
  expect(performance.now() - started).toBeGreaterThan(1800);
});

it("stops copying a removed node's keys once it is back in the ring: they have no new replica", async () => {
  const { cluster, listed } = restoreStub();
  // The source alone lists; the node comes back (a pod restarted behind DNS) after two pages.
  (cluster as unknown as { nodes: NodeClient[] }).nodes = [cluster.nodes[1]!];
  (cluster as unknown as { has: (url: string) => boolean }).has = (url) =>
    url === 'http://gone' && listed.length >= 2;
  const before = new HashRing(['http://source', 'http://gone']);
  await restoreAfterRemoval(cluster, before, 2, 'http://gone');
  expect(listed).toHaveLength(2);
});

describe('a claim every try of which went unanswered (503) while the node is up', () => {
  /** Claims answered 503 four times (a first try and three retries), then `then`. */
  function unansweredThen(stub: ReturnType<typeof restoreStub>, then: 'granted' | 'taken') {
    let claims = 0;
    stub.cluster.transport.post = vi.fn(async (_url: string, path: string) => {
      stub.posts.push(path);
      if (!path.includes('&') && ++claims <= 4) {
        throw new NodeRequestError('http://returned', 'HTTP 503', { status: 503 });
      }
      if (!path.includes('&') && then === 'taken') {
        throw new NodeRequestError('http://returned', 'HTTP 409', {
          status: 409,
          code: 'already_restored',
        });
      }
      return new Headers(path.includes('&end=') ? {} : { 'dcache-claim-lease': '30000' });
    });
  }

  it('is watched, and restored under the claim once the node grants it', async () => {
    const stub = restoreStub();
    unansweredThen(stub, 'granted');
    await restoreReturned(stub.cluster, stub.returned);
    expect(stub.listed).toHaveLength(0);
    await Promise.all(stub.tracked);
    expect(stub.listed).toHaveLength(PAGES);
    expect(stub.cluster.counters.restoresRun).toBe(1);
    expect(stub.posts.at(-1)).toMatch(/&end=done$/);
  });

  it("on a join ('restore anyway') is restored at once, without a claim", async () => {
    const stub = restoreStub();
    unansweredThen(stub, 'taken');
    await restoreReturned(stub.cluster, stub.returned, 'restore anyway');
    expect(stub.listed).toHaveLength(PAGES);
    expect(stub.cluster.counters.restoresRun).toBe(1);
    expect(stub.tracked).toHaveLength(0);
    expect(stub.posts.some((path) => path.includes('&end='))).toBe(false);
  });
});

describe('parseKeyPage', () => {
  it('reads rows and the cursor, and leaves out a key with a lone surrogate', () => {
    const page = parseKeyPage({
      keys: [
        ['a', 5, null, false],
        ['\udc00\u0001\u00ffbinary', 6, null, false],
        ['b', 7, 1000, true],
        ['bad stamp', 'x', null, false],
      ],
      cursor: 42,
    });
    expect(page).toEqual({
      rows: [
        { key: 'a', stamp: 5, tombstone: false, verified: false },
        { key: 'b', stamp: 7, tombstone: true, verified: false },
      ],
      cursor: '42',
    });
  });

  it('takes a row as verified only when the node says it is not unverified', () => {
    const page = parseKeyPage({
      keys: [
        ['said verified', 5, null, false, false],
        ['said unverified', 6, null, false, true],
        ['older node, says nothing', 7, null, false],
        ['not a boolean', 8, null, false, 0],
      ],
      cursor: null,
    });
    expect(page.rows.map((row) => [row.key, row.verified])).toEqual([
      ['said verified', true],
      ['said unverified', false],
      ['older node, says nothing', false],
      ['not a boolean', false],
    ]);
    expect(page.cursor).toBeUndefined();
  });
});

describe('what one listed key costs a restore', () => {
  /**
   * A restore of `returned` from `source`, whose listing holds the one row `row`; the returned node
   * answers `verify` with `verifyAnswer`. Returns every op each node was sent.
   */
  async function restoreOne(row: unknown[], verifyAnswer: unknown[]) {
    const stub = restoreStub();
    const sourceOps: unknown[][] = [];
    const returnedOps: unknown[][] = [];
    stub.cluster.transport.post = vi.fn(
      async (_url: string, path: string) =>
        new Headers(path.includes('&end=') ? {} : { 'dcache-claim-lease': '30000' }),
    );
    stub.cluster.transport.json = vi.fn(async () => ({ keys: [row], cursor: null }));
    const [returned, source] = stub.cluster.nodes as [NodeClient, NodeClient];
    returned.run = vi.fn(async (op: readonly unknown[]) => {
      returnedOps.push([...op]);
      return (op[0] === 'verify' ? verifyAnswer : [204, 5]) as [number, ...unknown[]];
    }) as NodeClient['run'];
    source.run = vi.fn(async (op: readonly unknown[]) => {
      sourceOps.push([...op]);
      return [200, Uint8Array.of(1), 0, 1, null, row[1], false] as [number, ...unknown[]];
    }) as NodeClient['run'];
    await restoreReturned(stub.cluster, returned);
    return { sourceOps, returnedOps, restored: stub.cluster.counters.restoredKeys };
  }

  it('a key the source vouches for and the node holds alike: one verify, no value read or sent', async () => {
    const { sourceOps, returnedOps, restored } = await restoreOne(
      ['k', 5, null, false, false],
      [204],
    );
    expect(sourceOps).toEqual([]);
    expect(returnedOps).toEqual([['verify', 'k', 5, 'restore']]);
    expect(restored).toBe(1);
  });

  it('the node holds a newer write: nothing read or copied', async () => {
    const { sourceOps, returnedOps, restored } = await restoreOne(
      ['k', 5, null, false, false],
      [412, 9],
    );
    expect(sourceOps).toEqual([]);
    expect(returnedOps.map((op) => op[0])).toEqual(['verify']);
    expect(restored).toBe(0);
  });

  it.each([
    ['holds an older write', [412, 3]],
    ['holds nothing', [404]],
  ])('the node %s: the value is read and copied', async (_what, answer) => {
    const { sourceOps, returnedOps, restored } = await restoreOne(
      ['k', 5, null, false, false],
      answer,
    );
    expect(sourceOps).toEqual([['get', 'k']]);
    expect(returnedOps.map((op) => op[0])).toEqual(['verify', 'copy']);
    expect(returnedOps[1]).toEqual(['copy', 'k', Uint8Array.of(1), 0, 0, 5, 'restore']);
    expect(restored).toBe(1);
  });

  it.each([
    ['the source does not vouch for', ['k', 5, null, false, true]],
    ['an older node lists without saying', ['k', 5, null, false]],
  ])('a key %s: never verified by its listing, read and copied', async (_what, row) => {
    const { sourceOps, returnedOps } = await restoreOne(row, [204]);
    expect(sourceOps).toEqual([['get', 'k']]);
    expect(returnedOps.map((op) => op[0])).toEqual(['copy']);
  });

  /**
   * A restore over `pages` (rows each), the returned node answering `verify` with `verifyAnswer`
   * (or failing it, 'fails').
   */
  async function restorePages(pages: unknown[][][], verifyAnswer: unknown[] | 'fails') {
    const stub = restoreStub();
    const verifiesPerPage: number[] = [];
    stub.cluster.transport.post = vi.fn(
      async (_url: string, path: string) =>
        new Headers(path.includes('&end=') ? {} : { 'dcache-claim-lease': '30000' }),
    );
    stub.cluster.transport.json = vi.fn(async (_url: string, query: string) => {
      const at = Number(/cursor=(\d+)/.exec(query)?.[1] ?? 0);
      verifiesPerPage.push(0);
      return { keys: pages[at], cursor: at + 1 < pages.length ? at + 1 : null };
    });
    const [returned, source] = stub.cluster.nodes as [NodeClient, NodeClient];
    returned.run = vi.fn(async (op: readonly unknown[]) => {
      if (op[0] !== 'verify') return [204, 5] as [number, ...unknown[]];
      verifiesPerPage[verifiesPerPage.length - 1]!++;
      if (verifyAnswer === 'fails') throw new Error('connection reset');
      return verifyAnswer as [number, ...unknown[]];
    }) as NodeClient['run'];
    source.run = vi.fn(
      async () => [200, Uint8Array.of(1), 0, 1, null, 5, false] as [number, ...unknown[]],
    ) as NodeClient['run'];
    await restoreReturned(stub.cluster, returned);
    return verifiesPerPage;
  }

  const values = (page: number) => [0, 1, 2].map((i) => [`k${page}.${i}`, 5, null, false, false]);

  it('stops asking to vouch after a page where the node held none of them (it came back empty)', async () => {
    expect(await restorePages([values(0), values(1), values(2)], [404])).toEqual([3, 0, 0]);
  });

  it('keeps asking while the node holds what is listed, and a page of tombstones changes nothing', async () => {
    const tombstones = [0, 1].map((i) => [`gone${i}`, 5, null, true, false]);
    expect(await restorePages([values(0), tombstones, values(2)], [204])).toEqual([3, 0, 3]);
    expect(await restorePages([tombstones, values(1)], [204])).toEqual([0, 3]);
  });

  it('keeps asking when the node holds other writes of the keys, or a verify fails', async () => {
    const pages = [values(0), values(1), values(2)];
    expect(await restorePages(pages, [412, 9])).toEqual([3, 3, 3]);
    expect(await restorePages(pages, [412, 3])).toEqual([3, 3, 3]);
    expect(await restorePages(pages, 'fails')).toEqual([3, 3, 3]);
  });
});

it("a removed node's keys go to their new replicas as copies, with no verify first", async () => {
  const stub = restoreStub();
  const urls = ['http://a', 'http://b', 'http://c'];
  const removed = 'http://removed';
  const before = new HashRing([...urls, removed]);
  const after = new HashRing(urls);
  const ops: unknown[][] = [];
  const nodes = urls.map(
    (url) =>
      ({
        url,
        up: true,
        run: vi.fn(async (op: readonly unknown[]) => {
          ops.push([...op]);
          return op[0] === 'get'
            ? [200, Uint8Array.of(1), 0, 1, null, 5, false]
            : op[0] === 'verify'
              ? [404]
              : [204, 5];
        }),
      }) as unknown as NodeClient,
  );
  const moved = Array.from({ length: 40 }, (_, i) => `m${i}`).filter((key) =>
    before.getN(key, 2).includes(removed),
  );
  expect(moved.length).toBeGreaterThan(5);
  Object.assign(stub.cluster, {
    nodes,
    replicasOfStored: (key: string) => after.getN(key, 2),
  });
  stub.cluster.transport.json = vi.fn(async () => ({
    keys: moved.map((key) => [key, 5, null, false, false]),
    cursor: null,
  }));
  await restoreAfterRemoval(stub.cluster, before, 2, removed);
  expect(ops.filter((op) => op[0] === 'verify')).toEqual([]);
  expect(ops.filter((op) => op[0] === 'copy').length).toBeGreaterThanOrEqual(moved.length);
});
