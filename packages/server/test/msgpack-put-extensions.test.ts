import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliNode } from './cli-node.js';
import { startCliNode, stopCliNodes } from './cli-node.js';

/**
 * A PUT of `application/msgpack` stores any valid msgpack (docs/wire-protocol.md: only "a body
 * that is not what its type says is a 400 bad_body"): an extension type is a value like any other
 * — other languages' msgpack clients register their own — whether or not msgpackr has a decoder
 * for it. msgpackr's own formats (@dcache/client's objects are records) are still taken.
 */
let node: CliNode;
beforeAll(async () => {
  node = await startCliNode(['--log-level', 'silent']);
});
afterAll(() => stopCliNodes());

const put = (key: string, body: Uint8Array): Promise<Response> =>
  fetch(`${node.url}/v1/keys/${key}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/msgpack' },
    body,
  });

describe('PUT application/msgpack: extension types', () => {
  it.each([
    ['a fixext 1 of an application type', [0xd4, 0x01, 0x2a]],
    ['an ext 8 inside an array', [0x92, 0x01, 0xc7, 0x02, 0x05, 0xab, 0xcd]],
    ['a fixext 4 as a map value', [0x81, 0xa1, 0x61, 0xd6, 0x10, 1, 2, 3, 4]],
  ])('stores %s as is (valid msgpack), and serves the same bytes', async (_name, raw) => {
    const bytes = new Uint8Array(raw);
    const stored = await put('ext', bytes);
    expect(stored.status).toBe(204);
    const got = await fetch(`${node.url}/v1/keys/ext`, {
      headers: { accept: 'application/msgpack' },
    });
    expect(got.status).toBe(200);
    expect(got.headers.get('dcache-flags')).toBe('256');
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(bytes);
    // JSON has no form for an extension: a 406, as for msgpackr's own.
    const asJson = await fetch(`${node.url}/v1/keys/ext`, {
      headers: { accept: 'application/json' },
    });
    expect(asJson.status).toBe(406);
  });

  it('still stores what @dcache/client writes for an object (a msgpackr record), served as is', async () => {
    // { a: 1 } as msgpackr records write it: fixext 1 (0x72, slot 0x40), its keys ['a'], then 1.
    const record = new Uint8Array([0xd4, 0x72, 0x40, 0x91, 0xa1, 0x61, 0x01]);
    expect((await put('record', record)).status).toBe(204);
    const got = await fetch(`${node.url}/v1/keys/record`, {
      headers: { accept: 'application/msgpack' },
    });
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(record);
  });

  it('still refuses what is not msgpack: a body that ends inside its value, or holds 0xc1', async () => {
    for (const raw of [
      [0x92, 0x01],
      [0xd4, 0x01],
      [0x91, 0xc1],
      [0x01, 0x02],
    ]) {
      const refused = await put('bad', new Uint8Array(raw));
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('bad_body');
    }
  });
});
