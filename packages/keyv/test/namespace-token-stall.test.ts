import { setTimeout as sleep } from 'node:timers/promises';
import { DistributedCacheClient } from '@dcache/client';
import Keyv from 'keyv';
import { afterEach, describe, expect, it } from 'vitest';
import { DcacheKeyvStore } from '../src/index.js';
import { generationKey } from '../src/generations.js';
import { startNode, stopNodes } from './cluster.js';
import type { CliNode } from './cluster.js';

/**
 * A namespace's token on nodes that stall (SIGSTOP past `--stall-threshold`) comes back
 * unverified on every copy: the cluster reads it as a miss, and `add` finds it there. The store
 * then stores a new generation — the namespace reads as cleared once — instead of using a token
 * it never stored, which would change at every read and lose every write from then on.
 */

let client: DistributedCacheClient | undefined;
afterEach(async () => {
  await client?.close();
  client = undefined;
  await stopNodes();
});

/** Stops `node` for `ms`, past its stall threshold, then lets it run again. */
async function stall(node: CliNode, ms: number): Promise<void> {
  node.child.kill('SIGSTOP');
  try {
    await sleep(ms);
  } finally {
    node.child.kill('SIGCONT');
  }
}

describe('a namespace whose token nodes stalled', () => {
  it('keeps what is written after, for every store reading the token', async () => {
    const nodes = await Promise.all([0, 1, 2].map(() => startNode(['--stall-threshold', '200'])));
    const byUrl = new Map(nodes.map((node) => [node.url, node]));
    client = new DistributedCacheClient(
      nodes.map((node) => node.url),
      { timeout: 5000 },
    );
    // Read the token at every call, so each call shows what the cluster holds.
    const keyv = new Keyv({
      store: new DcacheKeyvStore({ client, generationCacheMs: 0 }),
      namespace: 'S',
    });
    expect(await keyv.set('before', 'b')).toBe(true);
    expect(await keyv.get('before')).toBe('b');

    // Each node holding the token stalls once and fences itself when it runs again; nothing
    // reads the token in between (a read would verify the stalled copy from the other one).
    for (const url of client.nodesFor(generationKey('S'))) {
      await stall(byUrl.get(url)!, 600);
      await sleep(200);
    }
    // The premise: every copy of the token is unverified, so the cluster reads it as a miss.
    expect(await client.get(generationKey('S'))).toBeUndefined();

    expect(await keyv.set('after', 'a')).toBe(true);
    expect(await keyv.get('after')).toBe('a');
    expect(await keyv.get('after')).toBe('a');
    // Another client's store agrees on the token: it reads the same value.
    const other = new DistributedCacheClient(
      nodes.map((node) => node.url),
      { timeout: 5000 },
    );
    try {
      const otherKeyv = new Keyv({
        store: new DcacheKeyvStore({ client: other, generationCacheMs: 0 }),
        namespace: 'S',
      });
      expect(await otherKeyv.get('after')).toBe('a');
    } finally {
      await other.close();
    }
  });
});
