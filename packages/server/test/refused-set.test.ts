import { pack, unpack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from './cli-node.js';
import type { CliNode } from './cli-node.js';
import { RawClient } from './memcached/helpers.js';

/**
 * A set refused as too large drops the value it was to replace, as memcached's `set` does (and
 * lru-cache's): an application that updates its database and then sets the cache must not have
 * readers go on getting the old value because the new one did not fit. A conditional write
 * (If-Match, add, replace, CAS) that is refused changes nothing, as in memcached. Against nodes
 * started through the CLI.
 */

let node: CliNode;
/** A node whose memory is smaller than its largest value: the core refuses what the door let in. */
let small: CliNode;
const MAX_VALUE = 1024;

beforeAll(async () => {
  [node, small] = await Promise.all([
    startCliNode(['--log-level', 'silent', '--max-value-bytes', String(MAX_VALUE)]),
    startCliNode([
      ...['--log-level', 'silent', '--max-memory', '1mb', '--max-value-bytes', '2mb'],
      ...['--memcached-port', '0'],
    ]),
  ]);
}, 30_000);
afterAll(() => stopCliNodes());

const text = (s: string) => new TextEncoder().encode(s);

function put(at: CliNode, key: string, body: string, headers: Record<string, string> = {}) {
  return fetch(`${at.url}/v1/keys/${key}`, {
    method: 'PUT',
    headers: { 'content-type': 'text/plain', ...headers },
    body,
    signal: AbortSignal.timeout(10_000),
  });
}

async function read(at: CliNode, key: string): Promise<string | number> {
  const response = await fetch(`${at.url}/v1/keys/${key}`, { signal: AbortSignal.timeout(5000) });
  return response.status === 200 ? await response.text() : response.status;
}

async function batch(ops: unknown[]): Promise<unknown[]> {
  const response = await fetch(`${node.url}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/msgpack' },
    body: pack(ops),
    signal: AbortSignal.timeout(5000),
  });
  expect(response.status).toBe(200);
  return unpack(new Uint8Array(await response.arrayBuffer())) as unknown[];
}

describe('a set refused as larger than --max-value-bytes', () => {
  it('PUT: 413, and the old value is gone; other keys stay', async () => {
    expect((await put(node, 'put-old', 'old')).status).toBe(204);
    expect((await put(node, 'put-other', 'kept')).status).toBe(204);
    const refused = await put(node, 'put-old', 'x'.repeat(MAX_VALUE + 1));
    expect(refused.status).toBe(413);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('too_large');
    expect(await read(node, 'put-old')).toBe(404);
    expect(await read(node, 'put-other')).toBe('kept');
  });

  it('PUT with If-Match: 413, and the value stays', async () => {
    const stored = await put(node, 'put-cond', 'old');
    const etag = stored.headers.get('etag')!;
    const refused = await put(node, 'put-cond', 'x'.repeat(MAX_VALUE + 1), { 'if-match': etag });
    expect(refused.status).toBe(413);
    expect(await read(node, 'put-cond')).toBe('old');
  });

  it('batch set: 413, and a tombstone just below the set stamp takes the old value, so an older copy loses', async () => {
    const [, old] = await batch([['set', 'b-old', text('old')]]).then((r) => r[0] as unknown[]);
    expect(typeof old).toBe('number');
    const [firstGet] = (await batch([['get', 'b-old']])) as unknown[][];
    const oldStamp = firstGet![5] as number;
    const stamp = oldStamp + 1000;
    const [refused] = (await batch([
      ['set', 'b-old', new Uint8Array(MAX_VALUE + 1), 0, null, null, stamp],
    ])) as unknown[][];
    expect(refused![0]).toBe(413);
    expect(refused![1]).toBe('too_large');
    const [miss] = (await batch([['get', 'b-old']])) as unknown[][];
    expect(miss![0]).toBe(404);
    // Just below the set's own stamp: see the copy of the write itself below.
    expect(miss![1]).toBe(stamp - 1);
    // A read repair (a copy) of the old value from another replica does not bring it back…
    const [copy] = (await batch([
      ['copy', 'b-old', text('old'), 0, 0, oldStamp, 'repair'],
    ])) as unknown[][];
    expect(copy![0]).toBe(412);
    expect(await read(node, 'b-old')).toBe(404);
    // …while the refused write itself, which a replica with more room stored, is taken.
    const [same] = (await batch([
      ['copy', 'b-old', text('stand-in for the write'), 0, 0, stamp, 'repair'],
    ])) as unknown[][];
    expect(same![0]).toBe(204);
  });

  it('batch add, replace and CAS: 413, and the value stays', async () => {
    await batch([['set', 'b-cond', text('old')]]);
    const [entry] = (await batch([['get', 'b-cond']])) as unknown[][];
    const version = entry![3] as number;
    const big = new Uint8Array(MAX_VALUE + 1);
    const answers = (await batch([
      ['set', 'b-cond', big, 0, null, 'replace'],
      ['set', 'b-cond', big, 0, null, version],
      ['set', 'b-cond', big, 0, null, 'add'],
    ])) as unknown[][];
    expect(answers.map((answer) => answer[0])).toEqual([413, 413, 413]);
    expect(await read(node, 'b-cond')).toBe('old');
  });
});

describe('a set the node refuses as larger than its memory', () => {
  // 1.5 MiB: within --max-value-bytes 2mb, more than the whole 1 MiB cache.
  const huge = 'x'.repeat(1.5 * 1024 * 1024);

  it('PUT: 413, and the old value is gone', async () => {
    expect((await put(small, 'm-old', 'old')).status).toBe(204);
    expect((await put(small, 'm-other', 'kept')).status).toBe(204);
    const refused = await put(small, 'm-old', huge);
    expect(refused.status).toBe(413);
    expect(await read(small, 'm-old')).toBe(404);
    expect(await read(small, 'm-other')).toBe('kept');
  });

  it('PUT with If-Match: 413, and the value stays', async () => {
    const stored = await put(small, 'm-cond', 'old');
    const refused = await put(small, 'm-cond', huge, { 'if-match': stored.headers.get('etag')! });
    expect(refused.status).toBe(413);
    expect(await read(small, 'm-cond')).toBe('old');
  });

  it('memcached: a set drops the old value; ms I with an older CAS keeps it', async () => {
    const client = new RawClient(small.memcached!.port);
    await client.ready();
    try {
      const bytes = huge.length;
      expect(await client.request('set mc-old 0 0 3\r\nold\r\n')).toBe('STORED\r\n');
      expect(await client.request(`set mc-old 0 0 ${bytes}\r\n${huge}\r\n`)).toBe(
        'SERVER_ERROR object too large for cache\r\n',
      );
      expect(await client.request('get mc-old\r\n')).toBe('END\r\n');

      expect(await client.request('set mc-cas 0 0 3\r\nold\r\n')).toBe('STORED\r\n');
      const cas = Number(
        /VALUE mc-cas 0 3 (\d+)/.exec(await client.request('gets mc-cas\r\n'))![1],
      );
      const stale = await client.request(`ms mc-cas ${bytes} I C${cas - 1}\r\n${huge}\r\n`);
      expect(stale).toMatch(/^SERVER_ERROR /);
      expect(await client.request('get mc-cas\r\n')).toBe('VALUE mc-cas 0 3\r\nold\r\nEND\r\n');
    } finally {
      client.close();
    }
  });
});
