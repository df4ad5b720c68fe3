import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CacheServer } from '../src/index.js';
import { startNode, startUpload } from './helpers.js';
import { makeSelfSignedPair } from './self-signed.js';
import { EVENTUALLY } from './eventually.js';

describe('CacheServer lifecycle', () => {
  it('close() lets an in-flight request finish, refuses new connections, then resolves', async () => {
    const node = await startNode();
    // A PUT whose body is still arriving when close() is called.
    const { req, status: answered } = startUpload(`${node.url}/v1/keys/inflight`, 'half ');
    await vi.waitFor(() => expect(node.server.activeRequests).toBe(1), EVENTUALLY);
    let closed = false;
    const closing = node.server.close().then(() => (closed = true));
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(false);
    await expect(fetch(`${node.url}/healthz`)).rejects.toThrow();
    req.end('done');
    expect(await answered).toBe(204);
    await closing;
    expect(closed).toBe(true);
    expect(node.server.address).toBeUndefined();
    // the write that was in flight was applied
    expect(node.server.cache.get('inflight')?.bytes).toEqual(new TextEncoder().encode('half done'));
  });

  it('survives a pipelined request parsed after close() began (its headers already sent)', async () => {
    const node = await startNode();
    node.server.cache.set('late', { bytes: new TextEncoder().encode('hi'), flags: 0 });
    const crashes: unknown[] = [];
    const onCrash = (error: unknown): void => void crashes.push(error);
    process.on('uncaughtException', onCrash);
    try {
      // One keep-alive connection: an upload still in flight keeps close() waiting, then the rest
      // of its body arrives with a pipelined GET, whose headers are parsed after close() began.
      const socket = connect(node.address.port, '127.0.0.1');
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
      const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      socket.write(
        'PUT /v1/keys/inflight HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 9\r\n\r\nhalf ',
      );
      await vi.waitFor(() => expect(node.server.activeRequests).toBe(1), EVENTUALLY);
      const closing = node.server.close();
      // The GET fast path answers it and sends its headers before the server tracks it.
      socket.write('done' + 'GET /v1/keys/late HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      await ended;
      await closing;
      expect(answer).toMatch(/^HTTP\/1\.1 204 No Content\r\n/);
      expect(answer.toLowerCase()).toContain('connection: close');
      expect(node.server.cache.get('inflight')?.bytes).toEqual(
        new TextEncoder().encode('half done'),
      );
      expect(crashes).toEqual([]);
    } finally {
      process.off('uncaughtException', onCrash);
    }
  });

  it('close() does not wait for idle keep-alive connections, and can be called twice', async () => {
    const node = await startNode();
    await fetch(`${node.url}/healthz`, { keepalive: true });
    await Promise.all([node.server.close(), node.server.close()]);
    await node.server.close();
  });

  it('cuts connections still busy after closeTimeout', async () => {
    const node = await startNode({ closeTimeout: 50 });
    const req = request({ ...node.address, path: '/v1/keys/slow', method: 'PUT' });
    req.on('error', () => undefined);
    req.write('never finished');
    await vi.waitFor(() => expect(node.server.activeRequests).toBe(1), EVENTUALLY);
    await node.server.close(); // would hang forever without the timeout
  });

  it('exposes the cache it serves, for the memcached listener', async () => {
    const server = new CacheServer({ logLevel: 'silent' });
    server.cache.set('shared', { bytes: new Uint8Array([104, 105]), flags: 16 });
    const res = await server.app.request('/v1/keys/shared');
    expect(await res.text()).toBe('hi');
  });

  it('refuses to listen twice and reports a port in use', async () => {
    const a = await startNode();
    await expect(a.server.listen()).rejects.toThrow(/already listening/);
    const b = new CacheServer({ logLevel: 'silent' });
    await expect(b.listen({ host: '127.0.0.1', port: a.address.port })).rejects.toThrow(
      /EADDRINUSE/,
    );
    await a.close();
  });

  it('a second listen() while the first is in progress is refused: one server bound, close() frees it', async () => {
    const server = new CacheServer({ logLevel: 'silent' });
    const first = server.listen();
    await expect(server.listen()).rejects.toThrow(/listen\(\) is already in progress/);
    const address = await first;
    expect((await fetch(`${address.url}/v1/stats`)).status).toBe(200);
    await server.close();
    await expect(fetch(`${address.url}/v1/stats`)).rejects.toThrow();
    // Settled: listening again works.
    await server.listen();
    await server.close();
  });

  it('close() called while listen() is still binding waits for it, then frees both ports', async () => {
    const server = new CacheServer({ logLevel: 'silent', memcachedPort: 0, stallThreshold: 0 });
    const listening = server.listen();
    const closed = server.close(); // same tick: neither port is bound yet
    const address = await listening;
    await closed;
    const accepts = (port: number): Promise<boolean> =>
      new Promise((resolve) => {
        const socket = connect({ host: '127.0.0.1', port });
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      });
    expect(address.memcached).toBeDefined();
    expect(await accepts(address.port)).toBe(false);
    expect(await accepts(address.memcached!.port)).toBe(false);
  });

  it.each([{}, { port: -1 }, { port: 70000 }])('validates the port %j', async (listen) => {
    const server = new CacheServer({ logLevel: 'silent' });
    if ('port' in listen) await expect(server.listen(listen)).rejects.toThrow(RangeError);
    else {
      const address = await server.listen(listen);
      expect(address.host).toBe('127.0.0.1'); // loopback unless told otherwise
      await server.close();
    }
  });
});

describe('TLS', () => {
  let dir: string;
  let cert: Buffer;
  let key: Buffer;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dcache-tls-'));
    makeSelfSignedPair(dir);
    cert = readFileSync(join(dir, 'cert.pem'));
    key = readFileSync(join(dir, 'key.pem'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves HTTPS with the given certificate and key', async () => {
    const node = await startNode({ tls: { cert, key } });
    try {
      expect(node.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const body = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest(`${node.url}/healthz`, { ca: cert }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c));
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        req.end();
      });
      expect(JSON.parse(body)).toMatchObject({ status: 'ok' });
      // and plain HTTP to a TLS port does not get an answer
      await expect(fetch(node.url.replace('https', 'http') + '/healthz')).rejects.toThrow();
    } finally {
      await node.close();
    }
  });

  it('refuses a certificate the client does not trust', async () => {
    const node = await startNode({ tls: { cert, key } });
    try {
      await expect(
        new Promise((resolve, reject) => {
          const req = httpsRequest(`${node.url}/healthz`, resolve);
          req.on('error', reject);
          req.end();
        }),
      ).rejects.toThrow(/self[- ]signed/i);
    } finally {
      await node.close();
    }
  });
});
