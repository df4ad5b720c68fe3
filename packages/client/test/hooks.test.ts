import { afterEach, describe, expect, it, vi } from 'vitest';
import type {
  BackgroundErrorContext,
  ClientOptions,
  DistributedCacheClient,
} from '../src/index.js';
import { isNodeRequestError, isOperationRejectedError } from '../src/index.js';
import { connect, startCluster, startHoldingProxy, TestNode, waitFor } from './cluster.js';
import { nodeCounter, rawGet } from './raw-node.js';

/** What a test started, closed after it in reverse order (clients before the nodes they use). */
const started: { close(): Promise<void> }[] = [];
function track<T extends { close(): Promise<void> }>(resource: T): T {
  started.push(resource);
  return resource;
}
afterEach(async () => {
  for (const resource of started.splice(0).reverse()) await resource.close();
  vi.restoreAllMocks();
});

/** A client whose `onBackgroundError` reports are collected (closed after the test). */
function reportingClient(
  urls: string[],
  options: ClientOptions,
): { client: DistributedCacheClient; reports: [Error, BackgroundErrorContext][] } {
  const reports: [Error, BackgroundErrorContext][] = [];
  const client = track(
    connect(urls, {
      ...options,
      onBackgroundError: (error, context) => reports.push([error, context]),
    }),
  );
  return { client, reports };
}

const FAST_DOWN = { replicas: 2, failureThreshold: 1, probeInterval: 20 } as const;

/** A key whose primary is `url`. */
function keyOwnedBy(cache: DistributedCacheClient, url: string, prefix: string): string {
  for (let i = 0; ; i++) {
    const key = `${prefix}:${i}`;
    if (cache.nodesFor(key)[0] === url) return key;
  }
}

/**
 * Two nodes, the first refusing values over 1 KiB, the second not: a big value lands on one
 * replica only, so the other's refusal is a failure no call reports.
 */
async function lopsidedCluster(): Promise<{ small: TestNode; big: TestNode; urls: string[] }> {
  const small = await TestNode.start({ maxValueBytes: '1kb' });
  track({ close: () => small.kill() });
  const big = await TestNode.start();
  track({ close: () => big.kill() });
  return { small, big, urls: [small.url, big.url] };
}

const BIG = 'x'.repeat(4096);

describe('onNodeDown / onNodeUp', () => {
  it('report a node marked down, with the failure, and back up once a probe answers', async () => {
    const cluster = track(await startCluster(2));
    const events: string[] = [];
    const errors: Error[] = [];
    const client = track(
      connect(cluster.urls, {
        ...FAST_DOWN,
        onNodeDown: (node, error) => {
          events.push(`down ${node}`);
          errors.push(error);
        },
        onNodeUp: (node) => events.push(`up ${node}`),
      }),
    );
    const victim = cluster.nodes[0]!;
    const key = keyOwnedBy(client, victim.url, 'hook-down');
    expect(await client.set(key, 'v')).toBe(true);
    await victim.kill();
    // The primary refuses the connection: marked down, the replica answers.
    expect(await client.get(key)).toBe('v');
    expect(events).toStrictEqual([`down ${victim.url}`]);
    expect(isNodeRequestError(errors[0])).toBe(true);
    await victim.restart();
    await waitFor(() => events.length === 2, 'the node to be reported up');
    expect(events).toStrictEqual([`down ${victim.url}`, `up ${victim.url}`]);
  });
});

