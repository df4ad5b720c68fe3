import { describe, expect, it, vi } from 'vitest';
import type { Cluster } from './cluster.js';
import { fenceIfPending, fenceUntilAnswered, handOff, planHints } from './hints.js';
import type { NodeClient } from './node-client.js';
import { ReplicationCounters } from './replication-stats.js';
import type { BatchResult } from './wire.js';

describe('planHints: who needs a hint for a write and who keeps it', () => {
  it.each<[string, string[], string[], string[], string[], string[]]>([
    // name, natural replicas, live (asked), acknowledged, hinted targets, holders in order
    ['every natural replica acknowledged', ['A', 'B'], ['A', 'B'], ['A', 'B'], [], []],
    ['the primary failed', ['A', 'B'], ['A', 'B'], ['B'], ['A'], ['B']],
    ['the primary down, a stand-in took it', ['A', 'B'], ['B', 'C'], ['B', 'C'], ['A'], ['C', 'B']],
    [
      'the primary marked down but back: it acknowledged, the stand-in still gets a hint to drop its copy',
      ['A', 'B'],
      ['B', 'C'],
      ['A', 'B', 'C'],
      ['A'],
      ['C', 'A', 'B'],
    ],
    [
      'both natural replicas down, stand-ins only',
      ['A', 'B'],
      ['C', 'D'],
      ['C', 'D'],
      ['A', 'B'],
      ['C', 'D'],
    ],
    ['nothing acknowledged: stored nowhere', ['A', 'B'], ['A', 'B'], [], [], []],
    ['three replicas, one missed', ['A', 'B', 'C'], ['A', 'B', 'C'], ['A', 'C'], ['B'], ['A', 'C']],
  ])('%s', (_name, natural, live, acked, missed, holders) => {
    expect(planHints(natural, live, acked)).toStrictEqual({ missed, holders });
  });
});

