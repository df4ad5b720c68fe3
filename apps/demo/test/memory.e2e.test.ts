import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from '../src/cluster.js';
import { getJson } from '../src/http.js';
import { startNodes } from './helpers/nodes.js';
import { EVENTUALLY } from './helpers/eventually.js';
import { rssBytes } from './helpers/proc.js';

const MiB = 1024 * 1024;
const MAX_MEMORY = 8 * MiB;
const WRITTEN = 10 * MAX_MEMORY;
/**
 * Measured peak RSS of an 8 MiB node taking 80 MiB of writes (Node 20, see README.md) was
 * 93–99 MiB from a 60 MiB baseline; the bound leaves headroom for GC timing but would catch written
 * values being retained beyond the limit (80 MiB of them would push it far past).
 */
const RSS_BOUND = 128 * MiB;
const WRITERS = 4;

interface Stats {
  memoryUsed: number;
  maxMemory: number;
  evictions: number;
  items: number;
}

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startNodes(1, { args: ['--max-memory', '8mb'] });
});
afterAll(async () => {
  await cluster?.stop();
});

/** Value sizes from 1 KiB to 64 KiB, from a fixed-seed generator so every run writes the same bytes. */
function* values(total: number): Generator<Uint8Array> {
  let seed = 42;
  let written = 0;
  while (written < total) {
    seed = (seed * 1_103_515_245 + 12_345) >>> 0;
    const size = 1024 + (seed % (63 * 1024));
    written += size;
    yield new Uint8Array(size).fill(seed & 0xff);
  }
}

describe('a node written 10x its --max-memory', () => {
  it('never reports more memory than its limit, counts evictions and keeps its RSS bounded', async () => {
    const node = cluster.nodes[0]!;
    const baselineRss = rssBytes(node.pid!);
    const samples: Stats[] = [];
    let peakRss = baselineRss;
    let writing = true;
    const watcher = (async () => {
      while (writing) {
        // The node answers it behind the writers' PUTs; starved of CPU, that takes more than
        // getJson's 1 s default (a TimeoutError under CI load). A deadline, not a speed.
        samples.push(
          await getJson<Stats>(`${node.url}/v1/stats`, { timeoutMs: EVENTUALLY.timeout }),
        );
        peakRss = Math.max(peakRss, rssBytes(node.pid!));
        await sleep(10);
      }
    })();

    const source = values(WRITTEN);
    let puts = 0;
    let bytes = 0;
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        for (let next = source.next(); !next.done; next = source.next()) {
          const key = `blob:${puts++}`;
          const response = await fetch(`${node.url}/v1/keys/${key}`, {
            method: 'PUT',
            body: next.value,
            headers: { 'content-type': 'application/octet-stream' },
          });
          expect(response.status, await response.text()).toBe(204);
          bytes += next.value.length;
        }
      }),
    );
    writing = false;
    await watcher;
    const final = await getJson<Stats>(`${node.url}/v1/stats`);
    samples.push(final);
    peakRss = Math.max(peakRss, rssBytes(node.pid!));

    console.log(
      `memory e2e: ${puts} PUTs, ${(bytes / MiB).toFixed(1)} MiB written, ${samples.length} stats samples, ` +
        `peak memoryUsed ${(Math.max(...samples.map((s) => s.memoryUsed)) / MiB).toFixed(2)} MiB, ` +
        `RSS baseline ${(baselineRss / MiB).toFixed(1)} MiB, peak ${(peakRss / MiB).toFixed(1)} MiB`,
    );
    expect(bytes).toBeGreaterThanOrEqual(WRITTEN);
    expect(samples.length).toBeGreaterThan(10);
    for (const sample of samples) {
      expect(sample.maxMemory).toBe(MAX_MEMORY);
      expect(sample.memoryUsed).toBeLessThanOrEqual(MAX_MEMORY);
    }
    expect(final.evictions).toBeGreaterThan(0);
    expect(final.items + final.evictions).toBe(puts);
    expect(peakRss).toBeLessThan(RSS_BOUND);

    // The newest entry survived; the oldest was evicted to make room.
    expect((await fetch(`${node.url}/v1/keys/blob:${puts - 1}`)).status).toBe(200);
    expect((await fetch(`${node.url}/v1/keys/blob:0`)).status).toBe(404);
  });
});
