import { afterEach, describe, expect, it, vi } from 'vitest';
import { startCliNode, stopCliNodes } from '../cli-node.js';
import { destroySockets, MiB, rawClient, rssBound, rssSampler } from './http-sockets.js';
import type { RawClient } from './http-sockets.js';

afterEach(async () => {
  destroySockets();
  await stopCliNodes();
});

describe('a stalled-body flood on the HTTP door', () => {
  it('40 connections declaring 16 MiB batches and stalling after 12 MiB: 503 beyond the budget, RSS bounded, dropped at the request timeout', async () => {
    const maxMemory = 16 * MiB;
    // Long enough for the whole flood to arrive on a busy machine, so every refusal is seen: a
    // body still unread when the timeout drops it gets no 503 (at load 16 on 2 cores, 10 s was
    // not enough for 40 × 12 MiB).
    const requestTimeout = 20_000;
    const node = await startCliNode([
      '--max-memory',
      '16mb',
      '--headers-timeout',
      '2000',
      '--request-timeout',
      `${requestTimeout}`,
      '--log-level',
      'warn',
    ]);
    // A full cache: its bytes count in the bound too.
    const value = new Uint8Array(MiB - 4096).fill(7);
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${node.url}/v1/keys/fill-${i}`, { method: 'PUT', body: value });
      expect(res.status).toBe(204);
    }
    const rss = rssSampler(node);
    console.log(`stalled-body flood: RSS before ${(node.rss() / MiB).toFixed(1)} MiB`);
    const { host } = new URL(node.url);
    const flood: RawClient[] = [];
    const part = Buffer.alloc(12 * MiB, 0x90);
    for (let i = 0; i < 40; i++) {
      const client = await rawClient(node);
      client.socket.write(
        `POST /v1/batch HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/msgpack\r\n` +
          `Content-Length: ${16 * MiB}\r\n\r\n`,
      );
      client.socket.write(part);
      flood.push(client);
    }
    const floodStarted = performance.now();
    // Past the budget every body is refused: only what fits in 64 MiB can still be arriving (5
    // connections of 12 MiB). The node's own count is what is asserted: a client that has not read
    // its 503 when the node closes the connection (hono's 500 ms drain after an unfinished body)
    // gets a reset, and Linux discards the unread answer with it — a test worker starved of CPU
    // for half a second loses 503s that were sent.
    await vi.waitFor(
      async () => expect(await refusedByNode(node.url)).toBeGreaterThanOrEqual(40 - 5),
      {
        timeout: requestTimeout,
        interval: 100,
      },
    );
    const answered = flood.filter((c) => c.received().startsWith('HTTP/1.1 503'));
    expect(answered.length).toBeGreaterThan(0);
    const answer = answered[0]!.received();
    expect(answer).toMatch(/\r\nretry-after: 1\r\n/i);
    expect(answer).toContain('"code":"overloaded"');
    // A normal client's reads are served meanwhile.
    const read = await fetch(`${node.url}/v1/keys/fill-19`);
    expect(read.status).toBe(200);
    expect((await read.arrayBuffer()).byteLength).toBe(value.length);
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);

    // Every stalled body is dropped at the request timeout (not Node's 300 s), its bytes released.
    await Promise.all(flood.map((c) => c.closed));
    expect(performance.now() - floodStarted).toBeLessThan(requestTimeout + 5000);
    await vi.waitFor(
      async () => {
        const res = await fetch(`${node.url}/v1/keys/small`, { method: 'PUT', body: 'x' });
        expect(res.status).toBe(204);
      },
      { timeout: 5000 },
    );
    const peak = rss.stop();
    console.log(`stalled-body flood: peak RSS ${(peak / MiB).toFixed(1)} MiB`);
    expect(peak).toBeLessThan(rssBound({ maxMemory }));
    expect(node.child.exitCode).toBeNull();
  });
});

/** The node's count of requests it refused with 503, from `/metrics`. */
async function refusedByNode(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = /^dcache_errors_total\{status="503"\} (\d+)$/m.exec(text);
  return line ? Number(line[1]) : 0;
}
