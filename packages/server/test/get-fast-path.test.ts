import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { pack } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp, createNodeState, nodeStore } from '../src/http/app.js';
import { resolveOptions } from '../src/options.js';
import { requestErrorHandler } from '../src/http/transport-errors.js';
import type { ServerOptions } from '../src/index.js';
import { manualClock, startNode } from './helpers.js';
import type { RunningNode } from './helpers.js';

/**
 * CacheServer answers simple `GET /v1/keys/:key` requests on a fast path beside hono and hands the
 * rest to the hono route. Every request here goes, byte for byte, to a live node and to the same
 * app served by @hono/node-server alone (no fast path); the answers — status, headers, body — and
 * the counters in /v1/stats afterwards must be the same.
 */

interface Target {
  port: number;
  close(): Promise<void>;
}

interface Answer {
  status: number;
  headers: Record<string, string | undefined>;
  body: string;
}

const COMPARED = [
  'content-type',
  'content-length',
  'etag',
  'dcache-ttl',
  'dcache-flags',
  'www-authenticate',
  'vary',
];

/** A raw request (the path is sent as is, not normalised as fetch would). */
function send(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: Uint8Array,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const picked: Record<string, string | undefined> = {};
        for (const name of COMPARED) picked[name] = res.headers[name] as string | undefined;
        resolve({
          status: res.statusCode ?? 0,
          headers: picked,
          body: Buffer.concat(chunks).toString('base64'),
        });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function honoOnly(options: ServerOptions): Promise<Target> {
  // CacheServer's hono listener without its fast paths: same app, same adapter error handler.
  const resolved = resolveOptions({ logLevel: 'silent', ...options });
  const replicas = nodeStore(resolved);
  const node = createNodeState(resolved, replicas);
  const app = buildApp(resolved, replicas, node);
  const server: Server = createServer(
    getRequestListener(app.fetch, { errorHandler: requestErrorHandler(node) }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const text = (s: string) => new TextEncoder().encode(s);

/** Values written to both targets before the GETs: [path, Content-Type, body, query]. */
const SEED: [string, string | undefined, Uint8Array, string][] = [
  ['plain', undefined, text('0123456789'.repeat(10)), ''],
  ['json', 'application/json', text('{"a":[1,2,"x"]}'), '?ttl=5000'],
  ['text', 'text/plain; charset=utf-8', text('héllo'), ''],
  ['pack', 'application/msgpack', pack({ n: 1, s: 'two' }), '?ttl=0'],
  ['a%2Fb', 'text/plain', text('slash'), ''],
  ['%C3%A9t%C3%A9', 'text/plain', text('accent'), ''],
  ['100%25', 'text/plain', text('percent'), ''],
  ["w~e!r$d&'()*+,;=:@-_.k", 'text/plain', text('weird'), ''],
];

interface Case {
  name: string;
  path: string;
  headers?: Record<string, string>;
  method?: string;
}

const cases: Case[] = [
  { name: 'a hit, no Accept', path: '/v1/keys/plain' },
  { name: 'a hit with a TTL', path: '/v1/keys/json' },
  { name: 'a hit with ttl=0', path: '/v1/keys/pack' },
  { name: 'Accept */*', path: '/v1/keys/text', headers: { accept: '*/*' } },
  {
    name: 'Accept the stored type',
    path: '/v1/keys/json',
    headers: { accept: 'application/json' },
  },
  {
    name: 'Accept the stored text type',
    path: '/v1/keys/text',
    headers: { accept: 'text/plain; charset=utf-8' },
  },
  {
    name: 'Accept converting json → msgpack',
    path: '/v1/keys/json',
    headers: { accept: 'application/msgpack' },
  },
  {
    name: 'Accept converting msgpack → json',
    path: '/v1/keys/pack',
    headers: { accept: 'application/json' },
  },
  {
    name: 'Accept that cannot be served (406)',
    path: '/v1/keys/plain',
    headers: { accept: 'application/json' },
  },
  {
    name: 'Accept with q values',
    path: '/v1/keys/text',
    headers: { accept: 'application/json;q=0.5, */*;q=0.1' },
  },
  { name: 'Accept empty', path: '/v1/keys/text', headers: { accept: '' } },
  { name: 'a miss', path: '/v1/keys/nope' },
  { name: 'a miss with Accept', path: '/v1/keys/nope', headers: { accept: 'application/json' } },
  { name: 'an encoded slash', path: '/v1/keys/a%2Fb' },
  { name: 'encoded UTF-8', path: '/v1/keys/%C3%A9t%C3%A9' },
  { name: 'an encoded percent', path: '/v1/keys/100%25' },
  { name: 'a double-encoded percent', path: '/v1/keys/100%2525' },
  { name: 'sub-delimiters', path: "/v1/keys/w~e!r$d&'()*+,;=:@-_.k" },
  { name: 'malformed UTF-8 escape', path: '/v1/keys/%E0%A4' },
  { name: 'a bare percent', path: '/v1/keys/%ZZ' },
  { name: 'a dot segment', path: '/v1/keys/%2e%2E' },
  { name: 'an empty key', path: '/v1/keys/' },
  { name: 'a key over maxKeyBytes', path: `/v1/keys/${'k'.repeat(40)}` },
  { name: 'an encoded key over maxKeyBytes', path: `/v1/keys/${'%C3%A9'.repeat(11)}` },
  { name: 'a query string', path: '/v1/keys/plain?x=1' },
  { name: 'a trailing slash', path: '/v1/keys/plain/' },
  {
    // Versions start above the clock's epoch, so no fixed ETag names the entry's: `*` does.
    name: 'If-None-Match: * for a stored key (304)',
    path: '/v1/keys/plain',
    headers: { 'if-none-match': '*' },
  },
  {
    name: 'If-None-Match naming another ETag',
    path: '/v1/keys/plain',
    headers: { 'if-none-match': '"999"' },
  },
  {
    name: 'If-Match naming another ETag (412)',
    path: '/v1/keys/plain',
    headers: { 'if-match': '"999"' },
  },
  { name: 'HEAD', path: '/v1/keys/plain', method: 'HEAD' },
  { name: 'a numeric shorthand Host (400)', path: '/v1/keys/plain', headers: { host: '127.1' } },
];

const targets: Target[] = [];
let node: RunningNode | undefined;

afterEach(async () => {
  await Promise.all(targets.splice(0).map((t) => t.close()));
  await node?.close();
  node = undefined;
});

async function pair(options: ServerOptions): Promise<[Target, Target]> {
  const live = await startNode(options);
  node = live;
  const fast: Target = { port: live.address.port, close: () => Promise.resolve() };
  const plain = await honoOnly(options);
  targets.push(plain);
  return [fast, plain];
}

async function seed(target: Target, auth: Record<string, string>): Promise<void> {
  for (const [key, type, body, query] of SEED) {
    const headers = { ...auth, ...(type === undefined ? {} : { 'content-type': type }) };
    const res = await send(target.port, 'PUT', `/v1/keys/${key}${query}`, headers, body);
    expect(res.status).toBe(204);
  }
}

async function stats(target: Target, auth: Record<string, string>): Promise<unknown> {
  const res = await send(target.port, 'GET', '/v1/stats', auth);
  const snapshot = JSON.parse(Buffer.from(res.body, 'base64').toString()) as Record<
    string,
    unknown
  >;
  const { hits, misses, items, requests, errors, evictions } = snapshot;
  return { hits, misses, items, requests, errors, evictions };
}

describe('GET fast path', () => {
  for (const token of [undefined, 'sekret']) {
    describe(token === undefined ? 'without a token' : 'with a token', () => {
      const options: ServerOptions = {
        maxKeyBytes: 32,
        ...(token === undefined ? {} : { token }),
      };
      const auth: Record<string, string> =
        token === undefined ? {} : { authorization: `Bearer ${token}` };
      const authCases: Case[] =
        token === undefined
          ? []
          : [
              { name: 'no Authorization', path: '/v1/keys/plain', headers: { authorization: '' } },
              {
                name: 'a wrong token',
                path: '/v1/keys/plain',
                headers: { authorization: 'Bearer nope' },
              },
              {
                name: 'lower-case bearer',
                path: '/v1/keys/plain',
                headers: { authorization: `bearer ${token}` },
              },
            ];
      for (const c of [...cases, ...authCases]) {
        it(`answers ${c.name} like the hono route and counts it the same`, async () => {
          const clock = manualClock();
          const [fast, plain] = await pair({ ...options, now: clock.now });
          await seed(fast, auth);
          await seed(plain, auth);
          const headers = { ...auth, ...c.headers };
          const method = c.method ?? 'GET';
          // Twice: a hit must promote and count both times, a miss twice.
          for (let i = 0; i < 2; i++) {
            clock.advance(7);
            const expected = await send(plain.port, method, c.path, headers);
            const actual = await send(fast.port, method, c.path, headers);
            expect(actual).toEqual(expected);
          }
          expect(await stats(fast, auth)).toEqual(await stats(plain, auth));
        });
      }
    });
  }

  it('serves a plain hit itself: Content-Length, ETag, Dcache-Ttl and Dcache-Flags as the route', async () => {
    const clock = manualClock();
    node = await startNode({ now: clock.now });
    const put = await fetch(`${node.url}/v1/keys/k?ttl=1000`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '[1,2]',
    });
    clock.advance(250);
    const res = await fetch(`${node.url}/v1/keys/k`);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe(put.headers.get('etag'));
    expect(res.headers.get('dcache-ttl')).toBe('750');
    expect(res.headers.get('dcache-flags')).toBe('2');
    expect(res.headers.get('content-length')).toBe('5');
    expect(await res.text()).toBe('[1,2]');
  });

  it('answers 404 itself when the entry expires between its two lookups', async () => {
    // A clock that moves on every read: peekEntry sees the entry live, getEntry sees it expired.
    let time = 1_000_000;
    let ticking = false;
    node = await startNode({ now: () => (ticking ? (time += 600) : time) });
    await fetch(`${node.url}/v1/keys/k?ttl=1000`, { method: 'PUT', body: 'x' });
    ticking = true;
    const res = await fetch(`${node.url}/v1/keys/k`);
    ticking = false;
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ error: { code: 'not_found', message: 'no such key' } });
    const snapshot = (await (await fetch(`${node.url}/v1/stats`)).json()) as {
      hits: number;
      misses: number;
      requests: { get: number };
    };
    expect([snapshot.hits, snapshot.misses, snapshot.requests.get]).toEqual([0, 1, 1]);
  });
});
