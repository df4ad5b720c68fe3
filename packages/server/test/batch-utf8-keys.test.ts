import { pack, unpack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from './cli-node.js';
import type { CliNode } from './cli-node.js';

/**
 * Keys are Unicode text and travel in a batch as msgpack str, which must be UTF-8. msgpackr
 * decodes bytes that are not (a lone surrogate as WTF-8, say) to U+FFFD, so before they were
 * refused, '\ud800' and '\udbff' were one key on the node, each overwriting the other.
 */

let node: CliNode;
beforeAll(async () => {
  node = await startCliNode(['--log-level', 'silent']);
});
afterAll(() => stopCliNodes());

function post(body: Uint8Array): Promise<Response> {
  return fetch(`${node.url}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/msgpack' },
    body,
    signal: AbortSignal.timeout(5000),
  });
}

const text = (s: string) => new TextEncoder().encode(s);
const REPLACED = '\ufffd\ufffd\ufffd';

describe('batch keys that are not UTF-8', () => {
  it('are refused with 400 bad_batch, and nothing in the batch is done', async () => {
    const ok = await post(pack([['set', REPLACED, text('three replacement characters')]]));
    expect(ok.status).toBe(200);
    // msgpackr writes a lone surrogate as its 3-byte WTF-8 form (ed a0 80): not UTF-8.
    for (const key of ['\ud800', '\udbff', 'user:\udc00']) {
      const res = await post(
        pack([
          ['set', 'fine', text('x')],
          ['set', key, text('overwrites?')],
        ]),
      );
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe('bad_batch');
      expect(error.message).toMatch(/not valid UTF-8/);
    }
    const read = await post(
      pack([
        ['get', REPLACED],
        ['get', 'fine'],
      ]),
    );
    const results = unpack(new Uint8Array(await read.arrayBuffer())) as unknown[][];
    expect(new TextDecoder().decode(results[0]![1] as Uint8Array)).toBe(
      'three replacement characters',
    );
    expect(results[1]![0]).toBe(404);
  });

  it('well-formed non-ASCII keys, astral characters included, stay distinct', async () => {
    const keys = ['clé', '键', '🦄', '🦄🦄', REPLACED];
    const set = await post(pack(keys.map((key) => ['set', key, text(`value of ${key}`)])));
    expect(set.status).toBe(200);
    const read = await post(pack(keys.map((key) => ['get', key])));
    const results = unpack(new Uint8Array(await read.arrayBuffer())) as unknown[][];
    expect(results.map((r) => new TextDecoder().decode(r[1] as Uint8Array))).toEqual(
      keys.map((key) => `value of ${key}`),
    );
    const url = await fetch(`${node.url}/v1/keys/${encodeURIComponent('🦄')}`);
    expect(await url.text()).toBe('value of 🦄');
  });
});
