import { pack, unpack } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from './cli-node.js';
import type { CliNode } from './cli-node.js';
import { RawClient } from './memcached/helpers.js';

/** The memcached port writes through the same newest-wins store as HTTP (MEMCACHED.md, Replicas). */

const clients: RawClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await stopCliNodes();
});

async function batch(node: CliNode, ops: unknown[]): Promise<unknown[][]> {
  const res = await fetch(`${node.url}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/msgpack' },
    body: pack(ops),
  });
  return unpack(new Uint8Array(await res.arrayBuffer())) as unknown[][];
}

describe('memcached writes are stamped, deletes leave tombstones', () => {
  it('an older copy cannot bring back a value deleted over memcached, nor replace a newer one', async () => {
    const node = await startCliNode(['--memcached-port', '0']);
    const mc = new RawClient(node.memcached!.port);
    clients.push(mc);
    await mc.ready();
    expect(await mc.request('set k 0 0 2\r\nv1\r\n')).toBe('STORED\r\n');
    const [hit] = await batch(node, [['get', 'k']]);
    const stamp = hit![5] as number;
    expect(stamp).toBeGreaterThan(0);
    expect(await mc.request('delete k\r\n')).toBe('DELETED\r\n');
    const [copy, get] = await batch(node, [
      ['copy', 'k', new TextEncoder().encode('v1'), 0, null, stamp, 'repair'],
      ['get', 'k'],
    ]);
    expect(copy![0]).toBe(412);
    expect(get![0]).toBe(404);
    expect(get![1]).toBeGreaterThan(stamp); // the tombstone's stamp
    expect(await mc.request('get k\r\n')).toBe('END\r\n');
    // A later write over memcached is stamped above the tombstone: it wins.
    expect(await mc.request('add k 0 0 2\r\nv2\r\nget k\r\n')).toBe(
      'STORED\r\nVALUE k 0 2\r\nv2\r\nEND\r\n',
    );
    const stats = (await (await fetch(`${node.url}/v1/stats`)).json()) as Record<string, number>;
    // Items: k and the helper's __sync marker; the tombstone went when k was written again.
    expect(stats).toMatchObject({ copiesRefused: 1, tombstones: 0, items: 2 });
  });
});