describe('onBackgroundError', () => {
  it("reports a replica's refusal after a 'one' acknowledgement, then the read repair it causes", async () => {
    const { small, big, urls } = await lopsidedCluster();
    const { client, reports } = reportingClient(urls, {
      replicas: 2,
      writeConsistency: 'one',
    });
    const key = keyOwnedBy(client, small.url, 'hook-bg');
    // The primary refused it: only partly done (the next read asks the primary), and reported.
    expect(await client.set(key, BIG)).toBe(false);
    await waitFor(() => reports.length === 1, 'the replica write to be reported');
    expect(reports[0]![1]).toStrictEqual({ operation: 'replica-write', key, node: small.url });
    expect(isOperationRejectedError(reports[0]![0]) && reports[0]![0].code).toBe('too_large');
    expect(big.entry(key)).toBeDefined();

    // The primary misses, the replica answers, and writing it back to the primary is refused.
    expect(await client.get(key)).toBe(BIG);
    await waitFor(() => reports.length === 2, 'the read repair to be reported');
    expect(reports[1]![1]).toStrictEqual({ operation: 'read-repair', key, node: small.url });
    expect(isOperationRejectedError(reports[1]![0])).toBe(true);
  });

  it("reports a replica's failure that arrives after the call resolved", async () => {
    const { small, urls } = await lopsidedCluster();
    const slow = track(await startHoldingProxy(small.url));
    const reports: [Error, BackgroundErrorContext][] = [];
    const client = track(
      connect([slow.url, urls[1]!], {
        replicas: 2,
        writeConsistency: 'one',
        onBackgroundError: (error, context) => reports.push([error, context]),
      }),
    );
    // The refusing replica answers only once the call has its acknowledgement (the primary's:
    // 'one' waits for the primary, so the slow node is the other replica).
    const key = keyOwnedBy(client, urls[1]!, 'hook-late');
    expect(await client.set(key, BIG)).toBe(true);
    expect(reports).toStrictEqual([]);
    slow.release();
    await waitFor(() => reports.length === 1, 'the late refusal to be reported');
    expect(reports[0]![1]).toStrictEqual({ operation: 'replica-write', key, node: slow.url });
    await client.close();
  });

  it('reports the primary failing when the next replica decides an add', async () => {
    const cluster = track(await startCluster(2));
    const { client, reports } = reportingClient(cluster.urls, {
      replicas: 2,
      failureThreshold: 100,
    });
    const victim = cluster.nodes[0]!;
    const key = keyOwnedBy(client, victim.url, 'hook-add');
    await victim.kill();
    expect(await client.add(key, 'v')).toBe(true);
    expect(reports).toHaveLength(1);
    expect(reports[0]![1]).toStrictEqual({ operation: 'replica-write', key, node: victim.url });
    expect(isNodeRequestError(reports[0]![0])).toBe(true);
  });

  it('reports an incr replica that lacks the counter another counted (the copies differ)', async () => {
    const cluster = track(await startCluster(2));
    const { client, reports } = reportingClient(cluster.urls, {
      replicas: 2,
    });
    await client.set('hook-count', 5);
    const [, replica] = client.nodesFor('hook-count');
    cluster.nodes.find((node) => node.url === replica)!.server.cache.delete('hook-count');
    expect(await client.incr('hook-count')).toBe(6);
    expect(reports).toHaveLength(1);
    expect(reports[0]![1]).toStrictEqual({
      operation: 'replica-write',
      key: 'hook-count',
      node: replica,
    });
    expect(reports[0]![0].message).toContain('key "hook-count" is not on this node');
    // The replica got the count before incr answered.
    const copied = await rawGet(replica!, 'hook-count');
    expect(Buffer.from(copied[1] as Uint8Array).toString()).toBe('6');
    // Missing everywhere is a plain miss, not a failure. The incr also left the replica a hint on
    // the primary: replayed after the deletes below (which leave no tombstone), it would copy the
    // count back to the replica, and the next incr would count 7.
    await waitFor(
      async () =>
        (await Promise.all(cluster.urls.map((url) => nodeCounter(url, 'hintsPending')))).every(
          (pending) => pending === 0,
        ),
      'the hint for the replica delivered',
    );
    for (const node of cluster.nodes) node.server.cache.delete('hook-count');
    expect(await client.incr('hook-count')).toBeUndefined();
    expect(reports).toHaveLength(1);
  });

  it('incr with initial does not ask again a replica whose first incr failed; it reports it', async () => {
    const cluster = track(await startCluster(2));
    const [p, r] = cluster.nodes as [TestNode, TestNode];
    const slowR = track(await startHoldingProxy(r.url)); // r counts, its answers are held
    const reports: [Error, BackgroundErrorContext][] = [];
    const client = connect([p.url, slowR.url], {
      replicas: 2,
      timeout: 300,
      failureThreshold: 100,
      onBackgroundError: (error, context) => reports.push([error, context]),
    });
    const key = keyOwnedBy(client, p.url, 'seeded-slow');
    const direct = connect([r.url], { replicas: 1 });
    await direct.set(key, 100);
    await direct.close();
    // p lacks the counter; r counts to 101 but its answer never comes in time.
    expect(await client.incr(key, 1, { initial: 1 })).toBe(1);
    slowR.release();
    await client.close();
    // Asked again, r would have counted a second time (102).
    expect(new TextDecoder().decode(r.entry(key)!.value.bytes)).toBe('101');
    expect(reports.map(([, context]) => context)).toStrictEqual([
      { operation: 'replica-write', key, node: slowR.url },
    ]);
  });

  it('incr with initial reports a replica that refused to count while another created it', async () => {
    const cluster = track(await startCluster(2));
    const { client, reports } = reportingClient(cluster.urls, {
      replicas: 2,
    });
    const [first, second] = cluster.nodes as [TestNode, TestNode];
    const key = keyOwnedBy(client, first.url, 'seeded-refused');
    const direct = connect([second.url], { replicas: 1 });
    await direct.set(key, 'not a number');
    await direct.close();
    expect(await client.incr(key, 1, { initial: 5 })).toBe(5); // created on the first node
    expect(reports).toHaveLength(1);
    expect(reports[0]![1]).toStrictEqual({ operation: 'replica-write', key, node: second.url });
    expect(isOperationRejectedError(reports[0]![0])).toBe(true);
  });

  it('an add decided after a failed primary and a removed replica reports the primary only', async () => {
    const cluster = track(await startCluster(3));
    const [a, b, c] = cluster.nodes as [TestNode, TestNode, TestNode];
    const slowA = track(await startHoldingProxy(a.url));
    const reports: [Error, BackgroundErrorContext][] = [];
    const client = track(
      connect([slowA.url, b.url, c.url], {
        replicas: 3,
        failureThreshold: 100,
        onBackgroundError: (error, context) => reports.push([error, context]),
      }),
    );
    const key = keyOwnedBy(client, slowA.url, 'add-removed');
    const second = client.nodesFor(key)[1]!;
    const added = client.add(key, 'v'); // held on a
    await waitFor(() => slowA.held() === 1, "a's answer to be held");
    expect(await client.removeNode(second)).toBe(true);
    await slowA.close(); // a's request fails; the removed replica is skipped; the third decides
    expect(await added).toBe(true);
    // The removal's restore lists the nodes left, a included, which fails there: its own report.
    const writes = reports.filter(([, context]) => context.operation === 'replica-write');
    expect(writes).toHaveLength(1);
    expect(writes[0]![1]).toStrictEqual({ operation: 'replica-write', key, node: slowA.url });
    expect(writes[0]![0]).toBeInstanceOf(Error);
  });

  it('reports nothing for a failure the call itself rejects with', async () => {
    const { small } = await lopsidedCluster();
    const reports: Error[] = [];
    const client = track(
      connect([small.url], { onBackgroundError: (error) => reports.push(error) }),
    );
    await expect(client.set('hook-own', BIG)).rejects.toThrow(/too_large/);
    await client.close();
    expect(reports).toStrictEqual([]);
  });

  it('reports nothing for the primary failure a delete rejects with, though another replica answered', async () => {
    const cluster = track(await startCluster(2));
    const { client, reports } = reportingClient(cluster.urls, {
      replicas: 2,
      failureThreshold: 100,
    });
    const victim = cluster.nodes[0]!;
    const key = keyOwnedBy(client, victim.url, 'hook-delete');
    expect(await client.set(key, 'v')).toBe(true);
    await victim.kill();
    const failure = await client.delete(key).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isNodeRequestError(failure)).toBe(true);
    expect((failure as { node: string }).node).toBe(victim.url);
    expect(reports).toStrictEqual([]);
    // deleteMany counts such a key as not deleted instead of rejecting: reported then, once.
    expect(await client.deleteMany([key])).toBe(0);
    await client.close();
    expect(reports.map(([, context]) => context)).toStrictEqual([
      { operation: 'replica-write', key, node: victim.url },
    ]);
  });
});