describe('handOff', () => {
  /** A node stub: its background lane (where hints go) answers as given; `up` as given. */
  const node = (url: string, answer: () => Promise<BatchResult>, up = true): NodeClient =>
    ({
      url,
      up,
      health: { up },
      runInBackground: vi.fn(answer),
      holdOutUntil: vi.fn(),
    }) as unknown as NodeClient;

  function clusterStub(fence: () => Promise<void>) {
    const tracked: Promise<unknown>[] = [];
    return {
      /** The background work handed to `track`: a test awaits it before looking at the fences. */
      tracked,
      track: (work: Promise<unknown>) => void tracked.push(work),
      counters: new ReplicationCounters(),
      fenceOnReturn: new Set<NodeClient>(),
      isMember: () => true,
      transport: { post: vi.fn(fence) },
      probeInterval: 1,
      closing: false,
      waitUnlessClosing: () => new Promise<void>((resolve) => setImmediate(resolve)),
    };
  }

  it('hands the hint to the first holder that takes it, with standIn for a non-natural holder', async () => {
    const missed = node('http://a', () => Promise.reject(new Error('never asked')));
    const refusing = node('http://c', () => Promise.reject(new Error('down')));
    const taking = node('http://b', () => Promise.resolve([204] as const));
    const cluster = clusterStub(() => Promise.resolve());
    await handOff(cluster as unknown as Cluster, 'k', missed, [refusing, taking], [missed, taking]);
    expect(refusing.runInBackground).toHaveBeenCalledWith(['hint', 'k', 'http://a', true]);
    expect(taking.runInBackground).toHaveBeenCalledWith(['hint', 'k', 'http://a', false]);
    expect(cluster.counters.hintsHandedOff).toBe(1);
    expect(cluster.counters.hintsDropped).toBe(0);
    expect(cluster.transport.post).not.toHaveBeenCalled();
  });

  it('names to a stand-in the stamp it took the write at, so that it drops that copy only', async () => {
    const missed = node('http://a', () => Promise.reject(new Error('never asked')));
    const standIn = node('http://c', () => Promise.resolve([204] as const));
    const replica = node('http://b', () => Promise.resolve([204] as const));
    const cluster = clusterStub(() => Promise.resolve());
    const stamps = new Map([
      [standIn, 1234],
      [replica, 1234],
    ]);
    const natural = [missed, replica];
    await handOff(cluster as unknown as Cluster, 'k', missed, [standIn, replica], natural, stamps);
    expect(standIn.runInBackground).toHaveBeenCalledWith(['hint', 'k', 'http://a', true, 1234]);
    expect(replica.runInBackground).toHaveBeenCalledWith(['hint', 'k', 'http://a', false]);
  });

  it('no holder takes it: dropped, counted, and the missed node is fenced (now when up, else later)', async () => {
    const refusing = node('http://b', () => Promise.resolve([400, 'bad_op', 'unknown'] as const));
    const upNow = node('http://a', () => Promise.reject(new Error('unused')), true);
    const cluster = clusterStub(() => Promise.resolve());
    await handOff(cluster as unknown as Cluster, 'k', upNow, [refusing], [upNow, refusing]);
    expect(refusing.runInBackground).toHaveBeenCalledTimes(1);
    expect(cluster.counters.hintsDropped).toBe(1);
    expect(cluster.transport.post).toHaveBeenCalledWith('http://a', '/v1/fence');
    expect(cluster.fenceOnReturn.size).toBe(0);
    expect(cluster.counters.fencesSent).toBe(1);

    const down = node('http://d', () => Promise.reject(new Error('unused')), false);
    await handOff(cluster as unknown as Cluster, 'k', down, [refusing], [down, refusing]);
    expect(cluster.counters.hintsDropped).toBe(2);
    expect(cluster.fenceOnReturn.has(down)).toBe(true);
    await fenceIfPending(cluster as unknown as Cluster, down);
    expect(cluster.transport.post).toHaveBeenLastCalledWith('http://d', '/v1/fence');
    expect(cluster.fenceOnReturn.size).toBe(0);
  });

  it('a node still up when it missed the write is owed a fence on its return, though its hint was taken', async () => {
    // Its request timed out in a partition this client marks it down for only later: back before
    // the hint's replay, it would count (incr, touch) on the value it missed the write of.
    const missed = node('http://a', () => Promise.reject(new Error('never asked')), true);
    const taking = node('http://b', () => Promise.resolve([204] as const));
    const cluster = clusterStub(() => Promise.resolve());
    await handOff(cluster as unknown as Cluster, 'k', missed, [taking], [missed, taking]);
    expect(cluster.counters.hintsHandedOff).toBe(1);
    expect(cluster.fenceOnReturn.has(missed)).toBe(true);
    // Not now: it is up, and its hint replays as soon as the holder probes it.
    expect(cluster.transport.post).not.toHaveBeenCalled();
  });

  it('a fence that fails stays pending for the next time the node is seen up', async () => {
    const refusing = node('http://b', () => Promise.reject(new Error('down')));
    const missed = node('http://a', () => Promise.reject(new Error('unused')), true);
    const health = missed.health as { up: boolean };
    const cluster = clusterStub(() => Promise.reject(new Error('ECONNREFUSED')));
    // Marked down by the failure detector after the first failure: no more tries here.
    cluster.transport.post.mockImplementation(() => {
      health.up = false;
      return Promise.reject(new Error('ECONNREFUSED'));
    });
    await handOff(cluster as unknown as Cluster, 'k', missed, [refusing], [missed, refusing]);
    await Promise.all(cluster.tracked);
    expect(cluster.transport.post).toHaveBeenCalledTimes(1);
    expect(cluster.fenceOnReturn.has(missed)).toBe(true);
    expect(cluster.counters.fencesSent).toBe(0);
  });

  it("a dropped hint's fence that fails on a node still up holds it out and is sent again until answered", async () => {
    // The fence timed out (a partition this client has yet to mark down, a node too busy to
    // answer): routed unfenced, the node would serve the write it missed as current, and nothing
    // would fence it before the failure detector saw it down and up again — which may be never.
    const refusing = node('http://b', () => Promise.reject(new Error('down')));
    const missed = node('http://a', () => Promise.reject(new Error('unused')), true);
    let failures = 2;
    const cluster = clusterStub(() =>
      failures-- > 0 ? Promise.reject(new Error('timed out')) : Promise.resolve(),
    );
    await handOff(cluster as unknown as Cluster, 'k', missed, [refusing], [missed, refusing]);
    // The write waits for the first fence only; the retries run in the background.
    expect(cluster.transport.post).toHaveBeenCalledTimes(1);
    await Promise.all(cluster.tracked);
    expect(missed.holdOutUntil).toHaveBeenCalledTimes(1);
    expect(cluster.transport.post).toHaveBeenCalledTimes(3);
    expect(cluster.fenceOnReturn.has(missed)).toBe(false);
    expect(cluster.counters.fencesSent).toBe(1);
  });
});

describe('fenceUntilAnswered', () => {
  it('sends no fence once close() has begun, though close ends the wait before the next try', async () => {
    // close() wakes the wait at once so the retry does not hold it up: a fence sent then to a node
    // that is not answering would hold it up for the client's whole `timeout` (close waits for
    // tracked work), and would go out after the caller asked the client to stop.
    let wake: (() => void) | undefined;
    const node = { url: 'http://a', up: false, health: { up: true } } as unknown as NodeClient;
    const cluster = {
      counters: new ReplicationCounters(),
      fenceOnReturn: new Set<NodeClient>([node]),
      isMember: () => true,
      transport: { post: vi.fn(() => Promise.reject(new Error('timed out'))) },
      probeInterval: 60_000,
      closing: false,
      waitUnlessClosing: () => new Promise<void>((resolve) => (wake = resolve)),
    };
    const fenced = fenceUntilAnswered(cluster as unknown as Cluster, node);
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(cluster.transport.post).toHaveBeenCalledTimes(1);
    // close() begins: `closing`, then every wait ended.
    cluster.closing = true;
    wake?.();
    await expect(fenced).resolves.toBe(false);
    expect(cluster.transport.post).toHaveBeenCalledTimes(1);
    expect(cluster.fenceOnReturn.has(node)).toBe(true);
  });
});
