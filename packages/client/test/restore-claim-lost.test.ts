// A restore claim whose answer is lost: the node recorded it, the client never learnt so. Before,
// the client gave up on that node start and every other client got 409, so the restarted node got
// back only the keys reads repaired (those it is the primary of). Now the client asks again under
// the same claimant, which the node answers 204 again. Real CLI nodes; between the client and one
// of them a proxy that drops the connection of the first claim once the node has answered it.
import { createServer, request } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../src/index.js';
import { startCliNode, stopCliNodes } from './cli-nodes.js';
import type { CliNode } from './cli-nodes.js';
import { listenOnLoopback, waitFor } from './cluster.js';

interface LossyProxy {
  url: string;
  /** The node behind it; a restarted node listens on a new port. */
  target: CliNode;
  /** Drop the connection of the next restore claim after the node answered it. */
  loseNextClaim: boolean;
  /** What the node answered each restore claim that went through, in order. */
  claimStatuses: number[];
  server: Server;
}

const proxies: LossyProxy[] = [];
const clients: DistributedCacheClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  const closing = proxies.splice(0);
  for (const proxy of closing) proxy.server.closeAllConnections();
  await Promise.all(closing.map((proxy) => new Promise((resolve) => proxy.server.close(resolve))));
  await stopCliNodes();
});

/** Forwards every request to its target on a connection of its own (a restarted one has none). */
async function lossyProxy(target: CliNode): Promise<LossyProxy> {
  const forward = (incoming: IncomingMessage, answer: ServerResponse): void => {
    const isClaim = incoming.url?.startsWith('/v1/restore-claim') === true;
    const lose = isClaim && proxy.loseNextClaim;
    if (lose) proxy.loseNextClaim = false;
    const upstream = request(
      {
        host: proxy.target.host,
        port: proxy.target.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          if (isClaim) proxy.claimStatuses.push(response.statusCode ?? 0);
          if (lose) {
            incoming.socket.destroy();
            return;
          }
          answer.writeHead(response.statusCode ?? 502, response.headers);
          answer.end(Buffer.concat(chunks));
        });
      },
    );
    upstream.on('error', () => incoming.socket.destroy());
    incoming.pipe(upstream);
  };
  const server = createServer(forward);
  const proxy: LossyProxy = { url: '', target, loseNextClaim: false, claimStatuses: [], server };
  proxy.url = await listenOnLoopback(server);
  proxies.push(proxy);
  return proxy;
}

/**
 * This shared machine can stall a node past the default `--stall-threshold` under load; a node
 * that stalls fences itself, and a restore copies no unverified entry. Fences are tested elsewhere.
 */
const NODE_FLAGS = ['--stall-threshold', '10000'];
const KEYS = 200;
const keys = Array.from({ length: KEYS }, (_, i) => `claim-${i}`);

describe('a restore claim whose answer is lost', () => {
  it('is asked again under the same claimant, and the restarted node gets all its keys back', async () => {
    let restarted = await startCliNode('127.0.0.1', 0, NODE_FLAGS);
    const other = await startCliNode('127.0.0.1', 0, NODE_FLAGS);
    const proxy = await lossyProxy(restarted);
    const client = new DistributedCacheClient([proxy.url, other.url], { replicas: 2 });
    clients.push(client);
    await client.setMany(keys.map((key) => [key, `v-${key}`] as const));
    expect(await restarted.items()).toBe(KEYS);

    await restarted.stop();
    restarted = await startCliNode('127.0.0.1', 0, NODE_FLAGS);
    proxy.target = restarted;
    proxy.loseNextClaim = true;
    // The batches that reach the restarted node carry its new start; the client claims its restore.
    const read = await client.getMany(keys);
    expect(read.size).toBe(KEYS);

    await waitFor(
      async () => (await restarted.items()) === KEYS,
      'the restarted node to hold every key again',
      { timeoutMs: 15_000, intervalMs: 50 },
    );
    // The first claim was recorded and its answer lost; the second, same claimant, was granted.
    expect(proxy.claimStatuses).toEqual([204, 204]);
    expect(client.getReplicationStats().restoresRun).toBe(1);
  });
});
