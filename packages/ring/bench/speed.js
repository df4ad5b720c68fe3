// Lookup throughput, build time, memory and allocation: the contenders alternate inside each
// round (the order flips every round) and the sections quote medians over the rounds.
import { PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { median } from './stats.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');

/** Calls `run(keys)` once per round for each contender, alternating; returns median ops/s. */
export function lookupsPerSecond(contenders, keys, rounds) {
  const samples = contenders.map(() => []);
  let sink = 0;
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const contender of order) {
      const start = process.hrtime.bigint();
      sink += contender.run(keys);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      samples[contenders.indexOf(contender)].push(keys.length / seconds);
    }
  }
  if (sink === -1) console.log('unreachable'); // keeps the results observable
  return samples.map((perRound) => ({ median: median(perRound), rounds: perRound }));
}

/**
 * Median CPU milliseconds (user + system) to build, alternating contenders, over `rounds`
 * rounds. CPU time rather than wall time: on a shared machine a build mostly waits for a core.
 */
export function buildMilliseconds(contenders, nodes, rounds) {
  const samples = contenders.map(() => []);
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const contender of order) {
      gc(); // start each build on a clean heap, not paying for garbage left by earlier sections
      const start = process.cpuUsage();
      contender.build(nodes);
      const { user, system } = process.cpuUsage(start);
      samples[contenders.indexOf(contender)].push((user + system) / 1000);
    }
  }
  return samples.map(median);
}

function usedBytes() {
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

/**
 * Median retained bytes of one ring (heap plus ArrayBuffers after full GCs), measured over
 * `count` rings held at once so allocator noise averages out.
 */
export function retainedBytes(build, rounds = 5, count = 8) {
  const samples = [];
  let held = [];
  for (let round = 0; round < rounds; round++) {
    held = []; // release the previous round's rings before measuring the baseline
    gc();
    gc();
    const before = usedBytes();
    for (let i = 0; i < count; i++) held.push(build());
    gc();
    gc();
    samples.push((usedBytes() - before) / count);
  }
  return median(samples);
}

/** Young-generation collections while `work()` runs: zero means it allocated (next to) nothing. */
export async function minorCollectionsDuring(work) {
  let minor = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (entry.detail?.kind === 1) minor++;
  });
  gc();
  await sleep(20); // GC entries are delivered asynchronously
  observer.observe({ entryTypes: ['gc'] });
  work();
  await sleep(20); // GC entries are delivered asynchronously
  observer.disconnect();
  return minor;
}
