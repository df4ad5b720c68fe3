import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { pack, unpack } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../src/index.js';
import { listenOnLoopback, waitFor } from './cluster.js';

/**
 * A node's start (`Dcache-Start` on every batch answer) seen to change makes the client restore
 * the node, which claims it first (`POST /v1/restore-claim`). Stand-in nodes here answer every get
 * with a miss, name whatever start the test sets, and count the claims (refused, so nothing more).
 */
interface FakeNode {
  url: string;
  start: string;
  claims: number;
  /**
   * What a restore claim is answered: 409 (claimed by another client) unless a test sets it, or
   * a function of the claim's number (1 for the first); 204 grants a 30 s lease.
   */
  claimStatus: number | ((claim: number) => number);
  /** The path of every claim request, renewals and ends included. */
  claimPaths: string[];
  server: Server;
}

const nodes: FakeNode[] = [];
const clients: DistributedCacheClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  for (const node of nodes.splice(0)) node.server.close();
});

async function fakeNode(start: string): Promise<FakeNode> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.url === '/v1/batch') {
        const ops = unpack(Buffer.concat(chunks)) as unknown[];
        response.writeHead(200, {
          'content-type': 'application/msgpack',
          'dcache-start': node.start,
        });
        response.end(pack(ops.map(() => [404, null, 0])));
      } else if (request.url?.startsWith('/v1/restore-claim') === true) {
        node.claims++;
        node.claimPaths.push(request.url);
        const status =
          typeof node.claimStatus === 'number' ? node.claimStatus : node.claimStatus(node.claims);
        if (status === 204) {
          response.writeHead(204, { 'dcache-claim-lease': '30000' });
          response.end();
          return;
        }
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end('{"error":{"code":"claim_refused","message":"refused"}}');
      } else if (request.url?.startsWith('/v1/keys?') === true) {
        // A restore's listing: nothing held (a listing that fails is retried, and the restore
        // released rather than done).
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('{"keys":[]}');
      } else {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('{}');
      }
    });
  });
  const node: FakeNode = { url: '', start, claims: 0, claimStatus: 409, claimPaths: [], server };
  node.url = await listenOnLoopback(server);
  nodes.push(node);
  return node;
}

/** A get that reaches both nodes: the first misses, so the second is asked too. */
async function touchBoth(client: DistributedCacheClient): Promise<void> {
  expect(await client.get('k')).toBeUndefined();
}

/** Node `a` restarted, as a client of `a` and `b` sees it; `a` answers restore claims `status`. */
async function restartSeen(
  claimStatus: FakeNode['claimStatus'],
): Promise<{ a: FakeNode; client: DistributedCacheClient }> {
  const a = await fakeNode('1000');
  const b = await fakeNode('2000');
  a.claimStatus = claimStatus;
  const client = new DistributedCacheClient([a.url, b.url], { replicas: 2 });
  clients.push(client);
  await touchBoth(client);
  a.start = '1001';
  await touchBoth(client);
  return { a, client };
}

describe('a node start seen in batch answers', () => {
  it('claims a restore once per start never seen before, not on each flip between two processes', async () => {
    const a = await fakeNode('1000');
    const b = await fakeNode('2000');
    const client = new DistributedCacheClient([a.url, b.url], { replicas: 2 });
    clients.push(client);
    await touchBoth(client);
    await touchBoth(client);
    expect(a.claims + b.claims).toBe(0);

    a.start = '1001';
    await touchBoth(client);
    await waitFor(() => a.claims === 1, 'the restarted node to be claimed');
    // An old and a new process behind one URL, answering in turn: one restart, not one per answer.
    for (const start of ['1000', '1001', '1000', '1001']) {
      a.start = start;
      await touchBoth(client);
    }
    a.start = '1002';
    await touchBoth(client);
    await waitFor(() => a.claims === 2, 'the second restart to be claimed');
    expect(b.claims).toBe(0);
  });

  it('claims nothing with one copy per key, nor once the client closes', async () => {
    const a = await fakeNode('1000');
    const b = await fakeNode('2000');
    const single = new DistributedCacheClient([a.url, b.url], { replicas: 1 });
    clients.push(single);
    for (const start of ['1000', '1001', '1002']) {
      a.start = start;
      b.start = `2${start}`;
      await Promise.all(['k1', 'k2', 'k3', 'k4'].map((key) => single.get(key)));
    }
    const closing = new DistributedCacheClient([a.url, b.url], { replicas: 2 });
    await touchBoth(closing);
    a.start = '1003';
    const last = closing.get('k');
    await closing.close();
    await last;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(a.claims + b.claims).toBe(0);
  });

  it('asks again after a claim failed for a passing reason, but no longer once the client closes', async () => {
    const { a, client } = await restartSeen(503);
    // The first claim and the retries after 250 ms and 1 s; the next waits 4 s.
    await waitFor(() => a.claims === 3, 'the claim to be asked three times', { timeoutMs: 5000 });
    const closing = performance.now();
    await client.close();
    const closeMs = performance.now() - closing;
    expect(closeMs, 'close() waited for the next try').toBeLessThan(2000);
    expect(a.claims).toBe(3);
  });

  it('watches a claim whose every try went unanswered, and restores once the node grants it', async () => {
    // Four 503s: the first try and its three retries (0.25, 1 and 4 s), then one round of the watch.
    const { a, client } = await restartSeen((claim) => (claim <= 4 ? 503 : 204));
    await waitFor(() => a.claimPaths.some((path) => path.endsWith('&end=done')), 'the restore', {
      timeoutMs: 20_000,
      intervalMs: 50,
    });
    const claims = a.claimPaths.filter((path) => !path.includes('&'));
    expect(claims).toHaveLength(5);
    expect(new Set(claims).size).toBe(1);
    expect(client.getReplicationStats().restoresRun).toBe(1);
  });

  it('does not ask again after a refusal that is not passing (a 4xx other than 409)', async () => {
    const { a } = await restartSeen(404);
    await waitFor(() => a.claims === 1, 'the restarted node to be claimed');
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(a.claims).toBe(1);
  });
});
