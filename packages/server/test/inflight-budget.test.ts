import { request } from 'node:http';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { pack } from 'msgpackr';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createApp } from '../src/index.js';
import type { RunningNode } from './helpers.js';
import { errorOf, startNode } from './helpers.js';
import { EVENTUALLY } from './eventually.js';

const MiB = 1024 * 1024;
/** One body the size of the whole budget fills it. */
const LIMITS = { maxValueBytes: '1mb', maxBatchBytes: '1mb', maxInflightBodyBytes: '1mb' };

const nodes: RunningNode[] = [];
const requests: ClientRequest[] = [];
afterEach(async () => {
  for (const req of requests.splice(0)) req.destroy();
  await Promise.all(nodes.splice(0).map((node) => node.close()));
});

async function start(): Promise<RunningNode> {
  const node = await startNode(LIMITS);
  nodes.push(node);
  return node;
}

/** A PUT (or batch) whose headers are sent and whose body is not finished. */
function open(node: RunningNode, path: string, headers: Record<string, string | number>) {
  const req = request({
    host: node.address.host,
    port: node.address.port,
    path,
    method: path === '/v1/batch' ? 'POST' : 'PUT',
    headers: { 'content-type': 'application/octet-stream', ...headers },
  });
  req.on('error', () => undefined); // the node may close it
  requests.push(req);
  const answered = new Promise<IncomingMessage>((resolve) => req.once('response', resolve));
  return { req, answered };
}

/** Holds the node's whole budget but a byte: a 1 MiB body of which all but one byte arrived. */
async function holdBudget(node: RunningNode, path = '/v1/keys/held') {
  const held = open(node, path, {
    'content-length': MiB,
    ...(path === '/v1/batch' ? { 'content-type': 'application/msgpack' } : {}),
  });
  held.req.write(Buffer.alloc(MiB - 1));
  await vi.waitFor(async () => expect((await putSmall(node)).status).toBe(503), EVENTUALLY);
  return held;
}

function putSmall(node: RunningNode, key = 'small'): Promise<Response> {
  return fetch(`${node.url}/v1/keys/${key}`, { method: 'PUT', body: 'x'.repeat(100) });
}

/** A full-budget PUT succeeds only once every reservation has been released. */
async function expectBudgetFree(node: RunningNode): Promise<void> {
  await vi.waitFor(async () => {
    const res = await fetch(`${node.url}/v1/keys/full`, {
      method: 'PUT',
      body: new Uint8Array(MiB),
    });
    expect(res.status).toBe(204);
  }, EVENTUALLY);
}

