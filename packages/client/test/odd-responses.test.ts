import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { pack } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { DistributedCacheClient, isCacheUnavailableError } from '../src/index.js';
import { listenOnLoopback } from './cluster.js';

const servers: Server[] = [];
const sockets = new Set<Socket>();
afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

/** An HTTP/1.1 "node" (a broken proxy, say) that answers every request with `head`. */
async function answering(head: string): Promise<string> {
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.on('data', () => socket.write(`${head}\r\ncontent-length: 0\r\n\r\n`));
  });
  servers.push(server);
  return listenOnLoopback(server);
}

describe('answers no real node gives', () => {
  it.each(['HTTP/1.1 999 Odd', 'HTTP/1.1 600 Odd'])(
    '"%s" rejects the call at once instead of leaving it pending',
    async (head) => {
      const url = await answering(head);
      const client = new DistributedCacheClient([url], { timeout: 10_000, probeInterval: 60_000 });
      try {
        const started = Date.now();
        const error: unknown = await client.get('k').catch((e: unknown) => e);
        expect(isCacheUnavailableError(error)).toBe(true);
        // Not rescued by the 10 s timeout: the odd status itself failed the request.
        expect(Date.now() - started).toBeLessThan(5_000);
      } finally {
        await client.close();
      }
    },
  );

  it('a get result that is not [200, bytes, flags, version, ttl] fails the read as unavailable', async () => {
    // A well-formed HTTP answer and batch envelope whose get result has a string for the bytes.
    const malformed = pack([[200, 'not bytes', 0, 1, null]]);
    const server = createHttpServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/msgpack' });
        res.end(malformed);
      });
    });
    servers.push(server);
    const url = await listenOnLoopback(server);
    const client = new DistributedCacheClient([url], { timeout: 10_000, probeInterval: 60_000 });
    try {
      const error: unknown = await client.get('k').catch((e: unknown) => e);
      expect(isCacheUnavailableError(error)).toBe(true);
      expect((error as Error).message).toMatch(/malformed get result for key "k"/);
    } finally {
      await client.close();
    }
  });
});
