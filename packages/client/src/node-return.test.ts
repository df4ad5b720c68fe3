import { expect, it, vi } from 'vitest';
import type { Cluster } from './cluster.js';
import { NodeRequestError } from './errors/node-request-error.js';
import type { NodeClient } from './node-client.js';
import { nodeJoined, nodeRestarted, nodeReturned } from './node-return.js';
import { ReplicationCounters } from './replication-stats.js';

/**
 * A cluster stub whose restore claims wait until `releaseClaims` (then another client holds them:
 * 409), and that records every POST, a claim's without its claimant token.
 */
function clusterStub() {
  const posts: string[] = [];
  const claims: (() => void)[] = [];
  /** Nodes no longer members. */
  const left = new Set<NodeClient>();
  const cluster = {
    closing: false,
    nodes: [] as NodeClient[],
    fenceOnReturn: new Set<NodeClient>(),
    counters: new ReplicationCounters(),
    isMember: (node: NodeClient) => !left.has(node),
    track: (work: Promise<unknown>) => void work.catch(() => undefined),
    transport: {
      post: vi.fn((url: string, path: string) => {
        const claim = path.startsWith('/v1/restore-claim?claimant=');
        posts.push(claim ? '/v1/restore-claim' : path);
        if (!claim) return Promise.resolve();
        // Claimed by another client: nothing to copy.
        const taken = new NodeRequestError(url, 'already claimed', { status: 409 });
        return new Promise<void>((_, reject) => claims.push(() => reject(taken)));
      }),
    },
  };
  const releaseClaims = (): void => {
    for (const release of claims.splice(0)) release();
  };
  return {
    cluster: cluster as unknown as Cluster,
    fenceOnReturn: cluster.fenceOnReturn,
    posts,
    releaseClaims,
    left,
  };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

it("a restart seen while a return runs waits for it to end; the failure detector's return still fences", async () => {
  const { cluster, fenceOnReturn, posts, releaseClaims } = clusterStub();
  const node = { url: 'http://a', up: true, holdOutUntil: vi.fn() } as unknown as NodeClient;
  const claims = (): number => posts.filter((path) => path === '/v1/restore-claim').length;
  nodeRestarted(cluster, node);
  await turn();
  expect(posts).toEqual(['/v1/restore-claim']);
  // Another new start while that restore runs: nothing more yet.
  nodeRestarted(cluster, node);
  nodeRestarted(cluster, node);
  await turn();
  expect(posts).toEqual(['/v1/restore-claim']);
  // Marked down and written around meanwhile, then seen up: fenced and held out all the same.
  fenceOnReturn.add(node);
  nodeReturned(cluster, node);
  await turn();
  expect(posts).toEqual(['/v1/restore-claim', '/v1/fence', '/v1/restore-claim']);
  expect(node.holdOutUntil).toHaveBeenCalledTimes(1);
  releaseClaims();
  await turn();
  // Both returns ended: the start seen meanwhile is returned to, once however often it was seen.
  expect(claims()).toBe(3);
  releaseClaims();
  await turn();
  expect(claims()).toBe(3);
  // With nothing under way, a new start is a return at once.
  nodeRestarted(cluster, node);
  await turn();
  expect(claims()).toBe(4);
  releaseClaims();
});

it('a restart seen during a join is returned to once the join ends', async () => {
  const { cluster, posts, releaseClaims } = clusterStub();
  const node = { url: 'http://a', up: true, holdOutUntil: vi.fn() } as unknown as NodeClient;
  nodeJoined(cluster, node);
  await turn();
  await turn();
  // The join fences the node it takes in, then claims its restore.
  expect(posts).toEqual(['/v1/fence', '/v1/restore-claim']);
  nodeRestarted(cluster, node);
  await turn();
  expect(posts).toEqual(['/v1/fence', '/v1/restore-claim']);
  releaseClaims();
  await turn();
  await turn();
  expect(posts).toEqual(['/v1/fence', '/v1/restore-claim', '/v1/restore-claim']);
  releaseClaims();
});

it('a restart seen during a return is not returned to once the client closes, the node left or is down', async () => {
  for (const after of ['closing', 'left', 'down'] as const) {
    const { cluster, posts, releaseClaims, left } = clusterStub();
    const node = { url: 'http://a', up: true, holdOutUntil: vi.fn() } as unknown as NodeClient;
    nodeRestarted(cluster, node);
    await turn();
    nodeRestarted(cluster, node);
    if (after === 'closing') (cluster as unknown as { closing: boolean }).closing = true;
    if (after === 'left') left.add(node);
    if (after === 'down') (node as unknown as { up: boolean }).up = false;
    releaseClaims();
    await turn();
    await turn();
    expect(posts, after).toEqual(['/v1/restore-claim']);
  }
});

it('a return that fences the node restores it even if its start was restored: the fence undid that', async () => {
  const returnsTo = async (
    pendingFence: boolean,
    returns = 1,
  ): Promise<{ posts: string[]; listed: string[] }> => {
    const { cluster, fenceOnReturn, posts } = clusterStub();
    const node = { url: 'http://a', up: true, holdOutUntil: vi.fn() } as unknown as NodeClient;
    const source = { url: 'http://b', up: true } as unknown as NodeClient;
    const listed: string[] = [];
    Object.assign(cluster, {
      nodes: [node, source],
      restoreRate: 1_000_000,
      waitUnlessClosing: async () => undefined,
      replicasOfStored: () => [],
      reportBackgroundError: vi.fn(),
    });
    cluster.transport.post = vi.fn(async (url: string, path: string) => {
      const claim = path.startsWith('/v1/restore-claim?claimant=');
      posts.push(claim ? '/v1/restore-claim' : path);
      // Another client restored this start already.
      if (claim) {
        throw new NodeRequestError(url, 'already restored', {
          status: 409,
          code: 'already_restored',
        });
      }
      return new Headers();
    }) as unknown as Cluster['transport']['post'];
    cluster.transport.json = vi.fn(async (url: string) => {
      listed.push(url);
      return { keys: [], cursor: null };
    }) as unknown as Cluster['transport']['json'];
    if (pendingFence) fenceOnReturn.add(node);
    for (let i = 0; i < returns; i++) nodeReturned(cluster, node);
    for (let i = 0; i < 10; i++) await turn();
    return { posts, listed };
  };
  const fenced = await returnsTo(true);
  expect(fenced.posts).toEqual(['/v1/fence', '/v1/restore-claim']);
  expect(fenced.listed).toEqual(['http://b']);
  // No fence sent: what the other client's restore vouched for stands.
  const unfenced = await returnsTo(false);
  expect(unfenced.posts).toEqual(['/v1/restore-claim']);
  expect(unfenced.listed).toEqual([]);
  // Seen back twice at once (a new start in an answer, the failure detector): one fence, and only
  // the return that sent it restores anyway; the other claims, and finds it restored.
  const twice = await returnsTo(true, 2);
  expect(twice.posts).toEqual(['/v1/fence', '/v1/restore-claim', '/v1/restore-claim']);
  expect(twice.listed).toEqual(['http://b']);
});

/** The transport: its first `failures` fences time out, the rest answer; each path in `posts`. */
function failFences(cluster: Cluster, posts: string[], failures: number): void {
  let left = failures;
  cluster.transport.post = vi.fn(async (url: string, path: string) => {
    posts.push(path);
    if (path !== '/v1/fence') throw new NodeRequestError(url, 'already claimed', { status: 409 });
    if (left-- > 0) throw new Error('timed out');
    return new Headers();
  }) as unknown as Cluster['transport']['post'];
}

it('a node whose fence on return fails stays held out, and is fenced again until it answers', async () => {
  const { cluster, fenceOnReturn, posts } = clusterStub();
  let held: Promise<void> | undefined;
  const health = { up: true };
  const node = {
    url: 'http://a',
    up: false,
    health,
    holdOutUntil: (work: Promise<void>) => {
      held = work;
    },
  } as unknown as NodeClient;
  Object.assign(cluster, { probeInterval: 1, waitUnlessClosing: turn });
  // The fence is lost twice (a partition flapping, a node too busy to answer in `timeout`).
  failFences(cluster, posts, 2);
  let settled = false;
  fenceOnReturn.add(node);
  nodeReturned(cluster, node);
  void held?.then(() => (settled = true));
  await turn();
  // Not answered: routed now, the node would serve what it missed as current, and nothing would
  // fence it before the failure detector next saw it down and up again.
  expect(settled).toBe(false);
  for (let i = 0; i < 10; i++) await turn();
  expect(posts.filter((path) => path === '/v1/fence')).toHaveLength(3);
  expect(fenceOnReturn.has(node)).toBe(false);
  expect(settled).toBe(true);

  // Marked down meanwhile: no more tries (its next return fences it), and no longer held out.
  const again = clusterStub();
  Object.assign(again.cluster, { probeInterval: 1, waitUnlessClosing: turn });
  again.cluster.transport.post = vi.fn(async () => {
    throw new Error('timed out');
  }) as unknown as Cluster['transport']['post'];
  let released = false;
  again.fenceOnReturn.add(node);
  nodeReturned(again.cluster, node);
  void held?.then(() => (released = true));
  await turn();
  health.up = false;
  for (let i = 0; i < 10; i++) await turn();
  expect(released).toBe(true);
  expect(again.fenceOnReturn.has(node)).toBe(true);
});

it('a joined node whose fence fails while it is seen up is held out and fenced again until it answers', async () => {
  const { cluster, fenceOnReturn, posts } = clusterStub();
  Object.assign(cluster, { probeInterval: 1, waitUnlessClosing: turn });
  let held: Promise<void> | undefined;
  const node = {
    url: 'http://a',
    up: true,
    health: { up: true },
    settled: () => Promise.resolve(),
    holdOutUntil: (work: Promise<void>) => {
      held = work;
    },
  } as unknown as NodeClient;
  // The fence times out twice (a node too busy to answer): the failure detector still has it up.
  failFences(cluster, posts, 2);
  nodeJoined(cluster, node);
  for (let i = 0; i < 10; i++) await turn();
  // Routed after the first failure, it would serve unfenced what another client's restore vouched
  // for and this client overwrote elsewhere, until it was next seen down and up.
  expect(posts.filter((path) => path === '/v1/fence')).toHaveLength(3);
  expect(fenceOnReturn.has(node)).toBe(false);
  expect(held).toBeDefined();
  let settled = false;
  await held?.then(() => (settled = true));
  expect(settled).toBe(true);
});
