import { pack } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from '../cli-node.js';
import { destroySockets, MiB, rawClient, rssBound, rssSampler } from '../hostile/http-sockets.js';

afterEach(async () => {
  destroySockets();
  await stopCliNodes();
});

describe('a batch body trickled a byte per read', () => {
  it('30 connections sending 16 MB batches a byte at a time: RSS bounded (each byte was a Buffer the budget did not count), and one sent whole that way is answered', async () => {
    const maxMemory = 16 * MiB;
    const node = await startCliNode([
      '--max-memory',
      '16mb',
      '--max-inflight-body-bytes',
      '16mb',
      '--log-level',
      'warn',
    ]);
    const { host } = new URL(node.url);
    const head = (length: number) =>
      `POST /v1/batch HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/msgpack\r\n` +
      `Content-Length: ${length}\r\n\r\n`;

    // Answered right, gathered from its single bytes.
    const batch = pack([
      ['set', 'k', new Uint8Array(20_000).fill(3), 0, null, null],
      ['get', 'k'],
    ]);
    const whole = await rawClient(node);
    whole.socket.setNoDelay(true);
    whole.socket.write(head(batch.length));
    for (let i = 0; i < batch.length; i++) {
      whole.socket.write(batch.subarray(i, i + 1));
      if (i % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const res = await fetch(`${node.url}/v1/keys/k`);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(new Uint8Array(20_000).fill(3));

    const before = node.rss();
    const rss = rssSampler(node);
    const flood = await Promise.all(Array.from({ length: 30 }, () => rawClient(node)));
    for (const client of flood) {
      client.socket.setNoDelay(true);
      client.socket.write(head(16_000_000));
    }
    const byte = Buffer.from([0x90]);
    const until = performance.now() + 8000;
    while (performance.now() < until) {
      for (const client of flood) client.socket.write(byte);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const peak = rss.stop();
    console.log(`trickled batch bodies: peak RSS ${(peak / MiB).toFixed(1)} MiB`);
    expect(peak).toBeLessThan(rssBound({ maxMemory, maxInflightBodyBytes: 16 * MiB }));
    // What the bodies add: the bytes they sent (a few MB, in the 16 MiB budget), counted twice as
    // the README counts bodies, and slack. A Buffer per byte added ~150 MiB.
    expect(peak - before).toBeLessThan(3 * 16 * MiB);
    expect(node.child.exitCode).toBeNull();
  });
});
