import { afterEach, describe, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from '../cli-node.js';
import { destroySockets, MiB, rawClient, rssBound, rssSampler } from './http-sockets.js';

afterEach(async () => {
  destroySockets();
  await stopCliNodes();
});

/** `body` in chunked transfer coding, `sizes` (repeated) bytes per chunk, with its last chunk. */
function chunked(body: Buffer, sizes: readonly number[]): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0, i = 0; at < body.length; i++) {
    const piece = body.subarray(at, at + sizes[i % sizes.length]!);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
    at += piece.length;
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

describe('bodies sent in tiny chunks', () => {
  it('two 1 MB values in 1-byte chunks: RSS bounded (each chunk was a Buffer the budget did not see), and a value in mixed chunks is stored whole', async () => {
    const maxMemory = 16 * MiB;
    const node = await startCliNode(['--max-memory', '16mb', '--log-level', 'warn']);
    const { host } = new URL(node.url);
    const head = (key: string) =>
      `PUT /v1/keys/${key} HTTP/1.1\r\nHost: ${host}\r\n` +
      'Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n';
    const value = Buffer.alloc(MiB - 4096);
    for (let i = 0; i < value.length; i++) value[i] = (i * 7) % 251;

    const mixed = await rawClient(node);
    mixed.socket.end(
      Buffer.concat([Buffer.from(head('mixed')), chunked(value, [1, 3, 5000, 1, 70_000, 2])]),
    );
    await mixed.closed;
    expect(mixed.received()).toMatch(/^HTTP\/1\.1 204 /);
    const stored = await fetch(`${node.url}/v1/keys/mixed`);
    expect(Buffer.from(await stored.arrayBuffer()).equals(value)).toBe(true);

    const rss = rssSampler(node);
    const tiny = await Promise.all([rawClient(node), rawClient(node)]);
    for (const [i, client] of tiny.entries()) {
      client.socket.end(Buffer.concat([Buffer.from(head(`tiny-${i}`)), chunked(value, [1])]));
    }
    await Promise.all(tiny.map((client) => client.closed));
    for (const client of tiny) expect(client.received()).toMatch(/^HTTP\/1\.1 204 /);
    const peak = rss.stop();
    console.log(`1-byte chunks: peak RSS ${(peak / MiB).toFixed(1)} MiB`);
    expect(peak).toBeLessThan(rssBound({ maxMemory }));
    const res = await fetch(`${node.url}/v1/keys/tiny-1`);
    expect(Buffer.from(await res.arrayBuffer()).equals(value)).toBe(true);
    expect(node.child.exitCode).toBeNull();
  });
});
