import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import type { Socket } from 'node:net';
import { afterEach, expect, it, vi } from 'vitest';
import {
  LaneConnection,
  LINGER_IDLE_MS,
  LINGER_MAX_MS,
} from '../../src/http/batch-lane/lane-connection.js';
import type { LaneHost } from '../../src/http/batch-lane/lane-connection.js';
import { batchRequest, parseAnswers } from './raw-http.js';
import { adoptWithSharedReadBuffer } from '../../src/sockets/shared-buffer-reads.js';
import { HEAD_ROOM } from '../../src/http/codec/msgpack-writer.js';
import type { FinishedResponse } from '../../src/http/codec/msgpack-writer.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/**
 * A connected socket pair on loopback: the lane's end and the client's. `allowHalfOpen`: the lane's
 * end of the connection does not end the client's (a client that may go on writing).
 */
async function socketPair(allowHalfOpen = false): Promise<{ lane: Socket; client: Socket }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect({ port, host: '127.0.0.1', allowHalfOpen });
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
  const host = answeringHost(new Uint8Array(0), {
    answer: () => {
      throw new Error('a bug');
    },
    failed: (error) => failures.push(error),
  });
  new LaneConnection(lane, host);
  const closed = once(client, 'close');
  client.write(batchRequest('127.0.0.1', [['get', 'a']]));
  await closed;
  expect(failures).toHaveLength(1);
  expect((failures[0] as Error).message).toBe('a bug');
});

/** `bytes` as the batch's writer leaves results: in a buffer of their own, with room for a head. */
function finished(bytes: Uint8Array): FinishedResponse {
  const chunk = Buffer.alloc(HEAD_ROOM + bytes.length);
  chunk.set(bytes, HEAD_ROOM);
  return chunk.subarray(HEAD_ROOM) as FinishedResponse;
}

/** A host that answers every batch with `body` (200) and takes everything. */
function answeringHost(body: Uint8Array, overrides: Partial<LaneHost> = {}): LaneHost {
  return {
    maxHeadBytes: 16 * 1024,
    maxBatchBytes: 1024 * 1024,
    headersTimeout: 10_000,
    requestTimeout: 300_000,
    keepAliveTimeout: 5_000,
    closing: false,
    takes: () => true,
    tracing: () => false,
    admit: () => undefined,
    begin: () => 0,
    answer: () => ({
      status: 200,
      fields: 'content-type: application/msgpack\r\n',
      body: finished(body),
    }),
    refuse: () => ({ status: 503, fields: '', body: '' }),
    abandon: () => undefined,
    failed: (error) => {
      throw error;
    },
    hold: () => () => undefined,
    reserve: () => undefined,
    release: () => undefined,
    timedOut: (socket) => socket.destroy(),
    handOff: (socket) => socket.destroy(),
    forget: () => undefined,
    ...overrides,
  };
}

const closingBatch = () => batchRequest('127.0.0.1', [['get', 'a']], ['Connection: close']);

it('a closing answer a client reads slowly is not cut by the linger: its time starts once the answer is out', async () => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  const { lane, client } = await socketPair();
  const body = new Uint8Array(16 * 1024 * 1024).fill(0x61);
  new LaneConnection(lane, answeringHost(body));
  client.pause(); // reads nothing for now: the answer stays in the lane's socket
  client.write(closingBatch());
  await vi.waitFor(() => expect(lane.writableLength).toBeGreaterThan(0), { interval: 5 });
  vi.advanceTimersByTime(LINGER_MAX_MS + 1_000);
  expect(lane.destroyed).toBe(false);
  const received: Buffer[] = [];
  client.on('data', (chunk: Buffer) => received.push(chunk));
  client.resume();
  await once(client, 'end');
  const [answer] = parseAnswers(Buffer.concat(received));
  expect(answer!.body.length).toBe(body.length);
});

it('a lingering connection is idle once its answer is out, also when its body ended in a chunk with more bytes', async () => {
  const { lane, client } = await socketPair(true);
  let reserved = 0;
  const connection = new LaneConnection(
    lane,
    answeringHost(new Uint8Array(10), { reserve: (bytes) => void (reserved += bytes) }),
  );
  client.resume(); // reads (and drops) its answer
  const request = closingBatch();
  // The head and part of the body, then the rest of the body with the start of another request.
  client.write(request.subarray(0, request.length - 2));
  await vi.waitFor(() => expect(reserved).toBeGreaterThan(0), { interval: 5 });
  client.write(Buffer.concat([request.subarray(request.length - 2), Buffer.from('GET / HT')]));
  await once(client, 'end');
  await vi.waitFor(() => expect(lane.writableLength).toBe(0), { interval: 5 });
  expect(connection.idle).toBe(true);
});

