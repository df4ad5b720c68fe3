import { describe, expect, it, vi } from 'vitest';
import type { Cluster } from './cluster.js';
import { NodeRequestError } from './errors/node-request-error.js';
import type { NodeClient } from './node-client.js';
import { claimRestore, watchClaim } from './restore-claim.js';

type Answer = Headers | NodeRequestError;

/** A cluster whose node answers each POST with the next of `answers` (the last one again after). */
function clusterStub(answers: Answer[]) {
  const paths: string[] = [];
  const cluster = {
    closing: false,
    isMember: () => true,
    lastStartOf: () => 'start-1',
    waitUnlessClosing: (ms: number) =>
      new Promise((resolve) => setTimeout(resolve, Math.min(ms, 5))),
    transport: {
      post: vi.fn((_url: string, path: string) => {
        paths.push(path);
        const answer = answers.length > 1 ? answers.shift()! : answers[0]!;
        return answer instanceof Headers ? Promise.resolve(answer) : Promise.reject(answer);
      }),
    },
  };
  const node = { url: 'http://a', up: true } as unknown as NodeClient;
  return { cluster: cluster as unknown as Cluster, node, paths };
}

const granted = (leaseMs: number): Headers => new Headers({ 'dcache-claim-lease': `${leaseMs}` });
const refused = (code: string | undefined, retryAfter?: number): NodeRequestError =>
  new NodeRequestError('http://a', `HTTP 409 ${code}`, { status: 409, code, retryAfter });
/** The first claim of a watch: held by another client, its lease lapsing in 1 s. */
const TAKEN = { kind: 'taken', retryAfterMs: 1000 } as const;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('claimRestore', () => {
  it('reads a held claim as taken until its lease lapses, an ended or lease-less one as restored', async () => {
    const taken = clusterStub([refused('already_claimed', 3)]);
    expect(await claimRestore(taken.cluster, taken.node, 'me')).toEqual({
      kind: 'taken',
      retryAfterMs: 3000,
    });
    const restored = clusterStub([refused('already_restored')]);
    expect(await claimRestore(restored.cluster, restored.node, 'me')).toEqual({ kind: 'restored' });
    // A node older than leases: 409 with no Retry-After, held for good.
    const older = clusterStub([refused('already_claimed')]);
    expect(await claimRestore(older.cluster, older.node, 'me')).toEqual({ kind: 'restored' });
  });

  it('reads a claim every try of which failed for a passing reason as unanswered, while the node is up', async () => {
    const unavailable = new NodeRequestError('http://a', 'HTTP 503', { status: 503 });
    const { cluster, node, paths } = clusterStub([unavailable]);
    expect(await claimRestore(cluster, node, 'me')).toEqual({
      kind: 'unanswered',
      retryAfterMs: 0,
    });
    // The first try and three retries.
    expect(paths).toHaveLength(4);
    (node as unknown as { up: boolean }).up = false;
    expect(await claimRestore(cluster, node, 'me')).toEqual({ kind: 'failed' });
    const refusedOtherwise = clusterStub([
      new NodeRequestError('http://a', 'HTTP 404', { status: 404 }),
    ]);
    expect(await claimRestore(refusedOtherwise.cluster, refusedOtherwise.node, 'me')).toEqual({
      kind: 'failed',
    });
    expect(refusedOtherwise.paths).toHaveLength(1);
  });

  it('renews a granted lease at a third of it, and ends it once', async () => {
    const { cluster, node, paths } = clusterStub([granted(300)]);
    const claim = await claimRestore(cluster, node, 'me');
    if (claim.kind !== 'claimed') throw new Error(`claimed expected, got ${claim.kind}`);
    await sleep(350);
    const renewals = paths.length - 1;
    expect(renewals).toBeGreaterThanOrEqual(2);
    expect(paths[0]).toBe('/v1/restore-claim?claimant=me');
    // Renewals, never claims: on a node restarted since, a claim would take the new start's.
    expect(paths.slice(1).every((path) => path === '/v1/restore-claim?claimant=me&renew=1')).toBe(
      true,
    );
    await claim.lease.end('done');
    await claim.lease.end('released');
    await sleep(50);
    expect(paths.slice(1 + renewals)).toEqual(['/v1/restore-claim?claimant=me&end=done']);
    expect(claim.lease.lost).toBe(false);
  });

  it('marks a lease lost when a renewal finds another holder, and then ends nothing', async () => {
    const { cluster, node, paths } = clusterStub([granted(300), refused('not_claimant')]);
    const claim = await claimRestore(cluster, node, 'me');
    if (claim.kind !== 'claimed') throw new Error(`claimed expected, got ${claim.kind}`);
    await sleep(150);
    expect(claim.lease.lost).toBe(true);
    const asked = paths.length;
    await claim.lease.end('released');
    expect(paths).toHaveLength(asked);
  });
  it('asks an end once while the client closes, not again after each retry delay', async () => {
    const unavailable = new NodeRequestError('http://a', 'HTTP 503', { status: 503 });
    const { cluster, node, paths } = clusterStub([granted(3000), unavailable]);
    const claim = await claimRestore(cluster, node, 'me');
    if (claim.kind !== 'claimed') throw new Error(`claimed expected, got ${claim.kind}`);
    (cluster as unknown as { closing: boolean }).closing = true;
    await claim.lease.end('released');
    expect(paths).toEqual([
      '/v1/restore-claim?claimant=me',
      '/v1/restore-claim?claimant=me&end=released',
    ]);
  });
});

