/**
 * `pnpm bench` (node --expose-gc bench/run.js): @dcache/core vs lru-cache, against the built dist.
 * Throughput runs in this process (alternating contenders, medians of several rounds); each memory
 * probe runs in a fresh child process (bench/memory-probe.js) so measurements cannot skew each other.
 */
import { spawnSync } from 'node:child_process';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';
import { throughput, WORKLOAD } from './throughput.js';
import { fmt, median, table } from './stats.js';

const probePath = fileURLToPath(new URL('./memory-probe.js', import.meta.url));
const MEMORY_ROUNDS = 3;

function probe(...args) {
  const child = spawnSync(process.execPath, ['--expose-gc', probePath, ...args], {
    encoding: 'utf8',
  });
  if (child.status !== 0) throw new Error(`probe ${args.join(' ')} failed:\n${child.stderr}`);
  return JSON.parse(child.stdout);
}

/** Median over rounds of one numeric field, alternating the order of the two contenders. */
function probeBoth(name, field, extra = []) {
  const ours = [];
  const theirs = [];
  for (let round = 0; round < MEMORY_ROUNDS; round++) {
    const order = round % 2 === 0 ? ['ours', 'lru-cache'] : ['lru-cache', 'ours'];
    for (const impl of order)
      (impl === 'ours' ? ours : theirs).push(probe(name, impl, ...extra)[field]);
  }
  return { ours: median(ours), theirs: median(theirs) };
}

const verdict = (ok) => (ok ? 'met' : 'MISSED');
const started = Date.now();
const w = WORKLOAD;
console.log(
  `@dcache/core benchmark — node ${process.version}, ${process.platform}/${process.arch}`,
);
console.log(
  `Workload: capacity ${fmt(w.capacity)}, ${fmt(w.ops)} ops over ${fmt(w.keySpace)} Zipf(s=${w.s}) keys, ` +
    `${w.getShare * 100}% get / ${100 - w.getShare * 100}% set, ${w.valueBytes}-byte values, ttl ${w.ttl} ms, memory limit on both.`,
);

const tp = await throughput();
console.log(
  `Trace: ${fmt(tp.distinctKeys)} distinct keys (expect ~200k; a few thousand means a broken PRNG).`,
);
const [ours, theirs] = tp.results;
const speed = ours.opsPerSec / theirs.opsPerSec;

const hits = probeBoth('getHits', 'bytesPerHit');
const hitsPlain = probeBoth('getHits', 'bytesPerHit', ['plain']);
const perEntry = probeBoth('perEntry', 'bytesPerEntry');
const empty = probeBoth('nearlyEmpty', 'bytes');
const strings = probe('accountedStrings');
const buffers = probe('accountedBuffers');
const within = (r) => Math.abs(r - 1) <= 0.15;

console.log('');
console.log(
  table([
    ['measure', '@dcache/core', 'lru-cache', 'ratio', 'target', ''],
    [
      `throughput, wall clock, median of ${tp.rounds} (ops/s)`,
      fmt(ours.opsPerSec),
      fmt(theirs.opsPerSec),
      `${fmt(speed, 2)}×`,
      '≥ 1.0×',
      verdict(speed >= 1),
    ],
    [
      `throughput per CPU second, median of ${tp.rounds} (ops/s)`,
      fmt(ours.opsPerCpuSec),
      fmt(theirs.opsPerCpuSec),
      `${fmt(ours.opsPerCpuSec / theirs.opsPerCpuSec, 2)}×`,
      '≥ 1.0×',
      verdict(ours.opsPerCpuSec >= theirs.opsPerCpuSec),
    ],
    [
      '  median of per-round paired CPU-time ratios',
      '',
      '',
      `${fmt(tp.pairRatio, 2)}×`,
      '≥ 1.0×',
      verdict(tp.pairRatio >= 1),
    ],
    [
      'hit rate on the trace',
      `${fmt(ours.hitRate * 100, 1)}%`,
      `${fmt(theirs.hitRate * 100, 1)}%`,
      '',
      'equal',
      verdict(Math.abs(ours.hitRate - theirs.hitRate) < 0.01),
    ],
    [
      'heap growth per get hit, TTL on (bytes)',
      fmt(hits.ours, 4),
      fmt(hits.theirs, 4),
      '',
      '≈ 0',
      verdict(hits.ours < 0.05),
    ],
    [
      'heap growth per get hit, no TTL (bytes)',
      fmt(hitsPlain.ours, 4),
      fmt(hitsPlain.theirs, 4),
      '',
      '≈ 0',
      verdict(hitsPlain.ours < 0.05),
    ],
    [
      'heap bytes per entry, 100k entries',
      fmt(perEntry.ours, 1),
      fmt(perEntry.theirs, 1),
      `${fmt(perEntry.ours / perEntry.theirs, 2)}×`,
      '≤ 1.0×',
      verdict(perEntry.ours <= perEntry.theirs),
    ],
    [
      'maxItems 1M holding 10 entries (bytes)',
      fmt(empty.ours),
      fmt(empty.theirs),
      `${fmt(empty.ours / empty.theirs, 4)}×`,
      'grows with use',
      verdict(empty.ours < 1_000_000),
    ],
  ]),
);
console.log('');
console.log(
  table([
    [
      'accounted vs real heap growth, 100k entries',
      'accounted (bytes)',
      'real (bytes)',
      'ratio',
      'target',
      '',
    ],
    [
      '100-byte strings',
      fmt(strings.accounted),
      fmt(strings.real),
      fmt(strings.ratio, 3),
      '1 ± 0.15',
      verdict(within(strings.ratio)),
    ],
    [
      '1 KiB buffers',
      fmt(buffers.accounted),
      fmt(buffers.real),
      fmt(buffers.ratio, 3),
      '1 ± 0.15',
      verdict(within(buffers.ratio)),
    ],
  ]),
);
console.log('');
console.log(`Throughput rounds (ops/s): core ${ours.all.map((x) => fmt(x)).join(', ')}`);
console.log(`                      lru-cache ${theirs.all.map((x) => fmt(x)).join(', ')}`);
console.log(
  `Memory probes: medians of ${MEMORY_ROUNDS} fresh processes per contender. Total ${fmt((Date.now() - started) / 1000, 1)} s.`,
);
