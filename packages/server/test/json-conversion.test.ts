import { unpack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from './cli-node.js';
import type { CliNode } from './cli-node.js';

/**
 * JSON served as msgpack or text through a CLI node: converted only when the other encoding holds
 * the value as it is, otherwise a 406 — never a rounded number or a mangled string.
 */

let node: CliNode;
beforeAll(async () => {
  node = await startCliNode();
});
afterAll(() => stopCliNodes());

async function store(key: string, json: string): Promise<void> {
  const res = await fetch(`${node.url}/v1/keys/${key}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: json,
  });
  expect(res.status).toBe(204);
}

function read(key: string, accept: string): Promise<Response> {
  return fetch(`${node.url}/v1/keys/${key}`, { headers: { accept } });
}

describe('JSON converted to another encoding', () => {
  it.each([
    ['an integer past 64 bits no double equals', 'big', '12345678901234567890123'],
    ["a number past a double's range", 'huge', '1e400'],
    ['a negative one', 'tiny', '[-1e400]'],
  ])('%s is a 406 as msgpack, not a rounded number', async (_what, key, json) => {
    await store(key, json);
    const res = await read(key, 'application/msgpack');
    expect(res.status).toBe(406);
    expect((await read(key, 'application/json')).status).toBe(200); // its own form, as stored
  });

  it('a string with a lone surrogate is a 406 as msgpack and as text, not replacement characters', async () => {
    await store('lone', '"a\\ud800b"');
    expect((await read('lone', 'application/msgpack')).status).toBe(406);
    expect((await read('lone', 'text/plain')).status).toBe(406);
  });

  it('still converts what is exact: 64-bit integers, and large doubles as JavaScript writes them', async () => {
    await store('u64', '[18446744073709551615, -9223372036854776000, 100000000000000000000]');
    const res = await read('u64', 'application/msgpack');
    expect(res.status).toBe(200);
    const value = unpack(new Uint8Array(await res.arrayBuffer()), {
      int64AsType: 'bigint',
    } as never);
    expect(value).toEqual([18446744073709551615n, -(2 ** 63), 1e20]);
  });
});
