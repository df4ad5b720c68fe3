import { pack, unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { createApp } from '../src/index.js';
import { errorOf } from './helpers.js';

type App = ReturnType<typeof createApp>;

async function store(app: App, key: string, type: string | undefined, body: Uint8Array | string) {
  const res = await app.request(`/v1/keys/${key}`, {
    method: 'PUT',
    body,
    headers: type ? { 'content-type': type } : {},
  });
  expect(res.status).toBe(204);
}

async function read(app: App, key: string, accept: string) {
  const res = await app.request(`/v1/keys/${key}`, { headers: { accept } });
  return { res, bytes: new Uint8Array(await res.arrayBuffer()) };
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('content negotiation', () => {
  it.each([
    ['application/msgpack', 'application/msgpack', 256],
    ['application/x-msgpack', 'application/msgpack', 256],
    ['application/json', 'application/json', 2],
    ['application/json; charset=utf-8', 'application/json', 2],
    ['text/plain', 'text/plain; charset=utf-8', 16],
    ['TEXT/PLAIN; charset=UTF-8', 'text/plain; charset=utf-8', 16],
    ['text/plain; Charset="utf-8"', 'text/plain; charset=utf-8', 16],
    // Only a parameter named charset names the charset: not one ending so, not one inside a quote.
    ['text/plain; format=flowed; x-charset=latin1', 'text/plain; charset=utf-8', 16],
    ['application/json; profile="urn:a;charset=latin1"', 'application/json', 2],
    ['application/octet-stream', 'application/octet-stream', 0],
  ])('stores %s with its flags and serves it back as %s', async (type, served, flags) => {
    const app = createApp();
    const body = type.includes('msgpack')
      ? pack({ a: 1 })
      : type.includes('json')
        ? '{"a":1}'
        : 'hi';
    await store(app, 'k', type, body);
    const res = await app.request('/v1/keys/k');
    expect(res.headers.get('content-type')).toBe(served);
    expect(res.headers.get('dcache-flags')).toBe(`${flags}`);
  });

  it('serves msgpack as JSON and JSON as msgpack', async () => {
    const app = createApp();
    const value = { name: 'ada', tags: ['x', 'y'], n: 1.5, ok: true, none: null };
    await store(app, 'mp', 'application/msgpack', pack(value));
    const asJson = await read(app, 'mp', 'application/json');
    expect(asJson.res.headers.get('content-type')).toBe('application/json');
    expect(JSON.parse(text(asJson.bytes))).toEqual(value);

    await store(app, 'js', 'application/json', JSON.stringify(value));
    const asMsgpack = await read(app, 'js', 'application/msgpack');
    expect(asMsgpack.res.headers.get('content-type')).toBe('application/msgpack');
    expect(unpack(asMsgpack.bytes)).toEqual(value);
  });

  it('serves a string as text or JSON, from any of the three encodings', async () => {
    const app = createApp();
    await store(app, 't', 'text/plain', 'héllo');
    await store(app, 'j', 'application/json', '"héllo"');
    await store(app, 'm', 'application/msgpack', pack('héllo'));
    for (const key of ['t', 'j', 'm']) {
      expect(text((await read(app, key, 'text/plain')).bytes)).toBe('héllo');
      expect(text((await read(app, key, 'application/json')).bytes)).toBe('"héllo"');
      expect(unpack((await read(app, key, 'application/msgpack')).bytes)).toBe('héllo');
    }
  });

  it('keeps 64-bit integers exact from msgpack to JSON', async () => {
    const app = createApp();
    await store(app, 'big', 'application/msgpack', pack(2n ** 63n + 5n));
    expect(text((await read(app, 'big', 'application/json')).bytes)).toBe('9223372036854775813');
  });

  it('follows q-values and wildcards, preferring the stored encoding on ties', async () => {
    const app = createApp();
    await store(app, 'k', 'application/json', '{"a":1}');
    const cases: [accept: string, expected: string | 406][] = [
      ['application/msgpack, application/json', 'application/json'],
      ['application/json;q=0.5, application/msgpack', 'application/msgpack'],
      ['application/*', 'application/json'],
      ['*/*;q=0.1, application/msgpack', 'application/msgpack'],
      // {"a":1} is not a string, so text is impossible, and JSON is explicitly refused
      ['text/*, application/json;q=0', 406],
    ];
    for (const [accept, expected] of cases) {
      const { res } = await read(app, 'k', accept);
      if (expected === 406) expect(res.status, accept).toBe(406);
      else expect(res.headers.get('content-type'), accept).toBe(expected);
    }
  });

  it('answers 406 when the value cannot take the asked form', async () => {
    const app = createApp();
    await store(app, 'raw', undefined, new Uint8Array([1, 2, 3]));
    await store(app, 'num', 'application/json', '42');
    await store(app, 'bin', 'application/msgpack', pack(new Uint8Array([1, 2])));
    await store(app, 'intkeys', 'application/msgpack', pack(new Map([[1, 'a']])));
    for (const [key, accept] of [
      ['raw', 'application/json'],
      ['raw', 'text/plain'],
      ['num', 'text/plain'],
      ['bin', 'application/json'],
      ['intkeys', 'application/json'],
    ] as const) {
      const { res, bytes } = await read(app, key, accept);
      expect(res.status, `${key} as ${accept}`).toBe(406);
      const { error } = JSON.parse(text(bytes)) as { error: { code: string; message: string } };
      expect(error.code).toBe('not_acceptable');
      // msgpack asked for as JSON names the usual cause and the client option that avoids it.
      expect(/valueEncoding: 'json'/.test(error.message), `${key} as ${accept}`).toBe(
        key === 'bin' || key === 'intkeys',
      );
    }
  });

  it('always serves the stored bytes as application/octet-stream', async () => {
    const app = createApp();
    await store(app, 'j', 'application/json', '{"a":1}');
    const { res, bytes } = await read(app, 'j', 'application/octet-stream');
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(text(bytes)).toBe('{"a":1}');
  });

  it.each([
    ['application/json', '{"a":'],
    ['application/msgpack', new Uint8Array([0xc1])],
    ['text/plain', new Uint8Array([0xff, 0xfe, 0x80])],
  ])('refuses a body that is not valid %s with 400', async (type, body) => {
    const app = createApp();
    const res = await app.request('/v1/keys/k', {
      method: 'PUT',
      body,
      headers: { 'content-type': type },
    });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('bad_body');
    expect((await app.request('/v1/keys/k')).status).toBe(404);
  });

  it.each([
    'image/png',
    'application/xml',
    'text/plain; charset=latin1',
    'text/plain; format=flowed; CHARSET = "ISO-8859-1"',
    'application/json; profile="a;b"; charset=utf-16',
  ])('refuses Content-Type %s with 415 naming the types that work', async (type) => {
    const app = createApp();
    const res = await app.request('/v1/keys/k', {
      method: 'PUT',
      body: 'x',
      headers: { 'content-type': type },
    });
    expect(res.status).toBe(415);
    const error = await errorOf(res);
    expect(error.code).toBe('unsupported_media_type');
    expect(error.message).toMatch(/application\/msgpack|utf-8/);
  });
});
