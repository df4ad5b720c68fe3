import { request } from 'node:http';
import { pack, unpack } from 'msgpackr';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createApp } from '../src/index.js';
import type { ServerOptions } from '../src/index.js';
import { manualClock, startNode } from './helpers.js';
import type { RunningNode } from './helpers.js';
import { EVENTUALLY } from './eventually.js';

/**
 * CacheServer answers well-formed `POST /v1/batch` requests on a fast path beside hono (and hands
 * the rest to the hono route). Each case here is sent to a live node and, through `app.request()`,
 * to the hono route alone, and the two answers must be the same: status, headers that matter, body.
 */

interface Answer {
  status: number;
  type: string | null;
  authenticate: string | null;
  started: boolean;
  body: unknown;
}

/** Stamps come from each node's wall clock (never the injected one): compared as present, not equal. */
function stampsMasked(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stampsMasked);
  return typeof value === 'number' && value >= 2 ** 40 ? 'stamp' : value;
}

async function answerOf(res: Response): Promise<Answer> {
  const type = res.headers.get('content-type');
  const bytes = new Uint8Array(await res.arrayBuffer());
  return {
    status: res.status,
    type,
    authenticate: res.headers.get('www-authenticate'),
    // The node's start: each node's own stamp, so compared as present or not.
    started: res.headers.has('dcache-start'),
    body:
      type === 'application/msgpack'
        ? stampsMasked(unpack(bytes))
        : JSON.parse(new TextDecoder().decode(bytes)),
  };
}

const bytes = (text: string) => new TextEncoder().encode(text);
const msgpack = { 'content-type': 'application/msgpack' };

interface Case {
  name: string;
  options?: ServerOptions;
  headers?: Record<string, string>;
  body: Uint8Array;
  status: number;
}

const cases: Case[] = [
  {
    name: 'a batch of every operation',
    body: pack([
      ['set', 'a', bytes('1'), 16, 5000, null],
      ['get', 'a'],
      ['get', 'missing'],
      ['set', 'a', bytes('2'), 0, null, 'add'],
      ['touch', 'a', 100],
      ['incr', 'n', 1],
      ['delete', 'a'],
      ['set', 'b', bytes('3'), 0, null, null],
      ['flush'],
      ['get', 'b'],
    ]),
    status: 200,
  },
  {
    name: 'bad operations, each failing alone',
    body: pack([['get', ''], ['nope', 'k'], 'x', ['set', 'k', 'not bin', 0, null, null]]),
    status: 200,
  },
  {
    name: 'a value over maxValueBytes',
    options: { maxValueBytes: 2 },
    body: pack([['set', 'k', bytes('abc'), 0, null, null]]),
    status: 200,
  },
  {
    name: 'gets whose values pass maxBatchBytes (per-op 413s)',
    options: { maxBatchBytes: 140 },
    body: pack([
      ['set', 'a', new Uint8Array(40), 0, null, null],
      ['set', 'b', new Uint8Array(40), 0, null, null],
      ['get', 'a'],
      ['get', 'b'],
      ['get', 'a'],
      ['get', 'b'],
    ]),
    status: 200,
  },
  { name: 'a body that is not msgpack', body: new Uint8Array([0x92, 0xc1]), status: 400 },
  { name: 'a body that is not an array', body: pack({ get: 'a' }), status: 400 },
  { name: 'an empty body', body: new Uint8Array(0), status: 400 },
  {
    name: 'too many operations',
    options: { maxBatchOps: 2 },
    body: pack([
      ['get', 'a'],
      ['get', 'b'],
      ['get', 'c'],
    ]),
    status: 413,
  },
  {
    name: 'an array 32 header declaring more than maxBatchOps',
    options: { maxBatchOps: 2 },
    body: new Uint8Array([0xdd, 0x00, 0x01, 0x00, 0x00, 0x90]),
    status: 413,
  },
  {
    name: 'a body over maxBatchBytes',
    options: { maxBatchBytes: 8 },
    body: pack([['get', 'abcdefgh']]),
    status: 413,
  },
  {
    name: 'another Content-Type',
    headers: { 'content-type': 'application/json' },
    body: bytes('[]'),
    status: 415,
  },
  {
    name: 'x-msgpack with a parameter',
    headers: { 'content-type': 'Application/X-Msgpack; v=1' },
    body: pack([['get', 'a']]),
    status: 200,
  },
  { name: 'no token', options: { token: 'secret' }, body: pack([['get', 'a']]), status: 401 },
  {
    name: 'a wrong token',
    options: { token: 'secret' },
    headers: { authorization: 'Bearer nope' },
    body: pack([['get', 'a']]),
    status: 401,
  },
  {
    name: 'the right token',
    options: { token: 'secret' },
    headers: { authorization: 'bearer secret' },
    body: pack([['get', 'a']]),
    status: 200,
  },
];

