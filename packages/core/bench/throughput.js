/**
 * Throughput: @dcache/core vs lru-cache on the same Zipf trace, in the same process, alternating
 * which goes first, ROUNDS rounds, each on a fresh cache. Both run with an item limit, a memory
 * limit (lru-cache: maxSize + sizeCalculation) and a TTL on every entry.
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
const ROUNDS = 11;

export async function throughput() {
  const w = WORKLOAD;
  const trace = makeTrace({ ops: w.ops, keySpace: w.keySpace, s: w.s, getShare: w.getShare });
  const value = 'v'.repeat(w.valueBytes);
  // Room for the item limit plus slack, so the memory limit is enforced but the item limit binds.
  const maxMemory = w.capacity * (ENTRY_OVERHEAD + 16 + w.valueBytes + 16);
  const ours = await import('./loop.js?contender=ours');
  const theirs = await import('./loop.js?contender=lru-cache');
  const setOptions = { ttl: w.ttl };
  const contenders = {
    '@dcache/core': () =>
      ours.replay(
        new LruCache({ maxItems: w.capacity, maxMemory, defaultTtl: w.ttl }),
        trace,
        value,
        setOptions,
      ),
    'lru-cache': () =>
      theirs.replay(
        new LRUCache({
          max: w.capacity,
          maxSize: maxMemory,
          sizeCalculation: (v, k) => k.length + v.length + ENTRY_OVERHEAD + 16,
          ttl: w.ttl,
        }),
        trace,
        value,
        setOptions,
      ),
  };
  const names = Object.keys(contenders);
  const opsPerSec = Object.fromEntries(names.map((n) => [n, []]));
  const opsPerCpuSec = Object.fromEntries(names.map((n) => [n, []]));
  const hitRate = {};
  // One untimed warm-up round each, so both are optimised before the timed rounds.
  for (const name of names) contenders[name]();
  // The machine is shared, so wall-clock speed drifts with other processes' load. We also time
  // each run in CPU seconds of this process (user + system, GC threads included), which other
  // processes disturb far less, and take the ratio within each round's back-to-back pair.
  const pairRatios = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      globalThis.gc?.();
      const { ms, cpuMs, hits } = contenders[name]();
      opsPerSec[name].push(w.ops / (ms / 1000));
      opsPerCpuSec[name].push(w.ops / (cpuMs / 1000));
      hitRate[name] = hits / (w.ops * w.getShare);
    }
    pairRatios.push(opsPerCpuSec[names[0]][round] / opsPerCpuSec[names[1]][round]);
  }
  return {
    distinctKeys: trace.distinctKeys,
    rounds: ROUNDS,
    pairRatio: median(pairRatios),
    results: names.map((name) => ({
      name,
      opsPerSec: median(opsPerSec[name]),
      opsPerCpuSec: median(opsPerCpuSec[name]),
      all: opsPerSec[name],
      hitRate: hitRate[name],
    })),
  };
}
