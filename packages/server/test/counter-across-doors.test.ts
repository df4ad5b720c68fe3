import { stampAt } from '@dcache/core';
import { pack, unpack } from 'msgpackr';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { startCliNode, stopCliNodes } from './cli-node.js';
import type { CliNode } from './cli-node.js';
import { RawClient } from './memcached/helpers.js';

/**
 * One counter, whichever door changes it: HTTP incr/decr and memcached's incr/decr store the same
 * bytes (memcached's ASCII decimal, a shorter number space-padded in place) and keep the TTL the
 * same way, so a counter read or changed through the other door agrees. Against a node started
 * through the CLI.
 */
let node: CliNode;
let client: RawClient;

beforeAll(async () => {
  node = await startCliNode(['--memcached-port', '0', '--log-level', 'silent']);
}, 30_000);
afterAll(() => stopCliNodes());

afterEach(() => client?.close());

async function memcached(command: string): Promise<string> {
  client = new RawClient(node.memcached!.port);
  await client.ready();
  try {
    return await client.request(command);
  } finally {
    client.close();
  }
}

async function http(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${node.url}${path}`, init);
}

async function httpCount(key: string, op: 'incr' | 'decr', query = ''): Promise<number> {
  const response = await http(`/v1/keys/${key}/${op}${query}`, { method: 'POST' });
  expect(response.status).toBe(200);
  return (await response.json()) as number;
}

async function batch(ops: unknown[]): Promise<unknown[][]> {
  const response = await http('/v1/batch', {
    method: 'POST',
    body: pack(ops),
    headers: { 'content-type': 'application/msgpack' },
  });
  expect(response.status).toBe(200);
  return unpack(new Uint8Array(await response.arrayBuffer())) as unknown[][];
}

describe('a counter changed over HTTP and memcached', () => {
  test('an HTTP decr stores what memcached decr stores: the shorter number padded in place', async () => {
    expect(await memcached('set viaHttp 0 0 3\r\n100\r\n')).toBe('STORED\r\n');
    expect(await memcached('set viaMemcached 0 0 3\r\n100\r\n')).toBe('STORED\r\n');
    expect(await httpCount('viaHttp', 'decr')).toBe(99);
    expect(await memcached('decr viaMemcached 1\r\n')).toBe('99\r\n');
    const both = await memcached('get viaHttp viaMemcached\r\n');
    expect(both).toBe('VALUE viaHttp 0 3\r\n99 \r\nVALUE viaMemcached 0 3\r\n99 \r\nEND\r\n');
  });

  test('HTTP incr, then memcached incr and get, then HTTP again agree', async () => {
    expect(await httpCount('hits', 'incr', '?initial=7')).toBe(7);
    expect(await httpCount('hits', 'incr', '?delta=3')).toBe(10);
    expect(await memcached('incr hits 5\r\n')).toBe('15\r\n');
    // Created over HTTP as JSON (flags 2): a number there, digits here.
    expect(await memcached('get hits\r\n')).toBe('VALUE hits 2 2\r\n15\r\nEND\r\n');
    expect(await httpCount('hits', 'decr', '?delta=6')).toBe(9);
    expect(await memcached('get hits\r\n')).toBe('VALUE hits 2 2\r\n9 \r\nEND\r\n');
    const read = await http('/v1/keys/hits');
    expect(await read.json()).toBe(9);
  });

  test('memcached incr, then HTTP incr, then memcached get agree', async () => {
    expect(await memcached('set views 0 0 2\r\n98\r\n')).toBe('STORED\r\n');
    expect(await memcached('incr views 1\r\n')).toBe('99\r\n');
    expect(await httpCount('views', 'incr')).toBe(100);
    expect(await memcached('get views\r\n')).toBe('VALUE views 0 3\r\n100\r\nEND\r\n');
    expect(await memcached('decr views 91\r\n')).toBe('9\r\n');
    expect(await httpCount('views', 'incr', '?delta=1')).toBe(10);
    expect(await memcached('get views\r\n')).toBe('VALUE views 0 3\r\n10 \r\nEND\r\n');
  });

  test('both doors keep the remaining TTL', async () => {
    expect(await memcached('set ttl 0 100 1\r\n5\r\n')).toBe('STORED\r\n');
    expect(await httpCount('ttl', 'incr')).toBe(6);
    expect(await memcached('incr ttl 1\r\n')).toBe('7\r\n');
    const meta = await memcached('mg ttl t v\r\n');
    const ttl = Number(/ t(-?\d+)/.exec(meta)?.[1]);
    expect(ttl).toBeGreaterThan(90);
    expect(ttl).toBeLessThanOrEqual(100);
    const read = await http('/v1/keys/ttl');
    expect(Number(read.headers.get('dcache-ttl'))).toBeGreaterThan(90_000);
  });

  test.each([
    ['incr', (key: string) => `incr ${key} 1\r\n`, '11\r\n'],
    ['ma', (key: string) => `ma ${key} v\r\n`, 'VA 2\r\n11\r\n'],
  ])(
    'a memcached %s is a count, not a write: an ordered incr issued after the set and delivered after it still counts',
    async (door, command, answer) => {
      const key = `counted-${door}`;
      const at = stampAt(Date.now() + 1);
      await batch([['set', key, new TextEncoder().encode('10'), 0, null, null, at]]);
      expect(await memcached(command(key))).toBe(answer);
      // Issued at at + 1, after the set and before the memcached count (stamped by the node above
      // the set), delivered after it (its replica paused): a replica it reached first counted it,
      // so here it counts too: answered as a count (no fourth element), not superseded.
      const [late] = await batch([['incr', key, 1, null, null, at + 1, true]]);
      expect(late).toHaveLength(3);
      expect(late![1]).toBe(12);
      // The set still bounds it: an incr issued before the set counts nothing.
      const [beforeSet] = await batch([['incr', key, 1, null, null, at - 1, true]]);
      expect(beforeSet).toEqual([200, 12, late![2], true]);
    },
  );
});
