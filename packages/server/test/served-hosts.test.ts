import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from './cli-node.js';
import type { CliNode } from './cli-node.js';
import { batchRequest, closeRawConnections, connectRaw, resultsOf } from './batch-lane/raw-http.js';
import type { RawAnswer } from './batch-lane/raw-http.js';

/**
 * DNS rebinding: a web page re-points its own name at 127.0.0.1 and then reads, as the same
 * origin, what a node on the visitor's machine answers — every key of a node without a token (the
 * CLI's default). The page's name arrives as `Host`. A node the CLI starts listens on loopback, so
 * it answers only IP addresses, `localhost` and names under domains no one can register publicly
 * (`.localhost`, `.test`, `.local`, `.home.arpa`, `.internal`), plus `--allowed-hosts`, through
 * every HTTP door: the GET fast path, the batch lane, the batch fast path and the hono routes.
 */

afterEach(() => closeRawConnections());
afterAll(() => stopCliNodes());

const SECRET = 'session-of-someone';

let node: CliNode;
let port: string;
beforeAll(async () => {
  node = await startCliNode(['--log-level', 'silent']);
  port = new URL(node.url).port;
  const res = await fetch(`${node.url}/v1/keys/secret`, { method: 'PUT', body: SECRET });
  expect(res.status).toBe(204);
});

const get = (path: string, host: string) =>
  Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`, 'latin1');

/** One request on a fresh raw connection, its answer. */
async function ask(url: string, request: Buffer): Promise<RawAnswer> {
  const connection = await connectRaw(url);
  connection.socket.write(request);
  const [answer] = await connection.answers(1);
  return answer!;
}

/** A batch answered by Node's server (the batch fast path): the lane hands the connection over first. */
async function batchAfterHandOff(url: string, host: string): Promise<RawAnswer> {
  const connection = await connectRaw(url);
  connection.socket.write(
    Buffer.concat([get('/healthz', `127.0.0.1:${port}`), batchRequest(host, [['get', 'secret']])]),
  );
  const [health, answer] = await connection.answers(2);
  expect(health!.status).toBe(200);
  return answer!;
}

async function laneBatches(): Promise<number> {
  const stats = (await (await fetch(`${node.url}/v1/stats`)).json()) as {
    batchLane: { batches: number };
  };
  return stats.batchLane.batches;
}

function expectRefused(answer: RawAnswer, name: string): void {
  expect(answer.status).toBe(403);
  const body = answer.body.toString();
  expect(body).not.toContain(SECRET);
  const { error } = JSON.parse(body) as { error: { code: string; message: string } };
  expect(error.code).toBe('host_refused');
  expect(error.message).toContain(JSON.stringify(name));
  expect(error.message).toContain('--allowed-hosts');
}

describe('a node on loopback (the CLI default)', () => {
  it.each(['rebound.example', 'rebound.example.', '127.0.0.1.nip.io', 'intranet'])(
    'answers a request for %s 403 host_refused through every door, and reads it nothing',
    async (name) => {
      const host = `${name}:${port}`;
      const shown = name.replace(/\.$/, '');
      expectRefused(await ask(node.url, get('/v1/keys/secret', host)), shown);
      expectRefused(await ask(node.url, get('/v1/stats', host)), shown);
      expectRefused(await ask(node.url, get('/v1/keys?limit=10', host)), shown);
      const lane = await laneBatches();
      expectRefused(await ask(node.url, batchRequest(host, [['get', 'secret']])), shown);
      expectRefused(await batchAfterHandOff(node.url, host), shown);
      // Neither batch was the lane's to answer.
      expect(await laneBatches()).toBe(lane);
    },
  );

  it('refuses an absolute-form target naming another host, whatever Host says or if none', async () => {
    // The request is for the host its target names (RFC 9112 §3.2.2), and the adapter routes it
    // without a Host: a 200 here would be a read for rebound.example.
    const target = `http://rebound.example:${port}/v1/keys/secret`;
    for (const request of [
      `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`,
      `GET ${target} HTTP/1.1\r\n\r\n`,
      `GET ${target} HTTP/1.0\r\n\r\n`,
    ]) {
      expectRefused(await ask(node.url, Buffer.from(request, 'latin1')), 'rebound.example');
    }
    const served = `GET http://127.0.0.1:${port}/v1/keys/secret HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`;
    const read = await ask(node.url, Buffer.from(served, 'latin1'));
    expect([read.status, read.body.toString()]).toEqual([200, SECRET]);
  });

  it.each([
    ['127.0.0.1 with its port', () => `127.0.0.1:${port}`],
    ['127.0.0.1 without', () => '127.0.0.1'],
    ['::1', () => `[::1]:${port}`],
    ['localhost', () => `localhost:${port}`],
    ['localhost. (a final dot)', () => `localhost.:${port}`],
    ['a name under .localhost', () => `app.localhost:${port}`],
    ['a name under .test (a test cluster)', () => `dcache-0.dcache.test:${port}`],
    [
      'a name under cluster.local (Kubernetes)',
      () => `dcache-0.dcache.ns.svc.cluster.local:${port}`,
    ],
    ['a name under .internal', () => `cache.internal:${port}`],
    ['a name under .home.arpa', () => `cache.home.arpa:${port}`],
  ])('serves %s through every door', async (_name, hostOf) => {
    const host = hostOf();
    const read = await ask(node.url, get('/v1/keys/secret', host));
    expect([read.status, read.body.toString()]).toEqual([200, SECRET]);
    const lane = await laneBatches();
    const batch = await ask(node.url, batchRequest(host, [['get', 'secret']]));
    expect(batch.status).toBe(200);
    expect(await laneBatches()).toBe(lane + 1);
    const handed = await batchAfterHandOff(node.url, host);
    expect(handed.status).toBe(200);
    expect((resultsOf(handed) as unknown[][])[0]![1]).toBe(SECRET);
    expect((await ask(node.url, get('/v1/stats', host))).status).toBe(200);
  });
});