let node: RunningNode | undefined;
afterEach(async () => {
  await node?.close();
  node = undefined;
});

describe('POST /v1/batch on a live node answers as the hono route does', () => {
  it.each(cases)('$name → $status', async ({ options = {}, headers = {}, body, status }) => {
    const clock = manualClock();
    const full: ServerOptions = { ...options, now: clock.now, logLevel: 'silent' };
    node = await startNode(full);
    const init = { method: 'POST', headers: { ...msgpack, ...headers }, body };
    const live = await answerOf(await fetch(`${node.url}/v1/batch`, init));
    const routed = await answerOf(await createApp(full).request('/v1/batch', init));
    expect(live.status).toBe(status);
    expect(live).toEqual(routed);
    // And the node counted it as the route does.
    const auth: Record<string, string> =
      options.token === undefined ? {} : { authorization: `Bearer ${options.token}` };
    const stats = (await (await fetch(`${node.url}/v1/stats`, { headers: auth })).json()) as {
      requests: { batch: number };
      batchOperations: number;
      errors: Record<string, number>;
    };
    expect(stats.requests.batch).toBe(status === 401 ? 0 : 1);
    expect(stats.errors).toEqual(status === 200 ? {} : { [status]: 1 });
    expect(stats.batchOperations).toBe(status === 200 ? (unpack(body) as unknown[]).length : 0);
  });

  it('takes a chunked body (no Content-Length) through the route', async () => {
    node = await startNode();
    const res = await new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
      const req = request(`${node!.url}/v1/batch`, { method: 'POST', headers: msgpack });
      req.on('error', reject);
      req.on('response', (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => resolve({ status: r.statusCode!, body: Buffer.concat(chunks) }));
      });
      const body = pack([
        ['set', 'c', bytes('chunked'), 0, null, null],
        ['get', 'c'],
      ]);
      req.write(body.subarray(0, 5));
      req.end(body.subarray(5));
    });
    expect(res.status).toBe(200);
    const [set, get] = unpack(res.body) as unknown[][];
    expect(set![0]).toBe(204);
    expect([get![0], new TextDecoder().decode(get![1] as Uint8Array)]).toEqual([200, 'chunked']);
  });

  it('counts a client that leaves mid-body as the route does (a 400), and stays up', async () => {
    node = await startNode();
    const stats = async () =>
      (await (await fetch(`${node!.url}/v1/stats`)).json()) as {
        requests: { batch: number };
        errors: Record<string, number>;
        activeRequests: number;
      };
    const req = request(`${node.url}/v1/batch`, {
      method: 'POST',
      headers: { ...msgpack, 'content-length': '100' },
    });
    req.on('error', () => undefined); // we hang up on purpose
    req.write(new Uint8Array(10));
    req.flushHeaders();
    await vi.waitFor(() => expect(node!.server.activeRequests).toBe(1), EVENTUALLY);
    const busy = (await stats()).activeRequests; // the half-sent batch, and the stats request if it counts
    req.destroy();
    await vi.waitFor(async () => expect((await stats()).errors).toEqual({ 400: 1 }), EVENTUALLY);
    const after = await stats();
    expect(after.requests.batch).toBe(1);
    expect(after.activeRequests).toBe(busy - 1);
    const res = await fetch(`${node.url}/v1/batch`, {
      method: 'POST',
      headers: msgpack,
      body: pack([['get', 'a']]),
    });
    expect(unpack(new Uint8Array(await res.arrayBuffer()))).toEqual([
      [404, null, expect.any(Number)],
    ]);
  });

  it('stores values that own their bytes across many batches on one connection', async () => {
    node = await startNode();
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${node.url}/v1/batch`, {
        method: 'POST',
        headers: msgpack,
        body: pack([['set', `k${i}`, bytes(`value ${i}`), 0, null, null]]),
      });
      expect(res.status).toBe(200);
    }
    const res = await fetch(`${node.url}/v1/batch`, {
      method: 'POST',
      headers: msgpack,
      body: pack(Array.from({ length: 20 }, (_, i) => ['get', `k${i}`])),
    });
    const results = unpack(new Uint8Array(await res.arrayBuffer())) as unknown[][];
    expect(results.map((r) => new TextDecoder().decode(r[1] as Uint8Array))).toEqual(
      Array.from({ length: 20 }, (_, i) => `value ${i}`),
    );
  });
});
