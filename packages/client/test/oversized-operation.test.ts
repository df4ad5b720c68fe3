import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DistributedCacheClient, isOperationRejectedError } from '../src/index.js';
import { startCliNode, stopCliNodes } from './cli-nodes.js';
import type { CliNode } from './cli-nodes.js';

/**
 * A value too large for a node's whole batch (`--max-batch-bytes`, 16 MiB by default) is refused
 * like one over `--max-value-bytes`: an OperationRejectedError naming the key, not a failure of the
 * node. A small batch limit stands in for the 16 MiB one here.
 */

let node: CliNode;
/** Two nodes whose values are at most 4 KiB: one replica each of every key. */
let pair: CliNode[];
beforeAll(async () => {
  const small = ['--max-value-bytes', '4kb'];
  [node, ...pair] = await Promise.all([
    startCliNode('127.0.0.1', 0, ['--max-batch-bytes', '64kb']),
    startCliNode('127.0.0.1', 0, small),
    startCliNode('127.0.0.1', 0, small),
  ]);
});
afterAll(() => stopCliNodes());

describe('an operation alone over the batch limit', () => {
  it.each([
    ['batched', true],
    ['unbatched', false],
  ])('%s: rejects with OperationRejectedError too_large, the node still up', async (_, batch) => {
    const down: string[] = [];
    const client = new DistributedCacheClient([node.url], {
      replicas: 1,
      batch,
      onNodeDown: (url) => down.push(url),
    });
    try {
      expect(await client.set('huge', 'the value it was to replace')).toBe(true);
      const error: unknown = await client.set('huge', 'x'.repeat(100 * 1024)).catch((e) => e);
      expect(isOperationRejectedError(error)).toBe(true);
      expect(error).toMatchObject({ key: 'huge', status: 413, code: 'too_large', node: node.url });
      // Gone, as after a set over --max-value-bytes (and memcached's set too large).
      expect(await client.get('huge')).toBeUndefined();
      // The node is fine: the next call goes through.
      expect(await client.set('small', 'x')).toBe(true);
      expect(await client.get('small')).toBe('x');
      expect(down).toEqual([]);
    } finally {
      await client.close();
    }
  });

  it('a set over --max-value-bytes drops the value it was to replace on every replica, as memcached does', async () => {
    const client = new DistributedCacheClient(
      pair.map((n) => n.url),
      { replicas: 2, writeConsistency: 'all' },
    );
    try {
      expect(await client.set('replaced-by-big', 'old')).toBe(true);
      const error: unknown = await client
        .set('replaced-by-big', new Uint8Array(10_000))
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ status: 413, code: 'too_large' });
      expect(await client.get('replaced-by-big')).toBeUndefined();
      for (const { url } of pair) {
        const response = await fetch(`${url}/v1/keys/replaced-by-big`);
        expect(response.status).toBe(404);
      }
    } finally {
      await client.close();
    }
  });
});
