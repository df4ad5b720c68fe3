import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pack, unpack } from 'msgpackr';
import type { RunningNode } from './helpers.js';
import { startNode } from './helpers.js';

describe('a node over a real loopback socket', () => {
  let node: RunningNode;
  beforeAll(async () => {
    node = await startNode();
  });
  afterAll(() => node.close());

  it('binds 127.0.0.1 on an ephemeral port', () => {
    expect(node.address.host).toBe('127.0.0.1');
    expect(node.address.port).toBeGreaterThan(0);
    expect(node.url).toBe(`http://127.0.0.1:${node.address.port}`);
  });

  it('writes, reads and deletes a key', async () => {
    const put = await fetch(`${node.url}/v1/keys/greeting?ttl=60000`, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(put.status).toBe(204);
    const etag = put.headers.get('etag');
    expect(etag).toMatch(/^"\d+"$/);

    const get = await fetch(`${node.url}/v1/keys/greeting`);
    expect(get.status).toBe(200);
    expect(get.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(get.headers.get('etag')).toBe(etag);
    expect(Number(get.headers.get('dcache-ttl'))).toBeGreaterThan(59_000);
    expect(await get.text()).toBe('hello');

    expect((await fetch(`${node.url}/v1/keys/greeting`, { method: 'DELETE' })).status).toBe(204);
    const miss = await fetch(`${node.url}/v1/keys/greeting`);
    expect(miss.status).toBe(404);
    expect(await miss.json()).toEqual({ error: { code: 'not_found', message: 'no such key' } });
  });

  it('runs a batch', async () => {
    const value = new Uint8Array([1, 2, 3]);
    const res = await fetch(`${node.url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/msgpack' },
      body: pack([
        ['set', 'b1', value, 256, null, null],
        ['get', 'b1'],
        ['get', 'nope'],
        ['delete', 'b1'],
      ]),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/msgpack');
    const results = unpack(new Uint8Array(await res.arrayBuffer())) as unknown[][];
    expect(results).toHaveLength(4);
    expect(results[0]![0]).toBe(204);
    const version = results[0]![1];
    const stamp = results[0]![2];
    expect(results[1]).toEqual([200, value, 256, version, null, stamp]);
    expect(results[2]).toEqual([404, null, expect.any(Number)]);
    expect(results[3]).toEqual([204, expect.any(Number)]);
    // The node's clock, for the client to stamp its next write above.
    expect(Number(res.headers.get('dcache-clock'))).toBeGreaterThanOrEqual(stamp as number);
  });

  it('reads request headers through the Node fast path: Accept, If-Match, Dcache-Flags', async () => {
    const put = (headers: Record<string, string>, body: string | Uint8Array = '{"a":1}') =>
      fetch(`${node.url}/v1/keys/h`, { method: 'PUT', body, headers });
    const first = await put({ 'content-type': 'application/json' });
    expect(first.status).toBe(204);
    const asMsgpack = await fetch(`${node.url}/v1/keys/h`, {
      headers: { accept: 'application/msgpack' },
    });
    expect(asMsgpack.headers.get('content-type')).toBe('application/msgpack');
    expect(unpack(new Uint8Array(await asMsgpack.arrayBuffer()))).toEqual({ a: 1 });
    expect(
      (await fetch(`${node.url}/v1/keys/h`, { headers: { accept: 'text/plain' } })).status,
    ).toBe(406);
    const etag = first.headers.get('etag')!;
    expect((await put({ 'content-type': 'application/json', 'if-match': '"999999"' })).status).toBe(
      412,
    );
    expect((await put({ 'content-type': 'application/json', 'if-match': etag })).status).toBe(204);
    expect((await put({ 'content-type': 'application/json', 'if-none-match': '*' })).status).toBe(
      412,
    );
    expect((await put({ 'dcache-flags': '7' }, new Uint8Array([9]))).status).toBe(204);
    expect((await fetch(`${node.url}/v1/keys/h`)).headers.get('dcache-flags')).toBe('7');
    expect((await put({ 'content-type': 'image/png' })).status).toBe(415);
  });

  it('serves HEAD, incr/decr, stats, metrics, healthz and 405s', async () => {
    await fetch(`${node.url}/v1/keys/n`, {
      method: 'PUT',
      body: '10',
      headers: { 'content-type': 'text/plain' },
    });
    const head = await fetch(`${node.url}/v1/keys/n`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('etag')).toMatch(/^"\d+"$/);
    expect(
      await (await fetch(`${node.url}/v1/keys/n/incr?delta=5`, { method: 'POST' })).json(),
    ).toBe(15);
    expect(await (await fetch(`${node.url}/v1/keys/n/decr`, { method: 'POST' })).json()).toBe(14);
    const stats = (await (await fetch(`${node.url}/v1/stats`)).json()) as Record<string, unknown>;
    expect(stats).toMatchObject({ requests: { incr: 1, decr: 1 } });
    expect(await (await fetch(`${node.url}/metrics`)).text()).toMatch(
      /^dcache_requests_total\{op="incr"\} 1$/m,
    );
    expect(await (await fetch(`${node.url}/healthz`)).json()).toMatchObject({ status: 'ok' });
    const wrong = await fetch(`${node.url}/v1/batch`, { method: 'GET' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
  });
  it('loses no increment under concurrent requests (the read-modify-write is atomic)', async () => {
    await fetch(`${node.url}/v1/keys/counter`, {
      method: 'PUT',
      body: '0',
      headers: { 'content-type': 'text/plain' },
    });
    const answers = await Promise.all(
      Array.from({ length: 200 }, () =>
        fetch(`${node.url}/v1/keys/counter/incr?delta=2`, { method: 'POST' }).then(
          (r) => r.json() as Promise<number>,
        ),
      ),
    );
    // Each request saw its own update: the answers are exactly 2, 4, …, 400, and so is the end.
    expect(answers.sort((a, b) => a - b)).toEqual(
      Array.from({ length: 200 }, (_, i) => 2 * (i + 1)),
    );
    expect(await (await fetch(`${node.url}/v1/keys/counter`)).text()).toBe('400');
  });
});

describe('a node with a token, over a socket', () => {
  let node: RunningNode;
  beforeAll(async () => {
    node = await startNode({ token: 'tok-123' });
  });
  afterAll(() => node.close());

  it('requires the bearer token everywhere but /healthz', async () => {
    expect((await fetch(`${node.url}/v1/keys/k`)).status).toBe(401);
    expect(
      (await fetch(`${node.url}/v1/keys/k`, { headers: { authorization: 'Bearer nope' } })).status,
    ).toBe(401);
    expect(
      (await fetch(`${node.url}/v1/keys/k`, { headers: { authorization: 'Bearer tok-123' } }))
        .status,
    ).toBe(404);
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
  });
});
