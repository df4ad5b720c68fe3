/**
 * One memory measurement per process (so that one measurement's garbage or heap layout cannot
 * skew another): `node --expose-gc bench/memory-probe.js <probe>` prints a JSON result.
 * "Real" memory is V8's heapUsed plus external memory (typed-array backing stores live there),
 * read after two full GCs.
 */
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { LruCache, ENTRY_OVERHEAD } from '../dist/index.js';

const gc = globalThis.gc;
if (typeof gc !== 'function') throw new Error('run with node --expose-gc');

function realBytes() {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

const N = 100_000;
const TTL = 10 * 60_000;
const MAX_MEMORY = 2 ** 31;

/** A cache of `impl` ('ours' or 'lru-cache') with an item limit, a memory limit and (unless ttl is false) a TTL. */
function make(impl, maxItems, ttl = true) {
  return impl === 'ours'
    ? new LruCache({ maxItems, maxMemory: MAX_MEMORY, ...(ttl ? { defaultTtl: TTL } : {}) })
    : new LRUCache({
        max: maxItems,
        maxSize: MAX_MEMORY,
        sizeCalculation: (v, k) => k.length + v.length + ENTRY_OVERHEAD,
        ...(ttl ? { ttl: TTL } : {}),
      });
}

const probes = {
  /** Heap bytes per entry of the cache's own structures (keys and value created beforehand). */
  perEntry(impl) {
    const keys = Array.from({ length: N }, (_, i) => `key:${i}`);
    const value = 'v'.repeat(100);
    const before = realBytes();
    const cache = make(impl, N);
    for (const key of keys) cache.set(key, value);
    const after = realBytes();
    return { bytesPerEntry: (after - before) / N, size: cache.size };
  },

  /** What a cache sized for 1M items costs while it holds 10. */
  nearlyEmpty(impl) {
    const before = realBytes();
    const cache = make(impl, 1_000_000);
    for (let i = 0; i < 10; i++) cache.set(`key:${i}`, 'v'.repeat(100));
    const after = realBytes();
    return { bytes: after - before, size: cache.size };
  },

  /**
   * Heap growth per get hit, over rounds of 100k hits with no GC inside a round. A per-hit
   * allocation would grow the heap in every round; the JIT's own allocations while it is still
   * compiling (slow on a loaded machine) show up in some rounds only. So the minimum over the
   * rounds is the steady-state cost of a hit; the median is reported too.
   */
  getHits(impl, ttl = 'ttl') {
    const keys = Array.from({ length: N }, (_, i) => `key:${i}`);
    const cache = make(impl, N, ttl === 'ttl');
    for (const key of keys) cache.set(key, 'v'.repeat(100));
    let found = 0;
    for (let round = 0; round < 12; round++) found += hitAll(cache, keys); // let the JIT settle
    const deltas = [];
    for (let round = 0; round < 10; round++) {
      gc();
      const before = process.memoryUsage().heapUsed;
      found += hitAll(cache, keys);
      deltas.push((process.memoryUsage().heapUsed - before) / N);
    }
    deltas.sort((a, b) => a - b);
    return { minBytesPerHit: deltas[0], medianBytesPerHit: (deltas[4] + deltas[5]) / 2, found };
  },

  /**
   * The fixed per-entry overhead (ENTRY_OVERHEAD): real growth per entry minus the key's UTF-8
   * bytes and the value's estimate, with small-integer values (which V8 stores in the slot itself).
   */
  overhead(count) {
    const n = Number(count ?? N);
    const before = realBytes();
    const cache = new LruCache({ maxMemory: MAX_MEMORY, defaultTtl: TTL });
    let keyBytes = 0;
    for (let i = 0; i < n; i++) {
      const key = `key:${i}`;
      keyBytes += Buffer.byteLength(key);
      cache.set(key, i);
    }
    const after = realBytes();
    return { n, overhead: (after - before - keyBytes - 8 * n) / n, configured: ENTRY_OVERHEAD };
  },

  /** Accounted memory vs real heap growth for 100k entries of 100-byte strings. */
  accountedStrings() {
    return accounted(() => randomBytes(50).toString('hex'));
  },

  /** Accounted memory vs real heap growth for 100k entries of 1 KiB buffers. */
  accountedBuffers() {
    return accounted(() => {
      const b = Buffer.alloc(1024);
      b.writeUInt32LE(Math.floor(Math.random() * 2 ** 32), 0);
      return b;
    });
  },
};

function hitAll(cache, keys) {
  let found = 0;
  for (let i = 0; i < keys.length; i++) if (cache.get(keys[i]) !== undefined) found++;
  return found;
}

function accounted(makeValue) {
  const before = realBytes();
  const cache = new LruCache({ maxMemory: MAX_MEMORY, defaultTtl: TTL });
  for (let i = 0; i < N; i++) cache.set(`key:${i}`, makeValue());
  const after = realBytes();
  const real = after - before;
  return { real, accounted: cache.memoryUsed, ratio: cache.memoryUsed / real, size: cache.size };
}

const [probe, ...args] = process.argv.slice(2);
if (!(probe in probes)) throw new Error(`unknown probe ${probe}`);
process.stdout.write(JSON.stringify(probes[probe](...args)) + '\n');
