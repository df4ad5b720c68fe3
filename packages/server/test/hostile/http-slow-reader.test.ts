import { pack } from 'msgpackr';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startCliNode, stopCliNodes } from '../cli-node.js';
import { destroySockets, MiB, rawClient, rssBound, rssSampler, sleep } from './http-sockets.js';
import type { RawClient } from './http-sockets.js';

afterEach(async () => {
  destroySockets();
  await stopCliNodes();
});

describe('clients that stop reading their responses', () => {
  it('60 connections pipelining 16 MiB batch answers and 1 MiB GETs without reading: RSS bounded, 503 meanwhile, cut at the request timeout', async () => {
    const maxMemory = 32 * MiB;
    const requestTimeout = 3000;
    const node = await startCliNode([
      '--max-memory',
      '32mb',
      '--headers-timeout',
      '1000',
      '--request-timeout',
      `${requestTimeout}`,
      '--log-level',
      'warn',
    ]);
    const value = new Uint8Array(MiB - 4096).fill(1);
    for (let i = 0; i < 16; i++) {
      const res = await fetch(`${node.url}/v1/keys/k${i}`, { method: 'PUT', body: value });
      expect(res.status).toBe(204);
    }
    const rss = rssSampler(node);
    const { host } = new URL(node.url);
    const batch = pack(Array.from({ length: 16 }, (_, i) => ['get', `k${i}`]));
    const batchRequest = Buffer.concat([
      Buffer.from(
        `POST /v1/batch HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/msgpack\r\n` +
          `Content-Length: ${batch.length}\r\n\r\n`,
      ),
      batch,
    ]);
    const readers: RawClient[] = [];
    for (let i = 0; i < 60; i++) {
      const client = await rawClient(node);
      client.socket.pause(); // never reads: the node's answers pile up on its side
      if (i % 2 === 0)
        client.socket.write(Buffer.concat([batchRequest, batchRequest, batchRequest]));
      else {
        for (let k = 0; k < 16; k++)
          client.socket.write(`GET /v1/keys/k${k} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      }
      readers.push(client);
    }
    // A write probes admission: the same check admits or refuses it, and its answer depends on
    // nothing else (a read's also depends on what the node holds and still vouches for).
    const probe = () => fetch(`${node.url}/v1/keys/probe`, { method: 'PUT', body: 'p' });
    // The budget fills with unread answers: new requests are refused, monitoring still answers.
    await vi.waitFor(
      async () => {
        const res = await probe();
        expect(res.status).toBe(503);
        expect(await res.json()).toMatchObject({ error: { code: 'overloaded' } });
      },
      { timeout: 10_000, interval: 100 },
    );
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
    const spent = performance.now();
    // Answers a client has not taken within the request timeout are cut, their bytes released.
    await vi.waitFor(async () => expect((await probe()).status).toBe(204), {
      timeout: requestTimeout + 5000,
      interval: 100,
    });
    expect(performance.now() - spent).toBeLessThan(requestTimeout + 2000);
    // Reading at last, each finds its connection closed (cut, or idle past the keep-alive timeout).
    for (const reader of readers) reader.socket.resume();
    await Promise.all(readers.map((c) => c.closed));
    const peak = rss.stop();
    console.log(`slow readers: peak RSS ${(peak / MiB).toFixed(1)} MiB`);
    expect(peak).toBeLessThan(rssBound({ maxMemory }));
    expect(node.child.exitCode).toBeNull();
  });
});

describe('clients that stop reading answers the budget did not count', () => {
  it('30 connections pipelining /metrics and key-listing pages without reading: RSS bounded, monitoring still answered to readers', async () => {
    const maxMemory = 16 * MiB;
    const node = await startCliNode([
      '--max-memory',
      '16mb',
      '--headers-timeout',
      '1000',
      '--request-timeout',
      '5000',
      '--log-level',
      'warn',
    ]);
    // 5,000 keys: a listing page of them is ~0.4 MB, a /metrics answer ~20 KB.
    for (let round = 0; round < 5; round++) {
      const ops = Array.from({ length: 1000 }, (_, i) => [
        'set',
        `listed-key-${round}-${i}-${'x'.repeat(40)}`,
        new Uint8Array(1),
        0,
        null,
        null,
      ]);
      const res = await fetch(`${node.url}/v1/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/msgpack' },
        body: pack(ops),
      });
      expect(res.status).toBe(200);
    }
    const rss = rssSampler(node);
    const { host } = new URL(node.url);
    const metrics = `GET /metrics HTTP/1.1\r\nHost: ${host}\r\n\r\n`.repeat(1000);
    const listing = `GET /v1/keys?limit=10000 HTTP/1.1\r\nHost: ${host}\r\n\r\n`.repeat(200);
    const readers: RawClient[] = [];
    for (let i = 0; i < 30; i++) {
      const client = await rawClient(node);
      client.socket.pause(); // never reads
      client.socket.write(i % 10 === 0 ? listing : metrics);
      readers.push(client);
    }
    // Served (or refused) as they arrive; a client that reads is still answered meanwhile.
    await sleep(3000);
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
    for (const reader of readers) reader.socket.destroy();
    const peak = rss.stop();
    console.log(`unread monitoring and listings: peak RSS ${(peak / MiB).toFixed(1)} MiB`);
    expect(peak).toBeLessThan(rssBound({ maxMemory }));
    expect(node.child.exitCode).toBeNull();
  });
});
