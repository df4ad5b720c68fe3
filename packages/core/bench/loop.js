/**
 * The timed loop. bench/throughput.js imports this module once per contender (with a distinct
 * query string), so each contender gets its own copy of the function and its own type feedback:
 * neither pays for the other's call sites going polymorphic.
 */
import { performance } from 'node:perf_hooks';
import process from 'node:process';

/**
 * Replays `trace` on `getCache()`. Building the cache is timed too: a cache that preallocates for
 * its limit pays at construction what a growing one pays during its first sets.
 */
export function replay(getCache, trace, value, setOptions) {
  const { keys, isGet } = trace;
  const n = keys.length;
  let hits = 0;
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const cache = getCache();
  for (let i = 0; i < n; i++) {
    const key = keys[i];
    if (isGet[i] === 1) {
      if (cache.get(key) !== undefined) hits++;
    } else {
      cache.set(key, value, setOptions);
    }
  }
  const ms = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, hits };
}
