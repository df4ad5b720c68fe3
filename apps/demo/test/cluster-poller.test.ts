import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DistributedCacheClient } from '@dcache/client';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterPoller } from '../src/dashboard/cluster-poller.js';
import { ringShare } from '../src/dashboard/ring-share.js';

/** A stand-in node whose /v1/stats answers whatever the test sets. */
async function fakeNode(stats: Record<string, unknown>): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(request.url === '/v1/stats' ? JSON.stringify(stats) : '{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe('ClusterPoller', () => {
  it('derives ops/s from counter deltas, restarts the rate after a node restart and marks a dead node down', async () => {
    const stats = {
      nodeId: 'node-a',
      hits: 30,
      misses: 10,
      sets: 50,
      deletes: 10,
      evictions: 2,
      items: 40,
      memoryUsed: 4096,
      maxMemory: 8192,
      uptime: 1,
    };
    const { server, url } = await fakeNode(stats);
    servers.push(server);
    let now = 10_000;
    const poller = new ClusterPoller({ urls: [url], now: () => now });

    let [node] = (await poller.poll()).nodes;
    expect(node).toMatchObject({
      nodeId: 'node-a',
      up: true,
      items: 40,
      hitRate: 0.75,
      opsPerSecond: 0,
    });

    now += 2000;
    Object.assign(stats, { hits: 330, misses: 110, sets: 250, deletes: 10 }); // +600 operations in 2 s
    [node] = (await poller.poll()).nodes;
    expect(node!.opsPerSecond).toBe(300);
    expect(node!.hitRate).toBe(0.75);

    now += 1000;
    Object.assign(stats, { hits: 1, misses: 0, sets: 1, deletes: 0 }); // restarted: counters from zero
    [node] = (await poller.poll()).nodes;
    expect(node!.opsPerSecond).toBe(0);

    now += 1000;
    Object.assign(stats, { hits: 101 });
    [node] = (await poller.poll()).nodes;
    expect(node!.opsPerSecond).toBe(100);

    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    servers.length = 0;
    [node] = (await poller.poll()).nodes;
    expect(node).toMatchObject({
      nodeId: 'node-a',
      up: false,
      error: 'connection refused',
      maxMemory: 8192,
      opsPerSecond: 0,
    });
  });

  it('asks again on a reset connection: a live node stays up, one that died mid-poll reads "connection refused"', async () => {
    let next: 'reset' | 'die' | 'answer' = 'reset';
    const server = createServer((request, response) => {
      // A SIGKILLed node's sockets end with a TCP reset; a dying one also stops listening.
      if (next !== 'answer') {
        if (next === 'die') server.close();
        next = 'answer';
        request.socket.resetAndDestroy();
        return;
      }
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ nodeId: 'node-r', hits: 0, misses: 0, sets: 0, deletes: 0 }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const poller = new ClusterPoller({ urls: [url] });

    expect((await poller.poll()).nodes[0]).toMatchObject({ nodeId: 'node-r', up: true });

    next = 'die';
    expect((await poller.poll()).nodes[0]).toMatchObject({
      up: false,
      error: 'connection refused',
    });
  });

  it('shows a node that never answered by its URL, down', async () => {
    const poller = new ClusterPoller({ urls: ['http://127.0.0.1:1'] });
    const [node] = (await poller.poll()).nodes;
    expect(node).toMatchObject({ nodeId: 'http://127.0.0.1:1', up: false });
  });
});

describe('ringShare', () => {
  const urls = ['http://127.0.0.1:8001', 'http://127.0.0.1:8002', 'http://127.0.0.1:8003'];

  it('splits the key space roughly evenly over three nodes, summing to 1', () => {
    const shares = ringShare(urls);
    expect([...shares.keys()]).toEqual(urls);
    const values = [...shares.values()];
    expect(values.reduce((sum, share) => sum + share, 0)).toBeCloseTo(1, 10);
    for (const share of values) expect(Math.abs(share - 1 / 3)).toBeLessThan(0.05);
  });

  it('measures the ring the client routes by: same owners as the client for the same node list', async () => {
    const client = new DistributedCacheClient(urls);
    try {
      const counts = new Map<string, number>(urls.map((url) => [url, 0]));
      for (let i = 0; i < 10_000; i++) {
        const primary = client.nodesFor(`sample-key-${i}`)[0]!;
        counts.set(primary, counts.get(primary)! + 1);
      }
      const shares = ringShare(urls);
      for (const url of urls) expect(shares.get(url)).toBe(counts.get(url)! / 10_000);
    } finally {
      await client.close();
    }
  });
});
