import { request } from 'node:http';
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
});
