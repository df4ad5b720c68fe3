import { afterEach, describe, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from '../cli-node.js';
import { destroySockets, rawClient, rssBound, rssSampler, sleep } from './http-sockets.js';
import type { RawClient } from './http-sockets.js';

afterEach(async () => {
  destroySockets();
  await stopCliNodes();
});

describe('slowloris on the HTTP door', () => {
  it('drops 100 connections trickling their headers at the headers timeout and serves others meanwhile', async () => {
    const headersTimeout = 1500;
    const node = await startCliNode([
      '--headers-timeout',
      `${headersTimeout}`,
      '--request-timeout',
      '3000',
      '--log-level',
      'warn',
    ]);
    const rss = rssSampler(node);
    const { host } = new URL(node.url);
    const trickling: RawClient[] = [];
    for (let i = 0; i < 100; i++) {
      const client = await rawClient(node);
      client.socket.write(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\n`);
      trickling.push(client);
    }
    const started = performance.now();
    let served = 0;
    // One header line every 100 ms per connection: each keeps sending, never finishing.
    for (let round = 0; round < 60 && trickling.some((c) => !c.socket.destroyed); round++) {
      for (const client of trickling) {
        if (!client.socket.destroyed) client.socket.write(`X-Slow-${round}: still here\r\n`);
      }
      if (round % 5 === 0) {
        const res = await fetch(`${node.url}/healthz`);
        if (res.status === 200) served++;
      }
      await sleep(100);
    }
    await Promise.all(trickling.map((c) => c.closed));
    const elapsed = performance.now() - started;
    // Dropped at the timeout (checked every quarter of it), not after Node's 60 s default.
    expect(elapsed).toBeLessThan(headersTimeout + 2000);
    expect(served).toBeGreaterThan(0);
    // Told why when the socket could still take it: a 408 in the one JSON error shape.
    const answered = trickling.filter((c) => c.received().startsWith('HTTP/1.1 408'));
    expect(answered.length).toBeGreaterThan(0);
    expect(answered[0]!.received()).toContain('"error":{"code":"bad_request"');
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
    expect(rss.stop()).toBeLessThan(rssBound());
    expect(node.child.exitCode).toBeNull();
  });

  it('drops a body sent a byte at a time at the request timeout', async () => {
    const requestTimeout = 2000;
    const node = await startCliNode([
      '--headers-timeout',
      '1000',
      '--request-timeout',
      `${requestTimeout}`,
      '--log-level',
      'warn',
    ]);
    const { host } = new URL(node.url);
    const client = await rawClient(node);
    client.socket.write(
      `PUT /v1/keys/slow HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 1000\r\n\r\n`,
    );
    const started = performance.now();
    for (let i = 0; i < 100 && !client.socket.destroyed; i++) {
      client.socket.write('x');
      await sleep(50);
    }
    await client.closed;
    expect(performance.now() - started).toBeLessThan(requestTimeout + 1500);
    expect((await fetch(`${node.url}/v1/keys/slow`)).status).toBe(404);
  });
});
