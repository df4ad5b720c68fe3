import Memcached from 'memcached';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildApp, nodeStore } from '../../src/app.js';
import { resolveOptions } from '../../src/options.js';
import { startListener } from './helpers.js';
import type { Started } from './helpers.js';

/**
 * The `memcached` npm client (3rd-Eden, 2.x) — software we did not write — against the dcache
 * memcached port, and values crossing between that port and the HTTP API over one shared cache.
 */
const options = resolveOptions({ maxMemory: 16 * 1024 * 1024 });
const replicas = nodeStore(options);
const cache = replicas.cache;
const app = buildApp(options, replicas);
let s: Started;
let client: Memcached;

function call<T>(fn: (cb: (err: unknown, result: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    fn((err, result) =>
      err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(result),
    );
  });
}

beforeAll(async () => {
  s = await startListener({ cache: replicas });
  client = new Memcached(`127.0.0.1:${s.port}`, { retries: 0, timeout: 2000, poolSize: 2 });
});

afterAll(async () => {
  client.end();
  await s.listener.close();
});

describe('memcached npm client round trips', () => {
  test('set then get returns strings, numbers and JSON objects as written', async () => {
    await call((cb) => client.set('str', 'hello world', 0, cb));
    await call((cb) => client.set('num', 42, 0, cb));
    await call((cb) => client.set('obj', { a: [1, 2], b: 'x' }, 0, cb));
    expect(await call((cb) => client.get('str', cb))).toBe('hello world');
    expect(await call((cb) => client.get('num', cb))).toBe(42);
    expect(await call((cb) => client.get('obj', cb))).toEqual({ a: [1, 2], b: 'x' });
    expect(await call((cb) => client.get('absent', cb))).toBeUndefined();
  });

  test('gets + cas: the current cas stores, a stale one is refused', async () => {
    await call((cb) => client.set('c', 'v1', 0, cb));
    const first = await call<{ c: string; cas: string }>((cb) => client.gets('c', cb as never));
    expect(first.c).toBe('v1');
    expect(await call((cb) => client.cas('c', 'v2', first.cas, 0, cb))).toBe(true);
    expect(await call((cb) => client.cas('c', 'v3', first.cas, 0, cb))).toBe(false);
    expect(await call((cb) => client.get('c', cb))).toBe('v2');
  });

  test('incr and decr count with 64-bit unsigned semantics', async () => {
    await call((cb) => client.set('n', '10', 0, cb));
    expect(await call((cb) => client.incr('n', 5, cb))).toBe(15);
    expect(await call((cb) => client.decr('n', 100, cb))).toBe(0);
    expect(await call((cb) => client.incr('absent-counter', 1, cb))).toBe(false);
  });

  test('touch gives an item a new lifetime', async () => {
    await call((cb) => client.set('t', 'x', 1000, cb));
    expect(await call((cb) => client.touch('t', 0, cb as never))).toBe(true);
    expect(cache.peekEntry('t')?.ttl).toBeUndefined();
    expect(await call((cb) => client.touch('absent-touch', 10, cb as never))).toBe(false);
  });

  test('getMulti returns every present key in one request', async () => {
    await call((cb) => client.set('m1', 'one', 0, cb));
    await call((cb) => client.set('m2', 'two', 0, cb));
    const got = await call<Record<string, unknown>>((cb) =>
      client.getMulti(['m1', 'm2', 'm3'], cb),
    );
    expect(got).toEqual({ m1: 'one', m2: 'two' });
  });
});

describe('one cache behind both doors', () => {
  test('JSON written over HTTP is read (and parsed) over memcached', async () => {
    const res = await app.request('/v1/keys/from-http', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hello: 'memcached' }),
    });
    expect(res.status).toBe(204);
    expect(await call((cb) => client.get('from-http', cb))).toEqual({ hello: 'memcached' });
  });

  test('text written over HTTP reads back over memcached with the text flags (16)', async () => {
    await app.request('/v1/keys/text-http', {
      method: 'PUT',
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: 'héllo',
    });
    expect(await call((cb) => client.get('text-http', cb))).toBe('héllo');
    expect(cache.peek('text-http')?.flags).toBe(16);
  });

  test('values written over memcached are read over HTTP with their bytes and flags', async () => {
    await call((cb) => client.set('from-mc', { n: 1 }, 0, cb));
    const json = await app.request('/v1/keys/from-mc', { headers: { accept: 'application/json' } });
    expect(json.status).toBe(200);
    expect(json.headers.get('dcache-flags')).toBe('2');
    expect(await json.json()).toEqual({ n: 1 });

    await call((cb) => client.set('raw-mc', 'plain bytes', 0, cb));
    const raw = await app.request('/v1/keys/raw-mc');
    expect(raw.headers.get('dcache-flags')).toBe('0');
    expect(raw.headers.get('content-type')).toContain('application/octet-stream');
    expect(await raw.text()).toBe('plain bytes');
  });

  test('an HTTP version (ETag) is the memcached cas unique', async () => {
    const put = await app.request('/v1/keys/v', { method: 'PUT', body: 'abc' });
    const etag = put.headers.get('etag');
    const got = await call<{ v: string; cas: string }>((cb) => client.gets('v', cb as never));
    expect(etag).toBe(`"${got.cas}"`);
  });

  test('a counter incremented over memcached reads back over HTTP', async () => {
    await call((cb) => client.set('ctr', '41', 0, cb));
    await call((cb) => client.incr('ctr', 1, cb));
    const res = await app.request('/v1/keys/ctr');
    expect(await res.text()).toBe('42');
  });
});
