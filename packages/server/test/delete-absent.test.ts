import { afterEach, describe, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from './cli-node.js';
import type { CliNode } from './cli-node.js';
import { RawClient } from './memcached/helpers.js';

/**
 * Delete-on-update of keys a node does not hold — the usual cache pattern, over HTTP and the
 * memcached port — must not cost memory there: on a node no cluster client writes to, such a
 * delete leaves no tombstone, so it cannot evict live values.
 */

afterEach(async () => {
  await stopCliNodes();
});

async function stats(node: CliNode): Promise<Record<string, number>> {
  return (await (await fetch(`${node.url}/v1/stats`)).json()) as Record<string, number>;
}

describe('deleting keys a node does not hold', () => {
  it('evicts nothing and stores nothing, over HTTP and memcached', async () => {
    const node = await startCliNode(['--max-memory', '1mb', '--memcached-port', '0']);
    const value = new Uint8Array(9000);
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`${node.url}/v1/keys/live${i}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: value,
      });
      expect(res.status).toBe(204);
    }
    const before = await stats(node);
    expect(before).toMatchObject({ items: 100, evictions: 0 });
    for (let round = 0; round < 20; round++) {
      const answers = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          fetch(`${node.url}/v1/keys/never-${round}-${i}`, { method: 'DELETE' }),
        ),
      );
      expect(answers.every((res) => res.status === 404)).toBe(true);
    }
    expect(await stats(node)).toMatchObject({
      items: 100,
      evictions: 0,
      tombstones: 0,
      memoryUsed: before.memoryUsed,
    });
    const mc = new RawClient(node.memcached!.port);
    try {
      await mc.ready();
      let lines = '';
      for (let i = 0; i < 1000; i++) lines += `delete mc-never-${i}\r\n`;
      expect(await mc.request(lines)).toBe('NOT_FOUND\r\n'.repeat(1000));
    } finally {
      mc.close();
    }
    // 101: the raw client's own sync marker is an item.
    expect(await stats(node)).toMatchObject({ items: 101, evictions: 0, tombstones: 0 });
    for (let i = 0; i < 100; i++) {
      expect((await fetch(`${node.url}/v1/keys/live${i}`, { method: 'HEAD' })).status).toBe(200);
    }
  });

  it('leaves a tombstone once a cluster client has written to the node', async () => {
    const node = await startCliNode();
    const batch = await fetch(`${node.url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/msgpack', 'dcache-ring-nodes': '3' },
      body: Uint8Array.of(0x90), // an empty batch: []
    });
    expect(batch.status).toBe(200);
    expect((await fetch(`${node.url}/v1/keys/absent`, { method: 'DELETE' })).status).toBe(404);
    expect(await stats(node)).toMatchObject({ tombstones: 1, items: 0 });
  });
});
