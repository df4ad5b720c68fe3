import { pack, unpack } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from './cli-node.js';
import type { CliNode } from './cli-node.js';

afterEach(() => stopCliNodes());

async function batch(node: CliNode, ops: unknown[]): Promise<unknown[][]> {
  const res = await fetch(`${node.url}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/msgpack' },
    body: pack(ops),
  });
  expect(res.status).toBe(200);
  return unpack(new Uint8Array(await res.arrayBuffer())) as unknown[][];
}

describe('a verification is counted as one, not as a set', () => {
  it('sets in /v1/stats and dcache_sets_total count writes only', async () => {
    const node = await startCliNode([]);
    const [written] = await batch(node, [
      ['set', 'a', new TextEncoder().encode('v'), 0, null, null],
    ]);
    const stamp = written![2] as number;
    expect((await fetch(`${node.url}/v1/fence`, { method: 'POST' })).status).toBe(204);
    expect(await batch(node, [['verify', 'a', stamp]])).toEqual([[204]]);
    const stats = (await (await fetch(`${node.url}/v1/stats`)).json()) as Record<string, number>;
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    expect({ sets: stats.sets, verifications: stats.verifications }).toEqual({
      sets: 1,
      verifications: 1,
    });
    expect(metrics).toContain('\ndcache_sets_total 1\n');
  });
});
