/**
 * `pnpm bench:snapshot` (node bench/snapshot.js): the cost of a warm-restart snapshot, @dcache/core
 * vs lru-cache, against the built dist. Each round fills a cache with the same entries, then times
 * `dump()` and a `load()` of that dump into a fresh cache (construction included), one contender
 * after the other, alternating which goes first, after one untimed warm-up each. Medians of the
 * rounds, in wall-clock and CPU milliseconds, and their ratios (lru-cache time / ours: > 1 = we are
 * faster). Each round checks that both dumps hold every entry, least recently used first, and
 * that the load restored them all, so neither contender can win by doing less.
 */
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { LRUCache } from 'lru-cache';
import { LruCache } from '../dist/index.js';
import { fmt, median, table } from './stats.js';

const ENTRIES = 100_000;
const ROUNDS = 7;
const TTL = 10 * 60_000;
const value = 'v'.repeat(100);
const keys = Array.from({ length: ENTRIES }, (_, i) => `key:${i}`);

const contenders = {
  '@dcache/core': () => new LruCache({ maxItems: ENTRIES, sweepInterval: 0 }),
  'lru-cache': () => new LRUCache({ max: ENTRIES }),
};

function filled(make) {
  const cache = make();
  for (const key of keys) cache.set(key, value, { ttl: TTL });
  return cache;
}

function timed(fn) {
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const result = fn();
  const ms = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, result };
}

function round(make) {
  const source = filled(make);
  const dump = timed(() => source.dump());
  const load = timed(() => {
    const target = make();
    target.load(dump.result);
    return target;
  });
  if (load.result.size !== ENTRIES || dump.result.length !== ENTRIES) {
    throw new Error('snapshot lost entries');
  }
  const [firstKey, firstRecord] = dump.result[0];
  if (firstKey !== keys[0] || firstRecord.value !== value) {
    throw new Error('dump is not least recently used first');
  }
  return { dump, load };
}

const samples = Object.fromEntries(
  Object.keys(contenders).map((name) => [name, { dump: [], load: [] }]),
);
for (const make of Object.values(contenders)) round(make); // warm-up, untimed
for (let r = 0; r < ROUNDS; r++) {
  const names = Object.keys(contenders);
  if (r % 2 === 1) names.reverse();
  for (const name of names) {
    globalThis.gc?.();
    const { dump, load } = round(contenders[name]);
    samples[name].dump.push(dump);
    samples[name].load.push(load);
  }
}

const ours = samples['@dcache/core'];
const theirs = samples['lru-cache'];
const rows = [['median of ' + ROUNDS + ' rounds', '@dcache/core', 'lru-cache', 'ratio']];
for (const op of ['dump', 'load']) {
  for (const [unit, field] of [
    ['ms wall', 'ms'],
    ['ms CPU', 'cpuMs'],
  ]) {
    const a = median(ours[op].map((s) => s[field]));
    const b = median(theirs[op].map((s) => s[field]));
    rows.push([
      `${op}() of ${fmt(ENTRIES)} entries, ${unit}`,
      fmt(a, 1),
      fmt(b, 1),
      `${fmt(b / a, 2)}×`,
    ]);
  }
}
console.log(
  `@dcache/core snapshot benchmark — node ${process.version}, ${process.platform}/${process.arch}`,
);
console.log(
  `${fmt(ENTRIES)} entries, 100-byte string values, ttl ${TTL} ms; ratio = lru-cache / ours.`,
);
console.log(table(rows));
for (const op of ['dump', 'load']) {
  for (const [name, runs] of [
    ['core', ours],
    ['lru-cache', theirs],
  ]) {
    console.log(`${op} rounds (ms wall), ${name}: ${runs[op].map((s) => fmt(s.ms, 1)).join(', ')}`);
  }
}