describe('hooks that throw', () => {
  it('become process warnings; the client keeps its state and keeps working', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const { small, urls } = await lopsidedCluster();
    const ups: string[] = [];
    const client = track(
      connect(urls, {
        ...FAST_DOWN,
        writeConsistency: 'all',
        onNodeDown: () => {
          throw new Error('pager unreachable');
        },
        onNodeUp: (node) => ups.push(node),
        onBackgroundError: () => Promise.reject(new Error('async logger broke')),
      }),
    );
    // One replica refuses: the write resolves (false: 'all' not met) despite the hook rejecting.
    const key = keyOwnedBy(client, small.url, 'hook-throw');
    expect(await client.set(key, BIG)).toBe(false);

    await small.kill();
    expect(await client.get(key)).toBe(BIG);
    // Marked down although the hook threw: its keys go to the other node.
    expect(client.nodesFor(key)).not.toContain(small.url);
    await small.restart();
    await waitFor(() => ups.length === 1, 'the probe to bring the node back');
    expect(client.nodesFor(key)[0]).toBe(small.url);

    await waitFor(() => warn.mock.calls.length === 2, 'both hook failures to be warned about');
    const details = warn.mock.calls.map((call) => (call[1] as { detail: string }).detail);
    expect(details).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/pager unreachable/),
        expect.stringMatching(/async logger broke/),
      ]),
    );
  });
});
