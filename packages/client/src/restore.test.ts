import { describe, expect, it, vi } from 'vitest';
import type { Cluster } from './cluster.js';
import { NodeRequestError } from './errors/node-request-error.js';
import type { NodeClient } from './node-client.js';
import { ReplicationCounters } from './replication-stats.js';
import { parseKeyPage, restoreReturned } from './restore.js';

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
        { key: 'a', stamp: 5, tombstone: false },
        { key: 'b', stamp: 7, tombstone: true },
      ],
      cursor: '42',
    });
  });
});
