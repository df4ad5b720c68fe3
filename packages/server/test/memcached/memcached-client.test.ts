import Memcached from 'memcached';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { VERSION } from '../../src/version.js';
import { startCliNode, stopCliNodes } from '../cli-node.js';
import type { CliNode } from '../cli-node.js';

/**
 * The `memcached` npm client (3rd-Eden, 2.x) — software we did not write — against the memcached
 * port of a node started through the CLI with its defaults, and values crossing between that port
 * and the node's HTTP API.
 */
let node: CliNode;
let client: Memcached;

/** A request to the node's HTTP API. */
function http(path: string, init?: RequestInit): Promise<Response> {
  return fetch(`${node.url}${path}`, init);
}

function call<T>(fn: (cb: (err: unknown, result: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    fn((err, result) =>
      err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(result),
    );
  });
}

beforeAll(async () => {
  node = await startCliNode(['--memcached-port', '0', '--log-level', 'silent']);
  const { host, port } = node.memcached!;
  client = new Memcached(`${host}:${port}`, { retries: 0, timeout: 2000, poolSize: 2 });
}, 30_000);

afterAll(async () => {
  client?.end();
  await stopCliNodes();
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
    const res = await http('/v1/keys/t');
    expect(res.status).toBe(200);
    expect(res.headers.get('dcache-ttl')).toBeNull(); // no TTL left: it never expires
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
    const res = await http('/v1/keys/from-http', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hello: 'memcached' }),
    });
    expect(res.status).toBe(204);
    expect(await call((cb) => client.get('from-http', cb))).toEqual({ hello: 'memcached' });
  });

  test('text written over HTTP reads back over memcached with the text flags (16)', async () => {
    await http('/v1/keys/text-http', {
      method: 'PUT',
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: 'héllo',
    });
    expect(await call((cb) => client.get('text-http', cb))).toBe('héllo');
    const res = await http('/v1/keys/text-http');
    expect(res.headers.get('dcache-flags')).toBe('16');
  });

  test('values written over memcached are read over HTTP with their bytes and flags', async () => {
    await call((cb) => client.set('from-mc', { n: 1 }, 0, cb));
    const json = await http('/v1/keys/from-mc', { headers: { accept: 'application/json' } });
    expect(json.status).toBe(200);
    expect(json.headers.get('dcache-flags')).toBe('2');
    expect(await json.json()).toEqual({ n: 1 });

    await call((cb) => client.set('raw-mc', 'plain bytes', 0, cb));
    const raw = await http('/v1/keys/raw-mc');
    expect(raw.headers.get('dcache-flags')).toBe('0');
    expect(raw.headers.get('content-type')).toContain('application/octet-stream');
    expect(await raw.text()).toBe('plain bytes');
  });

  test('an HTTP version (ETag) is the memcached cas unique', async () => {
    const put = await http('/v1/keys/v', { method: 'PUT', body: 'abc' });
    const etag = put.headers.get('etag');
    const got = await call<{ v: string; cas: string }>((cb) => client.gets('v', cb as never));
    expect(etag).toBe(`"${got.cas}"`);
  });

  test('a counter incremented over memcached reads back over HTTP', async () => {
    await call((cb) => client.set('ctr', '41', 0, cb));
    await call((cb) => client.incr('ctr', 1, cb));
    const res = await http('/v1/keys/ctr');
    expect(await res.text()).toBe('42');
  });
});

describe('what a client learns about the server', () => {
  test('version is a memcached release; stats carry dcache_version as well', async () => {
    const version = await call<Array<{ version: string; major: string }>>((cb) =>
      client.version(cb as never),
    );
    expect(version[0]!.version).toBe('1.6.18');
    const stats = await call<Array<Record<string, unknown>>>((cb) => client.stats(cb as never));
    expect(stats[0]!.version).toBe('1.6.18');
    expect(stats[0]!.dcache_version).toBe(VERSION);
  });
});
