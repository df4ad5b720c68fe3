import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { createApp } from '../src/index.js';
import { scanItems } from '../src/http/codec/msgpack-items.js';
import { MAX_NESTING } from '../src/http/codec/nesting.js';
import { errorOf } from './helpers.js';

type App = ReturnType<typeof createApp>;

const codec = new Packr({ useRecords: false });

/** `levels` arrays, one inside the other, around a 1. */
function nestedMsgpack(levels: number): Uint8Array {
  const body = new Uint8Array(levels + 1).fill(0x91);
  body[levels] = 0x01;
  return body;
}

const nestedJson = (levels: number): string => `${'['.repeat(levels)}1${']'.repeat(levels)}`;

async function put(
  app: App,
  key: string,
  type: string,
  body: Uint8Array | string,
): Promise<Response> {
  return await app.request(`/v1/keys/${key}`, {
    method: 'PUT',
    body,
    headers: { 'content-type': type },
  });
}

describe(`values nested deeper than ${MAX_NESTING} levels`, () => {
  it('msgpack: the limit itself is stored and converts to JSON; one more is 400 too_deep', async () => {
    const app = createApp();
    expect((await put(app, 'ok', 'application/msgpack', nestedMsgpack(MAX_NESTING))).status).toBe(
      204,
    );
    const json = await app.request('/v1/keys/ok', { headers: { accept: 'application/json' } });
    expect(await json.text()).toBe(nestedJson(MAX_NESTING));
    const res = await put(app, 'deep', 'application/msgpack', nestedMsgpack(MAX_NESTING + 1));
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe('too_deep');
    expect(error.message).toContain(`deeper than ${MAX_NESTING} levels`);
  });

  it('msgpack: far deeper (where the decoder would overflow its stack) is still too_deep', async () => {
    const res = await put(createApp(), 'deep', 'application/msgpack', nestedMsgpack(200_000));
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('too_deep');
  });

  it('msgpack: maps count as levels, and extensions are skipped, not refused', async () => {
    let value: unknown = new Date(0); // msgpackr writes a timestamp extension
    for (let i = 0; i < MAX_NESTING; i++) value = { a: value };
    const app = createApp();
    expect((await put(app, 'maps', 'application/msgpack', codec.pack(value))).status).toBe(204);
    const deeper = await put(app, 'maps', 'application/msgpack', codec.pack({ b: value }));
    expect((await errorOf(deeper)).code).toBe('too_deep');
  });

  it('JSON: the limit itself is stored and converts to msgpack; one more is 400 too_deep', async () => {
    const app = createApp();
    expect((await put(app, 'ok', 'application/json', nestedJson(MAX_NESTING))).status).toBe(204);
    const packed = await app.request('/v1/keys/ok', { headers: { accept: 'application/msgpack' } });
    expect(new Uint8Array(await packed.arrayBuffer())).toEqual(nestedMsgpack(MAX_NESTING));
    const res = await put(app, 'deep', 'application/json', nestedJson(MAX_NESTING + 1));
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatchObject({ code: 'too_deep' });
  });

  it('invalid bodies are still bad_body, not too_deep', async () => {
    const app = createApp();
    expect((await errorOf(await put(app, 'k', 'application/json', '[1,'))).code).toBe('bad_body');
    const truncated = new Uint8Array([0x92, 0x01]);
    expect((await errorOf(await put(app, 'k', 'application/msgpack', truncated))).code).toBe(
      'bad_body',
    );
  });
});

describe('scanItems maxDepth', () => {
  it.each<[string, number[], number, string]>([
    ['a scalar is depth 0', [0x01], 0, 'ok'],
    ['[1] is depth 1', [0x91, 0x01], 0, 'too_deep'],
    ['[1] within 1', [0x91, 0x01], 1, 'ok'],
    ['an empty array inside one counts as a level', [0x91, 0x90], 1, 'too_deep'],
    ['siblings do not add up', [0x93, 0x91, 0x01, 0x91, 0x02, 0x90], 2, 'ok'],
    ['a map value one level down', [0x81, 0xa1, 0x61, 0x91, 0x01], 1, 'too_deep'],
    ['array 16 and map 32 headers', [0xdc, 0x00, 0x01, 0xdf, 0, 0, 0, 1, 0x01, 0x02], 2, 'ok'],
    ['a timestamp extension skipped', [0x92, 0xd6, 0xff, 0, 0, 0, 0, 0x91, 0x01], 2, 'ok'],
    ['an ext 8 skipped by its length', [0x92, 0xc7, 0x02, 0x05, 0x91, 0x91, 0x01], 1, 'ok'],
  ])('%s', (_name, bytes, maxDepth, verdict) => {
    expect(scanItems(new Uint8Array(bytes), Infinity, { maxDepth, extensions: 'skip' })).toBe(
      verdict,
    );
  });
});
