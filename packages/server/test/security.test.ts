import { Packr, pack, unpack } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../src/index.js';
import { errorOf } from './helpers.js';

function batch(app: ReturnType<typeof createApp>, body: Uint8Array) {
  return app.request('/v1/batch', {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/msgpack' },
  });
}

function fixstr(text: string): number[] {
  const bytes = new TextEncoder().encode(text);
  return [0xa0 | bytes.length, ...bytes];
}

/** `{"__proto__": {"polluted": true}}` as msgpack (msgpackr never writes a __proto__ key itself). */
const POLLUTION = new Uint8Array([0x81, ...fixstr('__proto__'), 0x81, ...fixstr('polluted'), 0xc3]);

describe('hostile keys and payloads', () => {
  afterEach(() => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it.each(['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString'])(
    'treats key %s as an ordinary key',
    async (key) => {
      const app = createApp();
      expect((await app.request(`/v1/keys/${key}`)).status).toBe(404);
      const put = await app.request(`/v1/keys/${key}`, {
        method: 'PUT',
        body: 'v',
        headers: { 'content-type': 'text/plain' },
      });
      expect(put.status).toBe(204);
      expect(await (await app.request(`/v1/keys/${key}`)).text()).toBe('v');
      expect((await app.request('/v1/keys/other')).status).toBe(404);
      expect((await app.request(`/v1/keys/${key}`, { method: 'DELETE' })).status).toBe(204);
    },
  );

  it('stores a msgpack map with a __proto__ key and converts it to JSON exactly', async () => {
    const app = createApp();
    const res = await app.request('/v1/keys/evil', {
      method: 'PUT',
      body: POLLUTION,
      headers: { 'content-type': 'application/msgpack' },
    });
    expect(res.status).toBe(204);
    const json = await (
      await app.request('/v1/keys/evil', { headers: { accept: 'application/json' } })
    ).text();
    expect(json).toBe('{"__proto__":{"polluted":true}}');
    const parsed = JSON.parse(json) as Record<string, unknown>;
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
  });

  it('converts JSON with a __proto__ member to msgpack without touching prototypes', async () => {
    const app = createApp();
    await app.request('/v1/keys/j', {
      method: 'PUT',
      body: '{"__proto__":{"polluted":true},"a":1}',
      headers: { 'content-type': 'application/json' },
    });
    const res = await app.request('/v1/keys/j', { headers: { accept: 'application/msgpack' } });
    const decoded = new Packr({ mapsAsObjects: false, useRecords: false }).unpack(
      new Uint8Array(await res.arrayBuffer()),
    ) as Map<string, unknown>;
    expect([...decoded.keys()]).toEqual(['__proto__', 'a']);
  });

  it('a batch with __proto__ keys and maps neither pollutes nor reaches other entries', async () => {
    const app = createApp();
    await app.request('/v1/keys/victim', {
      method: 'PUT',
      body: 'safe',
      headers: { 'content-type': 'text/plain' },
    });
    const ops = pack([
      ['set', '__proto__', new Uint8Array([1]), 0, null, null],
      ['get', '__proto__'],
      ['get', 'constructor'],
      ['delete', 'toString'],
    ]);
    const results = unpack(
      new Uint8Array(await (await batch(app, ops)).arrayBuffer()),
    ) as unknown[][];
    expect(results[0]![0]).toBe(204);
    expect(results[1]![1]).toEqual(new Uint8Array([1]));
    expect(results[2]![0]).toBe(404);
    expect(results[3]![0]).toBe(404);
    // a map where an operation should be, and a map as a key
    const hostile = new Uint8Array([0x92, ...POLLUTION, 0x92, ...fixstr('get'), ...POLLUTION]);
    const res = await batch(app, hostile);
    expect(res.status).toBe(200);
    const out = unpack(new Uint8Array(await res.arrayBuffer())) as unknown[][];
    expect(out.map((r) => r[0])).toEqual([400, 400]);
    expect(await (await app.request('/v1/keys/victim')).text()).toBe('safe');
  });

  it.each([
    ['truncated', new Uint8Array([0x92, 0x01]), 'bad_batch'],
    ['trailing bytes', new Uint8Array([0x90, 0x01]), 'bad_batch'],
    ['unknown extension', new Uint8Array([0xc7, 0x01, 0x05, 0x00]), 'bad_batch'],
    [
      'huge declared array inside an operation',
      new Uint8Array([0x91, 0xdd, 0xff, 0xff, 0xff, 0xff]),
      'bad_batch',
    ],
    ['deep nesting', new Uint8Array(200_000).fill(0x91), 'too_deep'],
    ['not an array', pack({ ops: [] }), 'bad_batch'],
  ])('answers 400 to a malformed batch (%s) and keeps serving', async (_name, body, code) => {
    const app = createApp();
    const res = await batch(app, body);
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe(code);
    expect((await app.request('/healthz')).status).toBe(200);
  });
});