describe('ClaimLease bounds and close', () => {
  it('renews a lease longer than a timer can hold at most every 20 minutes, not every 1 ms', async () => {
    const { cluster, node, paths } = clusterStub([granted(10_000_000_000)]);
    const claim = await claimRestore(cluster, node, 'me');
    if (claim.kind !== 'claimed') throw new Error(`claimed expected, got ${claim.kind}`);
    await sleep(50);
    await claim.lease.end('done');
    expect(paths).toEqual([
      '/v1/restore-claim?claimant=me',
      '/v1/restore-claim?claimant=me&end=done',
    ]);
  });

  it('does not ask an end again once close() began during the wait before its retry', async () => {
    const unavailable = new NodeRequestError('http://a', 'HTTP 503', { status: 503 });
    const { cluster, node, paths } = clusterStub([granted(3000), unavailable]);
    const claim = await claimRestore(cluster, node, 'me');
    if (claim.kind !== 'claimed') throw new Error(`claimed expected, got ${claim.kind}`);
    const stub = cluster as unknown as { closing: boolean; waitUnlessClosing: () => Promise<void> };
    stub.waitUnlessClosing = async () => {
      stub.closing = true;
    };
    await claim.lease.end('done');
    expect(paths).toEqual([
      '/v1/restore-claim?claimant=me',
      '/v1/restore-claim?claimant=me&end=done',
    ]);
  });
});

