import { pack, unpack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from './cli-node.js';
import type { CliNode } from './cli-node.js';

/**
 * A web page can POST to any node it can name without a CORS preflight (a `text/plain` body), and
 * a node started with the CLI's defaults has no token. Such a request carries `Origin` (or
 * `Sec-Fetch-Site`): the node refuses it, through Node's server and the batch lane alike, and
 * changes nothing. Programs send neither header.
 */

let node: CliNode;
beforeAll(async () => {
  node = await startCliNode(['--log-level', 'silent']);
});
afterAll(() => stopCliNodes());

async function put(key: string, body: string): Promise<void> {
  const res = await fetch(`${node.url}/v1/keys/${key}`, {
    method: 'PUT',
    headers: { 'content-type': 'text/plain' },
    body,
  });
  expect(res.status).toBe(204);
}

async function read(key: string): Promise<string | undefined> {
  const res = await fetch(`${node.url}/v1/keys/${key}`);
  return res.status === 200 ? res.text() : undefined;
}

describe('changes sent by a web page', () => {
  it.each([
    ['Origin', { origin: 'http://evil.example' }],
    ['Origin: null (a sandboxed page, a file)', { origin: 'null' }],
    ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site: same-site', { 'sec-fetch-site': 'same-site' }],
  ])('a flush with %s is refused with 403 and flushes nothing', async (_name, headers) => {
    await put('kept', 'v');
    const res = await fetch(`${node.url}/v1/flush`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', ...headers },
      body: 'x',
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: 'browser_refused' } });
    expect(await read('kept')).toBe('v');
  });

  it('an incr and a batch with Origin are refused; the batch lane does not take it', async () => {
    await put('count', '5');
    const incr = await fetch(`${node.url}/v1/keys/count/incr`, {
      method: 'POST',
      headers: { origin: 'http://evil.example' },
    });
    expect(incr.status).toBe(403);
    const batch = await fetch(`${node.url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/msgpack', origin: 'http://evil.example' },
      body: pack([['delete', 'count']]),
    });
    expect(batch.status).toBe(403);
    expect(await read('count')).toBe('5');
  });

  it('a get-and-touch (GET or HEAD with ?ttl=) from a web page is refused and touches nothing', async () => {
    // An <img src> of another site's page sends this GET without a preflight: ttl=1 would expire
    // the key within a second.
    await put('touched', 'v');
    for (const method of ['GET', 'HEAD']) {
      const res = await fetch(`${node.url}/v1/keys/touched?ttl=1`, {
        method,
        headers: { 'sec-fetch-site': 'cross-site' },
      });
      expect(res.status).toBe(403);
    }
    const res = await fetch(`${node.url}/v1/keys/touched`);
    expect(res.status).toBe(200);
    expect(res.headers.get('dcache-ttl')).toBeNull();
    // A program's get-and-touch is served.
    const touched = await fetch(`${node.url}/v1/keys/touched?ttl=60000`);
    expect(touched.status).toBe(200);
    expect(touched.headers.get('dcache-ttl')).toBe('60000');
  });

  it('programs (no Origin), a typed-in URL (Sec-Fetch-Site: none) and reads with Origin are served', async () => {
    await put('k', 'v');
    const withOrigin = await fetch(`${node.url}/v1/keys/k`, {
      headers: { origin: 'http://evil.example' },
    });
    expect(withOrigin.status).toBe(200);
    // No CORS headers: a page from another origin cannot read the answer.
    expect(withOrigin.headers.get('access-control-allow-origin')).toBeNull();
    const batch = await fetch(`${node.url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/msgpack' },
      body: pack([['get', 'k']]),
    });
    expect(batch.status).toBe(200);
    const [hit] = unpack(new Uint8Array(await batch.arrayBuffer())) as unknown[][];
    expect(hit![0]).toBe(200);
    const typedIn = await fetch(`${node.url}/v1/flush`, {
      method: 'POST',
      headers: { 'sec-fetch-site': 'none' },
    });
    expect(typedIn.status).toBe(204);
    expect(await read('k')).toBeUndefined();
  });
});