describe('--allowed-hosts', () => {
  it('serves the names listed, and with a leading dot a domain and its subdomains', async () => {
    const listed = await startCliNode([
      '--log-level',
      'silent',
      '--allowed-hosts',
      'Cache.Corp.Example,.svc.example',
    ]);
    const at = new URL(listed.url).port;
    // Listed in capitals; a Host in capitals is the adapter's 400, whatever the list.
    for (const name of ['cache.corp.example', 'svc.example', 'dcache-0.dcache.svc.example']) {
      expect((await ask(listed.url, get('/healthz', `${name}:${at}`))).status).toBe(200);
    }
    for (const name of [
      'other.corp.example',
      'cache.corp.example.evil.example',
      'evilsvc.example',
    ]) {
      const answer = await ask(listed.url, get('/healthz', `${name}:${at}`));
      expect(answer.status).toBe(403);
      expect(answer.body.toString()).toContain('cache.corp.example, .svc.example');
    }
  });

  it('"*" serves any name', async () => {
    const any = await startCliNode(['--log-level', 'silent', '--allowed-hosts', '*']);
    const at = new URL(any.url).port;
    expect((await ask(any.url, get('/healthz', `rebound.example:${at}`))).status).toBe(200);
  });

  it('DCACHE_ALLOWED_HOSTS sets it too', async () => {
    const fromEnv = await startCliNode(['--log-level', 'silent'], {
      env: { DCACHE_ALLOWED_HOSTS: 'cache.corp.example' },
    });
    const at = new URL(fromEnv.url).port;
    expect((await ask(fromEnv.url, get('/healthz', `cache.corp.example:${at}`))).status).toBe(200);
    expect((await ask(fromEnv.url, get('/healthz', `rebound.example:${at}`))).status).toBe(403);
  });
});
