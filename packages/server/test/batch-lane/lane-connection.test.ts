import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import type { Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { LaneConnection } from '../../src/http/batch-lane/lane-connection.js';
import type { LaneHost } from '../../src/http/batch-lane/lane-connection.js';
import { batchRequest } from './raw-http.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A connected socket pair on loopback: the lane's end and the client's. */
async function socketPair(): Promise<{ lane: Socket; client: Socket }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect(port, '127.0.0.1');
  const [lane] = await accepted;
  cleanups.push(() => {
    client.destroy();
    lane.destroy();
    server.close();
  });
  return { lane, client };
}

it('an error thrown while answering is logged and ends only its connection', async () => {
  const { lane, client } = await socketPair();
  const failures: unknown[] = [];
  const host: LaneHost = {
    maxHeadBytes: 16 * 1024,
    maxBatchBytes: 1024 * 1024,
    headersTimeout: 10_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 5_000,
    closing: false,
    takes: () => true,
    tracing: () => false,
    admit: () => undefined,
    begin: () => 0,
    answer: () => {
      throw new Error('a bug');
    },
    refuse: () => ({ status: 503, fields: '', body: '' }),
    abandon: () => undefined,
    failed: (error) => failures.push(error),
    hold: () => () => undefined,
    reserve: () => undefined,
    release: () => undefined,
    headTimedOut: (socket) => socket.destroy(),
    handOff: (socket) => socket.destroy(),
    forget: () => undefined,
  };
  new LaneConnection(lane, host);
  const closed = once(client, 'close');
  client.write(batchRequest('127.0.0.1', [['get', 'a']]));
  await closed;
  expect(failures).toHaveLength(1);
  expect((failures[0] as Error).message).toBe('a bug');
});
