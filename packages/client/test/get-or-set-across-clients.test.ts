// getOrSet when another process changes the key during the load: the usual "update the source,
// then delete the key" of a writer elsewhere, a flush, a set. The loader may have read the source
// before the change, so its value must not reach the cache; in this process the client knows of
// the delete itself, in another only the nodes do (the add carries the stamp of the load's start).
// Also a delete the primary may have forgotten (evicted, past its grace, a restart) and one still
// on its way to the primary when the add lands. Two clients stand for two processes; nodes
// started through the CLI on 127.0.0.1.
import { stampAt } from '@dcache/core';
import { afterEach, describe, expect, it } from 'vitest';
import { restartCliNodeOnPort, startCliNode, stopCliNodes } from '../../server/test/cli-node.js';
import { decodeValue } from '../src/codec.js';
import { DistributedCacheClient } from '../src/index.js';
import type { BatchResult } from '../src/wire.js';
import { waitFor } from './cluster.js';
import { deferred } from './deferred.js';
import { rawBatch, rawGet } from './raw-node.js';

const clients: DistributedCacheClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await stopCliNodes();
});

function connect(urls: readonly string[], options = {}): DistributedCacheClient {
  const client = new DistributedCacheClient([...urls], { replicas: 2, timeout: 5000, ...options });
  clients.push(client);
  return client;
}

async function threeNodes(): Promise<string[]> {
  const nodes = await Promise.all([startCliNode(), startCliNode(), startCliNode()]);
  return nodes.map((node) => node.url);
}

/** Which of `urls` is the key's primary: where a one-replica client of the same ring puts it. */
async function primaryOf(urls: readonly string[], key: string): Promise<number> {
  const probe = connect(urls, { replicas: 1 });
  await probe.set(key, 'probe');
  const primary = (await onEveryNode(urls, key)).indexOf('probe');
  await probe.delete(key);
  await probe.close();
  return primary;
}

/** A getOrSet by `reader` whose load waits for the test; resolves once the load has started. */
async function loadStarted(reader: DistributedCacheClient, key: string) {
  const load = deferred<string>();
  let started = false;
  const result = reader.getOrSet(key, () => {
    started = true;
    return load.promise;
  });
  await waitFor(() => started, 'the load to start');
  return { result, finish: (value: string) => load.resolve(value) };
}

/** What every node answers for `key`: the status of a miss, or the value of a hit. */
async function onEveryNode(urls: readonly string[], key: string): Promise<unknown[]> {
  const answers: BatchResult[] = await Promise.all(urls.map((url) => rawGet(url, key)));
  return answers.map((answer) =>
    answer[0] === 200 ? decodeValue(answer[1] as Uint8Array, answer[2] as number) : answer[0],
  );
}

describe('getOrSet while another client changes the key', () => {
  it('a delete made during the load keeps the loaded value out of every replica', async () => {
    const urls = await threeNodes();
    const reader = connect(urls);
    const writer = connect(urls);
    const { result, finish } = await loadStarted(reader, 'user:1');
    // The writer updated the source and invalidates: the load may have read the old row.
    await writer.delete('user:1');
    finish('old row');
    expect(await result).toBe('old row');
    // The store runs in the background: close() waits for it.
    await reader.close();
    expect(await writer.get('user:1')).toBeUndefined();
    expect((await onEveryNode(urls, 'user:1')).every((answer) => answer === 404)).toBe(true);
    // The next read-through loads afresh, and that value is stored.
    const later = connect(urls);
    expect(await later.getOrSet('user:1', () => 'new row')).toBe('new row');
    await later.close();
    expect(await writer.get('user:1')).toBe('new row');
  });

  it('a delete made before the load does not keep the loaded value out', async () => {
    const urls = await threeNodes();
    const reader = connect(urls);
    const writer = connect(urls);
    expect(await writer.set('user:2', 'cached')).toBe(true);
    await writer.delete('user:2');
    expect(await reader.getOrSet('user:2', () => 'reloaded')).toBe('reloaded');
    await reader.close();
    expect(await writer.get('user:2')).toBe('reloaded');
    const held = await onEveryNode(urls, 'user:2');
    expect(held.filter((answer) => answer === 'reloaded')).toHaveLength(2);
  });

  it('a flush made during the load keeps the loaded value out; one made before does not', async () => {
    const urls = await threeNodes();
    const reader = connect(urls);
    const writer = connect(urls);
    const { result, finish } = await loadStarted(reader, 'user:3');
    await writer.flush();
    finish('before the flush');
    expect(await result).toBe('before the flush');
    await reader.close();
    expect(await writer.get('user:3')).toBeUndefined();
    expect((await onEveryNode(urls, 'user:3')).every((answer) => answer === 404)).toBe(true);

    // This client's own flush, then a read-through: an ordinary sequence, stored on both replicas.
    await writer.flush();
    expect(await writer.getOrSet('user:3', () => 'after the flush')).toBe('after the flush');
    await writer.close();
    const fresh = connect(urls);
    expect(await fresh.get('user:3')).toBe('after the flush');
    const held = await onEveryNode(urls, 'user:3');
    expect(held.filter((answer) => answer === 'after the flush')).toHaveLength(2);
  });

  it('with batching off too, a delete made during the load keeps the loaded value out', async () => {
    const urls = await threeNodes();
    const reader = connect(urls, { batch: false });
    const writer = connect(urls, { batch: false });
    const { result, finish } = await loadStarted(reader, 'user:5');
    await writer.delete('user:5');
    finish('old row');
    expect(await result).toBe('old row');
    await reader.close();
    expect((await onEveryNode(urls, 'user:5')).every((answer) => answer === 404)).toBe(true);
  });

  it('a set made during the load wins on every replica', async () => {
    const urls = await threeNodes();
    const reader = connect(urls);
    const writer = connect(urls);
    const { result, finish } = await loadStarted(reader, 'user:4');
    expect(await writer.set('user:4', 'written meanwhile')).toBe(true);
    finish('loaded');
    expect(await result).toBe('loaded');
    await reader.close();
    expect(await writer.get('user:4')).toBe('written meanwhile');
    const held = await onEveryNode(urls, 'user:4');
    expect(held.filter((answer) => answer === 'written meanwhile')).toHaveLength(2);
    expect(held).not.toContain('loaded');
  });
});

