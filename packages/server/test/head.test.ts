import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from './cli-node.js';
import type { CliNode } from './cli-node.js';

/**
 * `HEAD /v1/keys/:key` answers as GET would, without the body (RFC 9110 §9.3.2): the same status
 * and header fields, Content-Length included — what a client asks HEAD for to learn a value's size
 * before fetching it. Node's http client is used because fetch hides a HEAD's Content-Length.
 */

const COMPARED = [
  'content-type',
  'content-length',
  'etag',
  'dcache-flags',
  'dcache-ttl',
  'vary',
] as const;

interface Answer {
  status: number;
  headers: Record<string, string | undefined>;
  body: number;
}

function send(url: string, method: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = 0;
      res.on('data', (chunk: Buffer) => (body += chunk.length));
      res.on('end', () => {
        const picked: Record<string, string | undefined> = {};
        for (const name of COMPARED) picked[name] = res.headers[name] as string | undefined;
        resolve({ status: res.statusCode ?? 0, headers: picked, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

let node: CliNode;
beforeAll(async () => {
  node = await startCliNode();
  const put = (key: string, type: string, body: string, query = '') =>
    fetch(`${node.url}/v1/keys/${key}${query}`, {
      method: 'PUT',
      headers: { 'content-type': type },
      body,
    });
  expect((await put('text', 'text/plain', 'héllo wörld')).status).toBe(204);
  expect((await put('json', 'application/json', '{"a":[1,2,3]}', '?ttl=0')).status).toBe(204);
  expect((await put('raw', 'application/octet-stream', 'x'.repeat(5000))).status).toBe(204);
  expect((await put('large', 'application/octet-stream', 'x'.repeat(1_000_000))).status).toBe(204);
});
afterAll(async () => {
  await stopCliNodes();
});

describe('HEAD /v1/keys/:key', () => {
  it.each([
    ['a text value', '/v1/keys/text', {}],
    ['a JSON value', '/v1/keys/json', {}],
    ['a raw value', '/v1/keys/raw', {}],
    ['a value in the stored type', '/v1/keys/json', { accept: 'application/json' }],
    ['a value converted for Accept', '/v1/keys/json', { accept: 'application/msgpack' }],
    ['a query string', '/v1/keys/text?x=1', {}],
  ])(
    'answers %s with the header fields GET sends, Content-Length included',
    async (_, path, headers: Record<string, string>) => {
      const get = await send(`${node.url}${path}`, 'GET', headers);
      const head = await send(`${node.url}${path}`, 'HEAD', headers);
      expect(get.status).toBe(200);
      expect(get.headers['content-length']).toBe(`${get.body}`);
      expect(head).toEqual({ ...get, body: 0 });
    },
  );

  it.each([
    ['a missing key (404)', '/v1/keys/missing', {}],
    ['a type it cannot convert to (406)', '/v1/keys/raw', { accept: 'application/json' }],
    ['an ETag that does not match (412)', '/v1/keys/text', { 'if-match': '"nope"' }],
  ])(
    'answers %s with the header fields of its GET error too',
    async (_, path, headers: Record<string, string>) => {
      const get = await send(`${node.url}${path}`, 'GET', headers);
      const head = await send(`${node.url}${path}`, 'HEAD', headers);
      expect(get.status).toBeGreaterThanOrEqual(400);
      expect(get.headers['content-length']).toBe(`${get.body}`);
      expect(head).toEqual({ ...get, body: 0 });
    },
  );
});

/** The statuses of `count` requests pipelined on one connection whose answers are read as they come. */
async function pipelined(path: string, method: string, count: number): Promise<number[]> {
  const { hostname, port } = new URL(node.url);
  const socket = connect(Number(port), hostname);
  const head = `${method} ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`;
  socket.write(head.repeat(count - 1) + head.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'));
  let received = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (received += chunk));
  await new Promise((resolve, reject) => {
    socket.on('close', resolve);
    socket.on('error', reject);
  });
  // HEAD answers have no body, and a refusal's JSON body holds no status line.
  return [...received.matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((match) => Number(match[1]));
}

describe('pipelined HEADs', () => {
  it("hold none of the value's bytes they do not send: no 503 for a client that reads", async () => {
    // 20 × 1 MB is five times a connection's share of the default maxInflightBodyBytes (64 MiB / 16).
    expect(await pipelined('/v1/keys/large', 'HEAD', 20)).toEqual(Array(20).fill(200));
  });
});