describe('maxInflightBodyBytes', () => {
  it('refuses a body that would pass the budget with 503 overloaded and Retry-After, on both doors', async () => {
    const node = await start();
    const held = await holdBudget(node);
    const refused = await putSmall(node);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    const error = await errorOf(refused);
    expect(error.code).toBe('overloaded');
    expect(error.message).toContain('maxInflightBodyBytes');
    // A well-formed batch (the fast path's kind) is refused the same way.
    const batch = await fetch(`${node.url}/v1/batch`, {
      method: 'POST',
      body: pack([['get', 'k']]),
      headers: { 'content-type': 'application/msgpack' },
    });
    expect(batch.status).toBe(503);
    expect((await errorOf(batch)).code).toBe('overloaded');
    // Bodiless requests are not held back.
    expect((await fetch(`${node.url}/v1/keys/held`)).status).toBe(404);
    // The holder finishes: its bytes are stored and the budget is free again.
    held.req.end(Buffer.alloc(1));
    expect((await held.answered).statusCode).toBe(204);
    expect((await putSmall(node)).status).toBe(204);
    await expectBudgetFree(node);
  });

  it('releases a body abandoned by its client mid-way', async () => {
    const node = await start();
    const held = await holdBudget(node);
    expect((await putSmall(node)).status).toBe(503);
    held.req.destroy();
    await expectBudgetFree(node);
  });

  it('releases a batch abandoned mid-way on the fast path', async () => {
    const node = await start();
    const held = await holdBudget(node, '/v1/batch');
    held.req.destroy();
    await expectBudgetFree(node);
  });

  it('counts what a body sent, not what it declared: a stalled 1 MiB body with one byte holds one byte', async () => {
    const node = await start();
    const stalled = open(node, '/v1/keys/stalled', { 'content-length': MiB });
    stalled.req.write(Buffer.alloc(1));
    await vi.waitFor(() => expect(node.server.activeRequests).toBe(1), EVENTUALLY);
    expect((await putSmall(node)).status).toBe(204);
  });

  it('refuses a chunked body mid-stream once the budget is spent, then releases it', async () => {
    const node = await start();
    const half = open(node, '/v1/keys/half', { 'content-length': MiB });
    half.req.write(Buffer.alloc(MiB / 2));
    const chunked = open(node, '/v1/keys/chunked', {});
    chunked.req.write(Buffer.alloc(MiB / 4));
    await vi.waitFor(async () => expect((await putSmall(node)).status).toBe(204), EVENTUALLY);
    chunked.req.write(Buffer.alloc(MiB / 2)); // passes the budget
    const answer = await chunked.answered;
    expect(answer.statusCode).toBe(503);
    expect(answer.headers['retry-after']).toBe('1');
    half.req.destroy();
    await expectBudgetFree(node);
  });

  it('releases a chunked body refused for its own size (413)', async () => {
    const node = await start();
    const big = open(node, '/v1/keys/big', {});
    big.req.write(Buffer.alloc(MiB / 2));
    big.req.write(Buffer.alloc(MiB / 2 + 1));
    expect((await big.answered).statusCode).toBe(413);
    await expectBudgetFree(node);
  });

  it('releases a web-stream body that fails mid-way (fetch runtimes, app.request)', async () => {
    const app = createApp({ ...LIMITS, logLevel: 'silent' });
    const failing = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(MiB / 2));
        controller.error(new Error('network down'));
      },
    });
    const failed = await app.request('/v1/keys/k', {
      method: 'PUT',
      body: failing,
      duplex: 'half',
    } as RequestInit);
    expect((await errorOf(failed)).code).toBe('bad_request');
    const full = await app.request('/v1/keys/k', { method: 'PUT', body: new Uint8Array(MiB) });
    expect(full.status).toBe(204);
  });

  it('counts answers a client does not read: while they fill the budget, requests get 503 and do nothing; cut at the request timeout', async () => {
    const node = await startNode({
      maxValueBytes: '8mb',
      maxBatchBytes: '8mb',
      maxInflightBodyBytes: '8mb',
      headersTimeout: 500,
      requestTimeout: 1500,
    });
    nodes.push(node);
    const big = new Uint8Array(8 * MiB - 1024);
    expect((await fetch(`${node.url}/v1/keys/big`, { method: 'PUT', body: big })).status).toBe(204);
    const readers: Socket[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const socket = connect(node.address.port, node.address.host);
        socket.on('error', () => undefined);
        socket.pause(); // never reads
        socket.write('GET /v1/keys/big HTTP/1.1\r\nHost: localhost\r\n\r\n'.repeat(2));
        readers.push(socket);
      }
      await vi.waitFor(async () => {
        const res = await fetch(`${node.url}/v1/keys/big`);
        expect(res.status).toBe(503);
        expect((await errorOf(res)).code).toBe('overloaded');
      }, EVENTUALLY);
      expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
      const batch = await fetch(`${node.url}/v1/batch`, {
        method: 'POST',
        body: pack([['set', 'written', new Uint8Array([1])]]),
        headers: { 'content-type': 'application/msgpack' },
      });
      expect(batch.status).toBe(503);
      const put = await fetch(`${node.url}/v1/keys/written`, { method: 'PUT', body: 'x' });
      expect(put.status).toBe(503);
      // The readers' connections are cut at the request timeout, their answers released.
      await vi.waitFor(
        async () => expect((await fetch(`${node.url}/v1/keys/written`)).status).toBe(404),
        { timeout: 5000, interval: 100 },
      );
    } finally {
      for (const socket of readers) socket.destroy();
    }
  });
});