describe('getOrSet and a delete the primary may have forgotten, or not yet received', () => {
  it.each([
    ['evicted for room (--max-items 4)', ['--max-items', '4'], 0],
    ['past its grace (--tombstone-grace 300)', ['--tombstone-grace', '300'], 600],
  ] as const)(
    'a tombstone %s before the store keeps the loaded value out',
    async (_name, flags, wait) => {
      const nodes = await Promise.all([startCliNode([...flags]), startCliNode([...flags])]);
      const urls = nodes.map((node) => node.url);
      const reader = connect(urls);
      const writer = connect(urls);
      const { result, finish } = await loadStarted(reader, 'user:6');
      await writer.delete('user:6');
      // Other traffic fills the small cache, or the grace runs out.
      for (let i = 0; i < 8; i++) await writer.set(`filler:${i}`, i);
      await new Promise((resolve) => setTimeout(resolve, wait));
      finish('old row');
      expect(await result).toBe('old row');
      await reader.close();
      expect(await onEveryNode(urls, 'user:6')).toEqual([404, 404]);
    },
  );

  it('the primary restarted empty during the load, the delete held by the other replica alone', async () => {
    const nodes = await Promise.all([startCliNode(), startCliNode()]);
    const urls = nodes.map((node) => node.url);
    const primary = await primaryOf(urls, 'user:7');
    const reader = connect(urls);
    const { result, finish } = await loadStarted(reader, 'user:7');
    const port = Number(new URL(urls[primary]!).port);
    await nodes[primary]!.stop('SIGKILL');
    const writer = connect(urls);
    await writer.delete('user:7').catch(() => undefined);
    // The other replica holds the delete's tombstone; the restarted primary will hold nothing.
    expect(typeof (await rawGet(urls[1 - primary]!, 'user:7'))[1]).toBe('number');
    nodes[primary] = await restartCliNodeOnPort(port);
    finish('old row');
    expect(await result).toBe('old row');
    await reader.close();
    expect(await onEveryNode(urls, 'user:7')).toEqual([404, 404]);
  });

  it('a delete that reaches the primary after the add still outranks it on every replica', async () => {
    const nodes = await Promise.all([startCliNode(), startCliNode()]);
    const urls = nodes.map((node) => node.url);
    const primary = await primaryOf(urls, 'user:8');
    const reader = connect(urls);
    const { result, finish } = await loadStarted(reader, 'user:8');
    await new Promise((resolve) => setTimeout(resolve, 20));
    // The writer's delete, stamped after the load began, as its two deliveries arrive: the
    // other replica first, then — after the read-through's add — the primary.
    const deleteStamp = stampAt(Date.now());
    expect((await rawBatch(urls[1 - primary]!, [['delete', 'user:8', deleteStamp]]))[0]![0]).toBe(
      404,
    );
    finish('old row');
    expect(await result).toBe('old row');
    await reader.close();
    await rawBatch(urls[primary]!, [['delete', 'user:8', deleteStamp]]);
    expect(await onEveryNode(urls, 'user:8')).toEqual([404, 404]);
  });
});
