import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from './cli-node.js';
import type { CliNode } from './cli-node.js';

/**
 * One client that pipelines requests and never reads the answers must not lock every other client
 * out: a connection holds at most its share of the answers' budget (maxInflightBodyBytes / 16),
 * past which its own further requests get 503 — and nobody else's.
 */

const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await stopCliNodes();
});

async function answerBytes(node: CliNode): Promise<number> {
  const res = await fetch(`${node.url}/v1/stats`);
  return ((await res.json()) as { inflight: { answerBytes: number } }).inflight.answerBytes;
}

/** Polls `probe` every 50 ms until it returns true, for at most `ms`. */
async function eventually(probe: () => Promise<boolean>, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > until) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('a client that never reads its answers', () => {
  it('is refused past its share of the budget while other clients are served', async () => {
    const node = await startCliNode();
    const { hostname, port } = new URL(node.url);
    const big = new Uint8Array(1_000_000); // zeros: no status line can hide in them
    expect((await fetch(`${node.url}/v1/keys/big`, { method: 'PUT', body: big })).status).toBe(204);

    // 80 answers of ~1 MB, more than the whole 64 MiB budget: pipelined, never read.
    const greedy = connect(Number(port), hostname);
    sockets.push(greedy);
    greedy.on('error', () => undefined);
    greedy.pause();
    greedy.write('GET /v1/keys/big HTTP/1.1\r\nHost: localhost\r\n\r\n'.repeat(80));
    let last = -1;
    await eventually(async () => {
      const held = await answerBytes(node);
      const settled = held > 0 && held === last;
      last = held;
      return settled;
    });
    // Its share (4 MiB) and the answer that passed it, not the budget.
    expect(last).toBeLessThan(8 * 1024 * 1024);

    const put = await fetch(`${node.url}/v1/keys/other`, { method: 'PUT', body: 'v' });
    expect(put.status).toBe(204);
    const get = await fetch(`${node.url}/v1/keys/big`);
    expect(get.status).toBe(200);
    expect((await get.arrayBuffer()).byteLength).toBe(big.length);

    // The greedy connection got its first answers, then 503s for the rest.
    let text = '';
    let closed = false;
    greedy.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1').replace(/\0+/g, '\0'); // a body of zeros: one byte
    });
    greedy.on('close', () => (closed = true));
    const statuses = (): string[] => [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]!);
    greedy.resume();
    await eventually(async () => closed || statuses().length >= 80, 10_000);
    expect(statuses()).toContain('200');
    expect(statuses()).toContain('503');
  });
});
