import { request } from 'node:http';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunningNode } from './helpers.js';
import { startNode } from './helpers.js';

const LIMIT = 64 * 1024;

function open(
  node: RunningNode,
  path: string,
  headers: Record<string, string | number> = {},
): ClientRequest {
  return request({
    host: node.address.host,
    port: node.address.port,
    path,
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', ...headers },
  });
}

function response(req: ClientRequest): Promise<{ res: IncomingMessage; body: string }> {
  return new Promise((resolve, reject) => {
    req.once('error', reject);
    req.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ res, body }));
    });
  });
}

describe('the value size limit over a socket', () => {
  let node: RunningNode;
  beforeAll(async () => {
    node = await startNode({ maxValueBytes: LIMIT });
  });
  afterAll(() => node.close());

  it('answers 413 while a chunked body (no Content-Length) is still streaming', async () => {
    const req = open(node, '/v1/keys/big');
    req.on('error', () => undefined); // the server may stop reading once it has answered
    const answered = response(req);
    req.write(Buffer.alloc(LIMIT / 2, 1));
    req.write(Buffer.alloc(LIMIT / 2 + 1, 2)); // one byte over
    // The request is never ended: only a server that checks while streaming can answer.
    const { res, body } = await answered;
    expect(req.getHeader('content-length')).toBeUndefined();
    expect(res.statusCode).toBe(413);
    expect(JSON.parse(body)).toMatchObject({ error: { code: 'too_large' } });
    req.destroy();
    expect((await fetch(`${node.url}/v1/keys/big`)).status).toBe(404);
  });

  it('stops reading a body that keeps coming after the 413: the connection is closed', async () => {
    const req = open(node, '/v1/keys/endless');
    const closed = new Promise<void>((resolve) =>
      req.once('error', () => resolve()).once('close', () => resolve()),
    );
    const answered = response(req).catch(() => undefined);
    const chunk = Buffer.alloc(LIMIT, 1);
    let sent = 0;
    let open_ = true;
    void closed.then(() => (open_ = false));
    // Stream without end, honouring backpressure, until the server hangs up.
    while (open_ && sent < 512 * 1024 * 1024) {
      sent += chunk.length;
      if (!req.write(chunk)) {
        await Promise.race([new Promise((r) => req.once('drain', r)), closed]);
      }
    }
    expect((await answered)?.res.statusCode).toBe(413);
    expect(open_).toBe(false);
    // far less than the 512 MiB the client was prepared to send
    expect(sent).toBeLessThan(256 * 1024 * 1024);
  });

  it('answers 413 from the Content-Length alone, before any body byte', async () => {
    const req = open(node, '/v1/keys/declared', { 'content-length': LIMIT + 1 });
    req.on('error', () => undefined);
    const answered = response(req);
    req.flushHeaders();
    const { res } = await answered;
    expect(res.statusCode).toBe(413);
    req.destroy();
  });

  it('accepts a body of exactly the limit, chunked or not', async () => {
    for (const headers of [{}, { 'content-length': LIMIT }] as Record<string, number>[]) {
      const req = open(node, '/v1/keys/exact', headers);
      const answered = response(req);
      req.end(Buffer.alloc(LIMIT, 7));
      expect((await answered).res.statusCode).toBe(204);
      const stored = new Uint8Array(await (await fetch(`${node.url}/v1/keys/exact`)).arrayBuffer());
      expect(stored.length).toBe(LIMIT);
      expect(stored.every((b) => b === 7)).toBe(true);
    }
  });

  it('keeps serving other requests after a refused upload', async () => {
    const res = await fetch(`${node.url}/healthz`);
    expect(res.status).toBe(200);
  });
});

describe('a declared Content-Length is not allocated before its bytes arrive', () => {
  it('twenty requests declaring 8 MiB each and sending one byte hold far less than 160 MiB', async () => {
    // A budget that holds them all: what is measured here is allocation, not the 503 beyond it.
    const node = await startNode({
      maxValueBytes: '8mb',
      maxBatchBytes: '8mb',
      maxInflightBodyBytes: '256mb',
    });
    const declared = 8 * 1024 * 1024;
    const requests: ClientRequest[] = [];
    try {
      const before = process.memoryUsage().arrayBuffers;
      for (let i = 0; i < 10; i++) {
        // A value PUT (hono route) and a batch (the fast path) that will never finish.
        const put = open(node, `/v1/keys/slow-${i}`, { 'content-length': declared });
        const batch = request({
          host: node.address.host,
          port: node.address.port,
          path: '/v1/batch',
          method: 'POST',
          headers: { 'content-type': 'application/msgpack', 'content-length': declared },
        });
        for (const req of [put, batch]) {
          req.on('error', () => undefined);
          req.write(Buffer.from([0x91]));
          requests.push(req);
        }
      }
      await vi.waitFor(() => expect(node.server.activeRequests).toBe(20), { timeout: 5000 });
      // Allocating each declared length up front would hold 20 × 8 MiB = 160 MiB here.
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 * 1024 * 1024);
    } finally {
      for (const req of requests) req.destroy();
      await node.close();
    }
  });
});