it('a first answer that closes its connection lingers for LINGER_IDLE_MS, not for the keep-alive timeout', async () => {
  const { lane, client } = await socketPair(true);
  new LaneConnection(lane, answeringHost(new Uint8Array(10), { keepAliveTimeout: 60_000 }));
  client.resume();
  client.write(closingBatch());
  await once(client, 'end'); // the answer is out and the lane's side ended; the client stays
  const started = performance.now();
  await once(lane, 'close');
  // Closed by the linger's idle timeout (2 s), well before the keep-alive one (60 s).
  expect(performance.now() - started).toBeLessThan(LINGER_IDLE_MS + 10_000);
});

it('while the node shuts down a closing answer lingers LINGER_IDLE_MS at most, else LINGER_MAX_MS', async () => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  for (const closing of [false, true]) {
    const { lane, client } = await socketPair(true);
    new LaneConnection(lane, answeringHost(new Uint8Array(10), { closing }));
    client.resume();
    client.write(closingBatch());
    await once(client, 'end');
    vi.advanceTimersByTime(LINGER_IDLE_MS + 100);
    expect(lane.destroyed).toBe(closing);
    vi.advanceTimersByTime(LINGER_MAX_MS);
    expect(lane.destroyed).toBe(true);
  }
});

it('a connection read through a shared buffer and handed off passes the bytes that still come its way on as socket data', async () => {
  const server = createServer({ pauseOnConnect: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const received: Buffer[] = [];
  const handedOff = new Promise<void>((resolve) => {
    server.on('connection', (accepted: Socket) => {
      const host = answeringHost(new Uint8Array(0), {
        // Like Node's server when its parser does not read the socket itself (an upgrade): the
        // unread bytes first, then whatever the socket reads.
        handOff: (socket, unread) => {
          socket.unshift(unread);
          socket.on('data', (data: Buffer) => received.push(data));
          resolve();
        },
      });
      const adopted = adoptWithSharedReadBuffer(
        accepted,
        Buffer.alloc(1024),
        (chunk) => connection.receive(chunk),
        { keepServerCount: true },
      );
      const connection = new LaneConnection(adopted!, host, true);
      cleanups.push(() => adopted!.destroy());
    });
  });
  const client = connect({ port, host: '127.0.0.1' });
  cleanups.push(() => {
    client.destroy();
    server.close();
  });
  client.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
  await handedOff;
  client.write('after the hand-off');
  await vi.waitFor(() =>
    expect(Buffer.concat(received).toString()).toBe(
      'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\nafter the hand-off',
    ),
  );
  expect(client.destroyed).toBe(false);
});

it('an answer leaves in one write: results, and a refusal (a string body) too', async () => {
  const { lane, client } = await socketPair();
  // What the socket hands its handle: one call per write of one buffer or of several (a writev).
  let writes = 0;
  const write = lane._write.bind(lane);
  const writev = lane._writev!.bind(lane);
  lane._write = (...args) => void (writes++, write(...args));
  lane._writev = (...args) => void (writes++, writev(...args));
  let refusing = false;
  new LaneConnection(
    lane,
    answeringHost(new Uint8Array(10), {
      admit: () =>
        refusing
          ? { status: 503, fields: 'content-type: application/json\r\n', body: '{"error":{}}' }
          : undefined,
    }),
  );
  const received: Buffer[] = [];
  client.on('data', (chunk: Buffer) => received.push(chunk));
  const answered = async (count: number) =>
    vi.waitFor(() => expect(parseAnswers(Buffer.concat(received))).toHaveLength(count), {
      interval: 5,
    });
  client.write(batchRequest('127.0.0.1', [['get', 'a']]));
  await answered(1);
  expect(writes).toBe(1);
  refusing = true;
  client.write(batchRequest('127.0.0.1', [['get', 'a']]));
  await answered(2);
  expect(writes).toBe(2);
  expect(parseAnswers(Buffer.concat(received)).map((answer) => answer.status)).toEqual([200, 503]);
});
