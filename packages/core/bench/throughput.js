/**
 * Throughput: @dcache/core vs lru-cache on the same traces, in the same process, alternating which
 * goes first, several rounds. Both run with an item limit, a memory limit (lru-cache: maxSize +
 * sizeCalculation) and a TTL on every entry.
 *
 * - "mixed" is the headline workload (see WORKLOAD), replayed on a fresh cache every round.
 * - "get hits" and "sets" isolate the two paths: Zipf gets on a cache pre-filled with every key
 *   they ask for, and a sets-only Zipf trace on a fresh cache.
 */
import { LRUCache } from 'lru-cache';
import { LruCache, ENTRY_OVERHEAD } from '../dist/index.js';
import { makeTrace } from './trace.js';
import { median } from './stats.js';

export const WORKLOAD = {
  capacity: 100_000,
  ops: 1_000_000,
  keySpace: 1_000_000,
  s: 0.99,
  getShare: 0.9,
  valueBytes: 100,
  ttl: 10 * 60_000,
};

const w = WORKLOAD;
// Room for the item limit plus slack, so the memory limit is enforced but the item limit binds.
const maxMemory = w.capacity * (ENTRY_OVERHEAD + 16 + w.valueBytes + 16);
const value = 'v'.repeat(w.valueBytes);
const setOptions = { ttl: w.ttl };

const factories = {
  '@dcache/core': () => new LruCache({ maxItems: w.capacity, maxMemory, defaultTtl: w.ttl }),
  'lru-cache': () =>
    new LRUCache({
      max: w.capacity,
      maxSize: maxMemory,
      sizeCalculation: (v, k) => k.length + v.length + ENTRY_OVERHEAD + 16,
      ttl: w.ttl,
    }),
};
const names = Object.keys(factories);

/**
 * Runs `trace` `rounds` times per contender. The machine is shared, so wall-clock speed drifts
 * with other processes' load: each run is also timed in CPU seconds of this process (user +
 * system), which other processes disturb far less, and the ratio is also taken within each
 * round's back-to-back pair (in CPU and in wall-clock time).
 */
async function compare(label, trace, { rounds, prefill }) {
  const loops = {};
  const caches = {};
  for (const name of names) {
    // One copy of the timed loop per contender and workload: no shared, polymorphic call sites.
    loops[name] = (await import(`./loop.js?${encodeURIComponent(`${label}-${name}`)}`)).replay;
    if (prefill) {
      caches[name] = factories[name]();
      for (const key of prefill) caches[name].set(key, value, setOptions);
    }
  }
  const run = (name) =>
    loops[name](caches[name] ? () => caches[name] : factories[name], trace, value, setOptions);
  for (const name of names) run(name); // untimed warm-up, so both are optimised
  const wall = Object.fromEntries(names.map((n) => [n, []]));
  const cpu = Object.fromEntries(names.map((n) => [n, []]));
  const hitRate = {};
  const pairRatios = [];
  const wallPairRatios = [];
  const gets = trace.isGet.reduce((sum, g) => sum + g, 0);
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      globalThis.gc?.();
      const { ms, cpuMs, hits } = run(name);
      wall[name].push(trace.keys.length / (ms / 1000));
      cpu[name].push(trace.keys.length / (cpuMs / 1000));
      hitRate[name] = gets === 0 ? 0 : hits / gets;
    }
    pairRatios.push(cpu[names[0]][round] / cpu[names[1]][round]);
    wallPairRatios.push(wall[names[0]][round] / wall[names[1]][round]);
  }
  return {
    label,
    rounds,
    pairRatio: median(pairRatios),
    wallPairRatio: median(wallPairRatios),
    results: names.map((name) => ({
      name,
      opsPerSec: median(wall[name]),
      opsPerCpuSec: median(cpu[name]),
      all: wall[name],
      hitRate: hitRate[name],
    })),
  };
}

export async function throughput() {
  const mixed = makeTrace({ ops: w.ops, keySpace: w.keySpace, s: w.s, getShare: w.getShare });
  const hits = makeTrace({ ops: w.ops / 2, keySpace: w.capacity, s: w.s, getShare: 1, seed: 7 });
  const sets = makeTrace({ ops: w.ops / 2, keySpace: w.keySpace, s: w.s, getShare: 0, seed: 9 });
  const prefill = Array.from(new Set(hits.keys));
  return {
    distinctKeys: mixed.distinctKeys,
    mixed: await compare('mixed', mixed, { rounds: 9 }),
    hits: await compare('get hits', hits, { rounds: 5, prefill }),
    sets: await compare('sets', sets, { rounds: 5 }),
  };
}