describe('watchClaim', () => {
  it('asks again while the claim is held, and restores once it is granted', async () => {
    const { cluster, node, paths } = clusterStub([
      refused('already_claimed', 1),
      refused('already_claimed', 1),
      granted(1000),
    ]);
    const restore = vi.fn(async () => undefined);
    await watchClaim(cluster, node, 'me', TAKEN, restore);
    expect(paths).toHaveLength(3);
    expect(restore).toHaveBeenCalledTimes(1);
  });

  it('runs once per node start, and watches the start a node it had not heard from names next', async () => {
    const { cluster, node, paths } = clusterStub([refused('already_claimed', 1), granted(1000)]);
    // No batch answer from the node yet: its start is unknown.
    const seen: { start?: string } = {};
    (cluster as unknown as { lastStartOf: () => string | undefined }).lastStartOf = () =>
      seen.start;
    const restore = vi.fn(async () => undefined);
    const first = watchClaim(cluster, node, 'me', TAKEN, restore);
    // A second return of the same start while the first watch runs: no second watcher.
    await watchClaim(cluster, node, 'me-too', TAKEN, restore);
    // The first batch answer from the node names its start: the same node start, still watched.
    seen.start = 'start-1';
    await first;
    expect(paths).toEqual(['/v1/restore-claim?claimant=me', '/v1/restore-claim?claimant=me']);
    expect(restore).toHaveBeenCalledTimes(1);
  });

  it('asks again a claim that went unanswered, and restores once it is granted', async () => {
    const unavailable = new NodeRequestError('http://a', 'HTTP 503', { status: 503 });
    const answers: Answer[] = [unavailable, unavailable, unavailable, unavailable, granted(1000)];
    const { cluster, node, paths } = clusterStub(answers);
    const restore = vi.fn(async () => undefined);
    await watchClaim(cluster, node, 'me', TAKEN, restore);
    expect(paths).toHaveLength(5);
    expect(restore).toHaveBeenCalledTimes(1);
  });

  it('waits at most 5 s for a held claim, and at least the Retry-After of an unanswered one', async () => {
    const busy = new NodeRequestError('http://a', 'HTTP 503', { status: 503, retryAfter: 30 });
    const answers: Answer[] = [
      refused('already_claimed', 20),
      busy,
      busy,
      busy,
      busy,
      granted(1000),
    ];
    const { cluster, node } = clusterStub(answers);
    const waits: number[] = [];
    const stub = cluster as unknown as { waitUnlessClosing: (ms: number) => Promise<unknown> };
    stub.waitUnlessClosing = (ms) => {
      waits.push(ms);
      return sleep(1);
    };
    const restore = vi.fn(async () => undefined);
    await watchClaim(cluster, node, 'me', { kind: 'taken', retryAfterMs: 20_000 }, restore);
    expect(restore).toHaveBeenCalledTimes(1);
    // The watch's waits (with up to 0.5 s of jitter), around the claim's own retries (0.25, 1, 4 s).
    const watchWaits = waits.filter((ms) => ![250, 1000, 4000].includes(ms));
    expect(watchWaits).toHaveLength(3);
    expect(watchWaits[0]).toBeGreaterThanOrEqual(5000);
    expect(watchWaits[0]).toBeLessThan(5500);
    expect(watchWaits[1]).toBeGreaterThanOrEqual(5000);
    expect(watchWaits[1]).toBeLessThan(5500);
    expect(watchWaits[2]).toBeGreaterThanOrEqual(30_000);
  });

  it('gives up after six rounds of claims that went unanswered', async () => {
    const unavailable = new NodeRequestError('http://a', 'HTTP 503', { status: 503 });
    const { cluster, node, paths } = clusterStub([unavailable]);
    const restore = vi.fn(async () => undefined);
    await watchClaim(cluster, node, 'me', TAKEN, restore);
    // Each round is the first try and three retries.
    expect(paths).toHaveLength(6 * 4);
    expect(restore).not.toHaveBeenCalled();
  });

  it('stops once the claim is restored by another client, or the node restarted again', async () => {
    const restored = clusterStub([refused('already_restored')]);
    const restore = vi.fn(async () => undefined);
    await watchClaim(restored.cluster, restored.node, 'me', TAKEN, restore);
    expect(restored.paths).toHaveLength(1);

    const restarted = clusterStub([granted(1000)]);
    let start = 'start-1';
    (restarted.cluster as unknown as { lastStartOf: () => string }).lastStartOf = () => start;
    const watching = watchClaim(restarted.cluster, restarted.node, 'me', TAKEN, restore);
    start = 'start-2';
    await watching;
    expect(restarted.paths).toHaveLength(0);
    expect(restore).not.toHaveBeenCalled();
  });
});
