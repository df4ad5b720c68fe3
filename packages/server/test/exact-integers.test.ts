import { once } from 'node:events';
import { connect } from 'node:net';
import { Packr } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { CacheServer, createApp } from '../src/index.js';

type App = ReturnType<typeof createApp>;

/** Decodes 64-bit integers as BigInt, so a test sees exactly what the node sent. */
const exact = new Packr({ useRecords: false, mapsAsObjects: false, int64AsType: 'bigint' });
const batchCodec = new Packr({ useRecords: false, int64AsType: 'bigint' });

async function putJson(app: App, key: string, json: string): Promise<void> {
  const res = await app.request(`/v1/keys/${key}`, {
    method: 'PUT',
    body: json,
    headers: { 'content-type': 'application/json' },
  });
  expect(res.status).toBe(204);
}

async function read(app: App, key: string, accept: string): Promise<Uint8Array> {
  const res = await app.request(`/v1/keys/${key}`, { headers: { accept } });
  expect(res.status).toBe(200);
  return new Uint8Array(await res.arrayBuffer());
}

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('64-bit integers written as JSON', () => {
  it.each([
    ['2^64-1', '18446744073709551615', 'cfffffffffffffffff'],
    ['-2^63', '-9223372036854775808', 'd38000000000000000'],
    ['2^53+1', '9007199254740993', 'd30020000000000001'],
  ])('%s reads back exactly as msgpack (64-bit) and as JSON', async (_name, digits, msgpack) => {
    const app = createApp();
    await putJson(app, 'n', digits);
    expect(hex(await read(app, 'n', 'application/msgpack'))).toBe(msgpack);
    expect(exact.unpack(await read(app, 'n', 'application/msgpack'))).toBe(BigInt(digits));
    expect(text(await read(app, 'n', 'application/json'))).toBe(digits);
  });

  it('keeps them exact inside arrays and objects, through msgpack and back to JSON', async () => {
    const app = createApp();
    const json = '{"big":[18446744073709551615,-9223372036854775808,9007199254740993],"n":1.5}';
    await putJson(app, 'doc', json);
    const packed = await read(app, 'doc', 'application/msgpack');
    const decoded = exact.unpack(packed) as Map<string, unknown>;
    expect(decoded.get('big')).toEqual([
      18446744073709551615n,
      -9223372036854775808n,
      9007199254740993n,
    ]);
    expect(decoded.get('n')).toBe(1.5);
    // Stored as msgpack, served as JSON: the same digits.
    await app.request('/v1/keys/copy', {
      method: 'PUT',
      body: packed,
      headers: { 'content-type': 'application/msgpack' },
    });
    expect(text(await read(app, 'copy', 'application/json'))).toBe(json);
  });

  it('leaves integers past 64 bits to a double, as msgpack cannot hold them exactly', async () => {
    const app = createApp();
    await putJson(app, 'huge', '[18446744073709551616,1e3]');
    expect(exact.unpack(await read(app, 'huge', 'application/msgpack'))).toEqual([
      18446744073709551616, 1000,
    ]);
  });
});

describe('counters created by incr?initial=', () => {
  const servers: CacheServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  /** One memcached command on a fresh connection; resolves with the reply once it ends in `until`. */
  async function memcached(port: number, command: string, until = 'END\r\n'): Promise<string> {
    const socket = connect(port, '127.0.0.1');
    try {
      await once(socket, 'connect');
      socket.write(command);
      let reply = '';
      for await (const chunk of socket as AsyncIterable<Buffer>) {
        reply += chunk.toString('latin1');
        if (reply.endsWith(until)) break;
      }
      return reply;
    } finally {
      socket.destroy();
    }
  }

  const memcachedGet = (port: number, key: string): Promise<string> =>
    memcached(port, `get ${key}\r\n`);

  it('store ASCII decimal that reads back exactly through every door and encoding', async () => {
    const server = new CacheServer({ logLevel: 'silent', memcachedPort: 0, stallThreshold: 0 });
    servers.push(server);
    const address = await server.listen();
    const max = '18446744073709551615';
    const created = await fetch(`${address.url}/v1/keys/c/incr?initial=${max}`, {
      method: 'POST',
    });
    expect(await created.text()).toBe(max);
    // The bytes memcached's incr reads and writes, under JSON's flags (a decimal is a JSON number).
    expect(await memcachedGet(address.memcached!.port, 'c')).toBe(
      `VALUE c 2 ${max.length}\r\n${max}\r\nEND\r\n`,
    );
    const json = await fetch(`${address.url}/v1/keys/c`, {
      headers: { accept: 'application/json' },
    });
    expect(await json.text()).toBe(max);
    const msgpack = await fetch(`${address.url}/v1/keys/c`, {
      headers: { accept: 'application/msgpack' },
    });
    expect(exact.unpack(new Uint8Array(await msgpack.arrayBuffer()))).toBe(BigInt(max));
    const batch = await fetch(`${address.url}/v1/batch`, {
      method: 'POST',
      body: batchCodec.pack([['get', 'c']]),
      headers: { 'content-type': 'application/msgpack' },
    });
    const [[status, bytes]] = batchCodec.unpack(new Uint8Array(await batch.arrayBuffer())) as [
      [number, Uint8Array],
    ];
    expect(status).toBe(200);
    expect(Buffer.from(bytes).toString('latin1')).toBe(max);
    // Wrapped by an incr over HTTP, then read as msgpack: still exact.
    await fetch(`${address.url}/v1/keys/c/incr?delta=2`, { method: 'POST' });
    const wrapped = await fetch(`${address.url}/v1/keys/c`, {
      headers: { accept: 'application/msgpack' },
    });
    expect(exact.unpack(new Uint8Array(await wrapped.arrayBuffer()))).toBe(1);
  });

  it('2^53+1 created over HTTP reads back as an exact 64-bit msgpack integer', async () => {
    const app = createApp();
    const res = await app.request('/v1/keys/c/incr?initial=9007199254740993', { method: 'POST' });
    expect(await res.text()).toBe('9007199254740993');
    expect(exact.unpack(await read(app, 'c', 'application/msgpack'))).toBe(9007199254740993n);
  });

  it('decremented over the memcached port (which pads with spaces) still count over HTTP', async () => {
    const server = new CacheServer({ logLevel: 'silent', memcachedPort: 0, stallThreshold: 0 });
    servers.push(server);
    const address = await server.listen();
    const port = address.memcached!.port;
    await fetch(`${address.url}/v1/keys/c/incr?initial=100`, { method: 'POST' });
    expect(await memcached(port, 'decr c 1\r\n', '\r\n')).toBe('99\r\n');
    expect(await memcachedGet(port, 'c')).toBe('VALUE c 2 3\r\n99 \r\nEND\r\n');
    const json = await fetch(`${address.url}/v1/keys/c`, {
      headers: { accept: 'application/msgpack' },
    });
    expect(exact.unpack(new Uint8Array(await json.arrayBuffer()))).toBe(99);
    const incremented = await fetch(`${address.url}/v1/keys/c/incr`, { method: 'POST' });
    expect(await incremented.text()).toBe('100');
    expect(await memcached(port, 'incr c 1\r\n', '\r\n')).toBe('101\r\n');
  });
});
