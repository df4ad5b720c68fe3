import { pack, unpack } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from './cli-node.js';
import type { CliNode } from './cli-node.js';

/**
 * A hint replay batch must fit the target's `maxBatchBytes` (16 MB by default), not only its
 * `maxBatchOps`: values of up to `maxValueBytes` (1 MB by default) each are replayed.
 */

afterEach(async () => {
  await stopCliNodes();
});

async function batch(node: CliNode, ops: unknown[]): Promise<unknown[][]> {
  const res = await fetch(`${node.url}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/msgpack', authorization: 'Bearer cluster' },
    body: pack(ops),
    signal: AbortSignal.timeout(5000),
  });
  expect(res.status).toBe(200);
  return unpack(new Uint8Array(await res.arrayBuffer())) as unknown[][];
}

async function stats(node: CliNode): Promise<Record<string, number>> {
  const res = await fetch(`${node.url}/v1/stats`, { headers: { authorization: 'Bearer cluster' } });
  return (await res.json()) as Record<string, number>;
}

describe('hint replay', () => {
  it('delivers hinted values that together exceed the default maxBatchBytes', async () => {
    const a = await startCliNode(['--token', 'cluster']);
    const b = await startCliNode(['--token', 'cluster', '--max-memory', '256mb']);
    const value = new Uint8Array(900_000).fill(120); // under the default maxValueBytes (1 MB)
    for (let i = 0; i < 20; i++) {
      // 20 keys × 0.9 MB = 18 MB of values hinted for A: over A's 16 MB maxBatchBytes in one batch.
      const written = await batch(b, [
        ['set', `k${i}`, value, 0, null, null],
        ['hint', `k${i}`, a.url],
      ]);
      expect(written[1]).toEqual([204]);
    }
    const until = Date.now() + 5000;
    while ((await stats(b)).hintsPending !== 0 && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await stats(b)).toMatchObject({ hintsPending: 0, hintsReplayed: 20, hintsDropped: 0 });
    const got = await batch(a, [['get', 'k19']]);
    expect(got[0]![0]).toBe(200);
  }, 20_000);
});
