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

/** Per contender, the median over rounds of every numeric field, alternating which runs first. */
function probeBoth(name, extra = []) {
  const runs = { ours: [], 'lru-cache': [] };
  for (let round = 0; round < MEMORY_ROUNDS; round++) {
    const order = round % 2 === 0 ? ['ours', 'lru-cache'] : ['lru-cache', 'ours'];
    for (const impl of order) runs[impl].push(probe(name, impl, ...extra));
  }
  const medians = (results) =>
    Object.fromEntries(
      Object.keys(results[0]).map((field) => [field, median(results.map((r) => r[field]))]),
    );
  return { ours: medians(runs.ours), theirs: medians(runs['lru-cache']) };
}

const verdict = (ok) => (ok ? 'met' : 'MISSED');

/** The targets of issue #19: ops/s on the mixed trace, heap per entry, both against lru-cache. */
const MIXED_TARGET = 1.3;
const HEAP_TARGET = 0.75;

/** Table rows for one throughput comparison; only the headline "mixed" workload has a target. */
function throughputRows(t) {
  const [a, b] = t.results;
  const target = t.label === 'mixed' ? `≥ ${MIXED_TARGET}×` : '';
  const judge = (ok) => (t.label === 'mixed' ? verdict(ok) : '');
  const wall = a.opsPerSec / b.opsPerSec;
  const cpu = a.opsPerCpuSec / b.opsPerCpuSec;
  return [
    [
      `${t.label}: ops/s, wall clock, median of ${t.rounds}`,
      fmt(a.opsPerSec),
      fmt(b.opsPerSec),
      `${fmt(wall, 2)}×`,
      target,
      judge(wall >= MIXED_TARGET),
    ],
    [
      `${t.label}: median of paired wall-clock ratios`,
      '',
      '',
      `${fmt(t.wallPairRatio, 2)}×`,
      target,
      judge(t.wallPairRatio >= MIXED_TARGET),
    ],
    [
      `${t.label}: ops per CPU second, median`,
      fmt(a.opsPerCpuSec),
      fmt(b.opsPerCpuSec),
      `${fmt(cpu, 2)}×`,
      target,
      judge(cpu >= MIXED_TARGET),
    ],
    [
      `${t.label}: median of paired CPU ratios`,
      '',
      '',
      `${fmt(t.pairRatio, 2)}×`,
      target,
      judge(t.pairRatio >= MIXED_TARGET),
    ],
  ];
}
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
const [ours, theirs] = tp.mixed.results;

const hits = probeBoth('getHits');
const hitsPlain = probeBoth('getHits', ['plain']);
const perEntry = probeBoth('perEntry');
const empty = probeBoth('nearlyEmpty');
const strings = probe('accountedStrings');
const buffers = probe('accountedBuffers');
const within = (r) => Math.abs(r - 1) <= 0.15;

console.log('');
console.log(
  table([
    ['measure', '@dcache/core', 'lru-cache', 'ratio', 'target', ''],
    ...[tp.mixed, tp.hits, tp.sets].flatMap((t) => throughputRows(t)),
    [
      'hit rate on the trace',
      `${fmt(ours.hitRate * 100, 1)}%`,
      `${fmt(theirs.hitRate * 100, 1)}%`,
      '',
      'equal',
      verdict(Math.abs(ours.hitRate - theirs.hitRate) < 0.01),
    ],
    [
      'heap growth per get hit, TTL on: min (median) of 10 rounds, bytes',
      `${fmt(hits.ours.minBytesPerHit, 4)} (${fmt(hits.ours.medianBytesPerHit, 4)})`,
      `${fmt(hits.theirs.minBytesPerHit, 4)} (${fmt(hits.theirs.medianBytesPerHit, 4)})`,
      '',
      '≈ 0',
      verdict(hits.ours.minBytesPerHit < 0.05),
    ],
    [
      'heap growth per get hit, no TTL: min (median), bytes',
      `${fmt(hitsPlain.ours.minBytesPerHit, 4)} (${fmt(hitsPlain.ours.medianBytesPerHit, 4)})`,
      `${fmt(hitsPlain.theirs.minBytesPerHit, 4)} (${fmt(hitsPlain.theirs.medianBytesPerHit, 4)})`,
      '',
      '≈ 0',
      verdict(hitsPlain.ours.minBytesPerHit < 0.05),
    ],
    [
      'heap bytes per entry, 100k entries',
      fmt(perEntry.ours.bytesPerEntry, 1),
      fmt(perEntry.theirs.bytesPerEntry, 1),
      `${fmt(perEntry.ours.bytesPerEntry / perEntry.theirs.bytesPerEntry, 2)}×`,
      `≤ ${HEAP_TARGET}×`,
      verdict(perEntry.ours.bytesPerEntry <= HEAP_TARGET * perEntry.theirs.bytesPerEntry),
    ],
    [
      'maxItems 1M holding 10 entries (bytes)',
      fmt(empty.ours.bytes),
      fmt(empty.theirs.bytes),
      `${fmt(empty.ours.bytes / empty.theirs.bytes, 4)}×`,
      'grows with use',
      verdict(empty.ours.bytes < 1_000_000),
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
console.log(`Mixed rounds (ops/s): core ${ours.all.map((x) => fmt(x)).join(', ')}`);
console.log(`                 lru-cache ${theirs.all.map((x) => fmt(x)).join(', ')}`);
console.log(
  `Memory probes: medians of ${MEMORY_ROUNDS} fresh processes per contender. Total ${fmt((Date.now() - started) / 1000, 1)} s.`,
);
