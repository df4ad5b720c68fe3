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
    expect(results[1]).toEqual([200, value, 256, version, null]);
    expect(results[2]).toEqual([404]);
    expect(results[3]).toEqual([204]);
  });
});
