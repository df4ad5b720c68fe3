import { stampAt } from '@dcache/core';
import { pack, unpack } from 'msgpackr';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startNode } from './helpers.js';
import type { RunningNode } from './helpers.js';

/**
 * The replication counters (never-stale.md §11) under the same names in /v1/stats and /metrics,
 * and the one unguaranteeable case — a tombstone evicted before its grace — never silent.
 */

let node: RunningNode | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await node?.close();
  node = undefined;
});

async function batch(ops: unknown[]): Promise<unknown[][]> {
  const res = await fetch(`${node!.url}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/msgpack' },
    body: pack(ops),
  });
  return unpack(new Uint8Array(await res.arrayBuffer())) as unknown[][];
}

const NAMES: [stat: string, metric: string][] = [
  ['copiesApplied', 'dcache_copies_applied_total'],
  ['copiesRefused', 'dcache_copies_refused_total'],
  ['verifications', 'dcache_verifications_total'],
  ['fences', 'dcache_fences_total'],
  ['stalls', 'dcache_stalls_total'],
  ['staleReadsPrevented', 'dcache_stale_reads_prevented_total'],
  ['tombstones', 'dcache_tombstones'],
  ['tombstonesEvictedEarly', 'dcache_tombstones_evicted_early_total'],
  ['tombstoneFloor', 'dcache_tombstone_floor'],
  ['lostValueFloor', 'dcache_lost_value_floor'],
  ['restoredKeys', 'dcache_restored_keys_total'],
  ['clockSkewRejections', 'dcache_clock_skew_rejections_total'],
  ['unvouchedReads', 'dcache_unvouched_reads_total'],
  ['hintsStored', 'dcache_hints_stored_total'],
  ['hintsReplayed', 'dcache_hints_replayed_total'],
  ['hintsDropped', 'dcache_hints_dropped_total'],
  ['hintsPending', 'dcache_hints_pending'],
];

describe('replication counters', () => {
  it('/v1/stats and /metrics agree, name for name', async () => {
    node = await startNode();
    // An hour ahead of the node's clock: far past maxClockSkew (500 ms).
    const far = stampAt(Date.now() + 3_600_000);
    const results = await batch([
      ['set', 'a', Uint8Array.of(1), 0, null, null],
      ['delete', 'b'],
      ['copy', 'c', Uint8Array.of(2), 0, null, 1, 'repair'],
      ['copy', 'a', Uint8Array.of(3), 0, null, 1, 'repair'],
      ['set', 'd', Uint8Array.of(4), 0, null, null, far],
      ['hint', 'a', 'http://127.0.0.1:1'],
      ['copy', 'r', Uint8Array.of(5), 0, null, 2, 'restore'],
    ]);
    expect(results.map((r) => r[0])).toEqual([204, 404, 204, 412, 400, 204, 204]);
    expect(results[4]![1]).toBe('clock_skew');
    const stats = (await (await fetch(`${node.url}/v1/stats`)).json()) as Record<string, number>;
    expect(stats).toMatchObject({
      copiesApplied: 2,
      copiesRefused: 1,
      tombstones: 1,
      clockSkewRejections: 1,
      hintsStored: 1,
      hintsPending: 1,
      restoredKeys: 1,
      items: 3, // a, c and r: the tombstone is not an item
    });
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    for (const [stat, metric] of NAMES) {
      expect(metrics).toMatch(new RegExp(`^${metric} ${stats[stat]}$`, 'm'));
    }
  });

  it('a tombstone evicted before its grace raises the floor, is counted and logged', async () => {
    const logged: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((line) => {
      logged.push(String(line));
      return true;
    });
    node = await startNode({ maxMemory: 4096, logLevel: 'warn' });
    const [deleted] = await batch([['delete', 'gone']]);
    const ops: unknown[] = [];
    for (let i = 0; i < 40; i++) ops.push(['set', `k${i}`, new Uint8Array(200), 0, null, null]);
    await batch(ops);
    const stats = (await (await fetch(`${node.url}/v1/stats`)).json()) as Record<string, number>;
    expect(stats).toMatchObject({
      tombstonesEvictedEarly: 1,
      tombstoneFloor: deleted![1],
      tombstones: 0,
    });
    // A miss now vouches only for stamps above the evicted tombstone.
    const [miss] = await batch([['get', 'gone']]);
    expect(miss![2]).toBeGreaterThanOrEqual(deleted![1] as number);
    expect(logged.join('')).toMatch(/1 tombstone\(s\) evicted before tombstoneGrace/);
  });

  it('hits served to gets flagged unvouched are counted and logged, one line per 10 s', async () => {
    const logged: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((line) => {
      logged.push(String(line));
      return true;
    });
    node = await startNode({ logLevel: 'warn' });
    const results = await batch([
      ['set', 'k', Uint8Array.of(1), 0, null, null],
      ['get', 'k'],
      ['get', 'k', null, true],
      ['get', 'k', null, true],
      ['get', 'absent', null, true],
    ]);
    expect(results.map((r) => r[0])).toEqual([204, 200, 200, 200, 404]);
    const stats = (await (await fetch(`${node.url}/v1/stats`)).json()) as Record<string, number>;
    // Hits only: a miss serves nothing stale.
    expect(stats.unvouchedReads).toBe(2);
    const lines = logged.join('').match(/hit\(s\) served to reads that failed over here/g) ?? [];
    expect(lines).toHaveLength(1);
    expect(logged.join('')).toMatch(/1 hit\(s\) served .*\(latest "k"\).*\(unvouchedReads\)/);
  });
});
