import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { pack } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { Transport } from './transport.js';

/**
 * `Transport.reconnect()` against a local HTTP server that counts its connections: what was in
 * flight finishes on its old connection, every later request (batch or not) opens a new one, and
 * `close()` waits for the retired connections too.
 */

interface CountingServer {
  url: string;
  /** Sockets accepted, in order; `destroyed` tells which have closed. */
  sockets: Socket[];
  /** Answers the held first batch. */
  release(): void;
  /** Resolves once the held first batch has arrived. */
  held: Promise<void>;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

/** `hold`: the first batch is answered only once `release()` is called. */
async function countingServer({ hold }: { hold: boolean }): Promise<CountingServer> {
  const sockets: Socket[] = [];
  let release = (): void => undefined;
  let arrived = (): void => undefined;
  const held = new Promise<void>((resolve) => (arrived = resolve));
  let batches = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/healthz') {
        res.end('{}');
        return;
      }
      const answer = (): void => {
        res.writeHead(200, { 'content-type': 'application/msgpack' });
        res.end(pack([[404, null, 0]]));
      };
      if (hold && batches++ === 0) {
        release = answer;
        arrived();
      } else {
        answer();
      }
    });
  });
  server.on('connection', (socket: Socket) => sockets.push(socket));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    sockets,
    release: () => release(),
    held,
  };
}

describe('Transport.reconnect', () => {
  it('gives up kept-alive connections: the next batch and the next request through ky open new ones', async () => {
    const node = await countingServer({ hold: false });
    const transport = new Transport({ timeout: 5000, token: undefined, tls: undefined });
    try {
      expect(await transport.batch(node.url, [['get', 'a']])).toEqual([[404, null, 0]]);
      expect(await transport.healthy(node.url)).toBe(true);
      // Kept alive and reused, until the swap.
      expect(await transport.batch(node.url, [['get', 'a']])).toEqual([[404, null, 0]]);
      expect(node.sockets).toHaveLength(2);

      transport.reconnect();
      expect(await transport.batch(node.url, [['get', 'b']])).toEqual([[404, null, 0]]);
      expect(node.sockets).toHaveLength(3);
      expect(await transport.healthy(node.url)).toBe(true);
      expect(node.sockets).toHaveLength(4);
    } finally {
      await transport.close();
    }
  });

  it('lets what is in flight finish on its old connection, and close() waits for it', async () => {
    const node = await countingServer({ hold: true });
    const transport = new Transport({ timeout: 5000, token: undefined, tls: undefined });
    try {
      const inFlight = transport.batch(node.url, [['get', 'a']]);
      await node.held;
      transport.reconnect();
      expect(await transport.batch(node.url, [['get', 'b']])).toEqual([[404, null, 0]]);
      node.release();
      expect(await inFlight).toEqual([[404, null, 0]]);
    } finally {
      await transport.close();
    }
    // close() waited for the retired agent too: every connection is closed from our side.
    for (const socket of node.sockets) {
      await new Promise<void>((resolve) =>
        socket.destroyed ? resolve() : socket.once('close', () => resolve()),
      );
    }
    expect(node.sockets.every((socket) => socket.destroyed)).toBe(true);
  });
});

describe('a refusal with Retry-After', () => {
  it('carries its seconds in the NodeRequestError, from a batch and from a request through ky', async () => {
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      req.on('end', () => {
        const seconds = req.url === '/v1/batch' ? '7' : req.url === '/v1/fence' ? '12' : 'soon';
        res.writeHead(req.url === '/v1/batch' ? 503 : 409, {
          'content-type': 'application/json',
          'retry-after': seconds,
        });
        res.end('{"error":{"code":"overloaded","message":"retry shortly"}}');
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const transport = new Transport({ timeout: 5000, token: undefined, tls: undefined });
    try {
      const refusal = (promise: Promise<unknown>) =>
        promise.then(
          () => undefined,
          (error: unknown) => error as { status?: number; code?: string; retryAfter?: number },
        );
      const batch = await refusal(transport.batch(url, [['get', 'a']]));
      expect(batch).toMatchObject({ status: 503, code: 'overloaded', retryAfter: 7 });
      const post = await refusal(transport.post(url, '/v1/fence'));
      expect(post).toMatchObject({ status: 409, retryAfter: 12 });
      // An HTTP date or anything else but whole seconds reads as absent.
      const other = await refusal(transport.post(url, '/v1/restore-claim'));
      expect(other).toMatchObject({ status: 409, retryAfter: undefined });
    } finally {
      await transport.close();
    }
  });
});
