// @dcache/ring vs hashring, in one run: `pnpm bench` (node bench/run.js, against dist/ — build
// first). Prints Markdown tables; the README quotes them. Takes about 4 minutes on 2
// idle cores (7 under heavy load).
import { cpus, loadavg } from 'node:os';
import { DEFAULT_VNODES } from '../dist/index.js';
import { checkHashringShortcut, hashring, ours } from './contenders.js';
import { balanceOverSets, movementOverSets, weightRatioOverSets } from './distribution.js';
import { cacheKeys, nodeNames, prng } from './names.js';
import {
  buildMilliseconds,
  lookupsPerSecond,
  minorCollectionsDuring,
  retainedBytes,
} from './speed.js';
import { bytes, fixed, percent, perSecond, printTable } from './stats.js';

const KEYS = 1_000_000;
const SETS = 30; // random sets of node names per balance/movement cell
const ROUNDS = 7; // alternating rounds per speed measurement
const SPEED_KEYS = 200_000; // distinct keys per speed round: 40× hashring's LRU (5000)
const SWEEP = [160, 500, 1000, 2000, 3000, 4000];
// The weight column draws its 30 (weight-2, weight-1) name pairs from this seed, restarted for
// every vnodes setting so the rows compare the same pairs. src/properties.test.ts checks the same
// pairs (same PRNG, seed and names) per node at the default vnodes.
const WEIGHT_PAIRS_SEED = 7;

const started = Date.now();
const random = prng(2026);
const keys = cacheKeys(random, KEYS);
const positions = hashring.positionsFor(keys);
checkHashringShortcut(nodeNames(random, 10), keys.slice(0, 20_000), positions.subarray(0, 20_000));

console.log(`# @dcache/ring vs hashring — node ${process.version}, ${KEYS / 1e6}M keys`);
console.log(`median/worst over ${SETS} random sets of URL-like node names per cell`);
// Timings on a shared machine are only as good as its load: print it beside them.
const load = () =>
  loadavg()
    .map((value) => value.toFixed(1))
    .join(' ');
console.log(`${cpus().length} CPUs, load average at start: ${load()}`);

// 1. Sweep, per vnodes setting: balance for 3 nodes; how far a weight-2 node's keys stray from
// twice a weight-1 node's (|ratio / 2 − 1| over random pairs); memory and build time, 100 nodes.
const hundred = nodeNames(random, 100);
const sweepRows = SWEEP.map((vnodes) => {
  const b = balanceOverSets(ours, keys, random, { nodeCount: 3, sets: SETS, vnodes });
  const w = weightRatioOverSets(keys, prng(WEIGHT_PAIRS_SEED), SETS, vnodes);
  const [buildMs] = buildMilliseconds([{ build: (n) => ours.build(n, vnodes) }], hundred, ROUNDS);
  const memory = retainedBytes(() => ours.build(hundred, vnodes));
  const mark = vnodes === DEFAULT_VNODES ? ' (default)' : '';
  return [
    `${vnodes}${mark}`,
    fixed(b.medianMax),
    fixed(b.worstMax),
    percent(b.medianStd),
    `${percent(w.median)} / ${percent(w.worst)}`,
    bytes(memory),
    `${fixed(buildMs, 1)} ms`,
  ];
});
printTable(
  'vnodes sweep (@dcache/ring): 3-node balance and weight precision vs 100-node memory and build',
  [
    'vnodes',
    'max/mean median',
    'max/mean worst',
    'std dev median',
    'weight-2 error median / worst',
    'memory (100 nodes)',
    'build CPU (100 nodes)',
  ],
  sweepRows,
);

// 2. Balance at the default vnodes vs hashring's 160 points per node.
const balanceRows = [];
for (const nodeCount of [3, 10, 100]) {
  for (const [contender, input] of [
    [ours, keys],
    [hashring, positions],
  ]) {
    const b = balanceOverSets(contender, input, random, { nodeCount, sets: SETS });
    balanceRows.push([
      String(nodeCount),
      contender.name,
      fixed(b.medianMax),
      fixed(b.worstMax),
      percent(b.medianStd),
    ]);
  }
}
printTable(
  `Balance over ${KEYS / 1e6}M keys (@dcache/ring at ${DEFAULT_VNODES} vnodes, hashring at its 160 points)`,
  ['nodes', 'ring', 'max/mean median', 'max/mean worst', 'std dev median'],
  balanceRows,
);

// 3. Movement when a 4th node joins 3 (ideal: 1/4 of the keys move, all to the new node).
const movementRows = [
  [ours, keys],
  [hashring, positions],
].map(([contender, input]) => {
  const m = movementOverSets(contender, input, random, SETS);
  return [
    contender.name,
    percent(m.median),
    percent(m.worst),
    `${fixed(m.median / 0.25, 2)}×`,
    `${fixed(m.worst / 0.25, 2)}×`,
  ];
});
printTable(
  'Keys moved when a 4th node joins 3 (ideal 25%)',
  ['ring', 'median', 'worst', 'median / ideal', 'worst / ideal'],
  movementRows,
);

// 4. Lookup throughput over precomputed keys, 10 nodes. hashring's LRU (5000 entries) cannot
// help: the keys are distinct and cycle in order.
const speedKeys = keys.slice(0, SPEED_KEYS);
const ten = nodeNames(random, 10);
const ring = ours.build(ten);
const ketama = hashring.build(ten);
const sinkOf = (lookup) => (list) => {
  let sink = 0; // kept a small integer: a growing double would itself allocate
  for (let i = 0; i < list.length; i++) sink = (sink + lookup(list[i]).length) | 0;
  return sink;
};
const speedRows = [];
for (const [label, mine, theirs] of [
  ['get(key)', sinkOf((k) => ring.get(k)), sinkOf((k) => ketama.get(k))],
  [
    'getN(key, 2) / range(key, 2)',
    sinkOf((k) => ring.getN(k, 2)),
    sinkOf((k) => ketama.range(k, 2)),
  ],
]) {
  const [a, b] = lookupsPerSecond([{ run: mine }, { run: theirs }], speedKeys, ROUNDS);
  speedRows.push([
    label,
    perSecond(a.median),
    perSecond(b.median),
    `${fixed(a.median / b.median, 1)}×`,
  ]);
}
printTable(
  `Lookups per second, 10 nodes, ${SPEED_KEYS / 1000}k precomputed keys, median of ${ROUNDS} alternating rounds`,
  ['operation', '@dcache/ring', 'hashring', 'ratio'],
  speedRows,
);

// 5. Allocation: young-generation GCs while looking up (allocating even 16 bytes per call would
// trigger dozens over 10M calls).
const nonAscii = speedKeys.map((key) => `ключ:${key}`);
const gcRows = [
  [
    `@dcache/ring get(), ${(10 * KEYS) / 1e6}M calls, ASCII keys`,
    () => {
      for (let r = 0; r < 10; r++) sinkOf((k) => ring.get(k))(keys);
    },
  ],
  [
    `@dcache/ring get(), ${SPEED_KEYS / 1000}k calls, non-ASCII keys`,
    () => sinkOf((k) => ring.get(k))(nonAscii),
  ],
  [
    `@dcache/ring getN(key, 2), ${SPEED_KEYS / 1000}k calls (returns a new array)`,
    () => sinkOf((k) => ring.getN(k, 2))(speedKeys),
  ],
  [`hashring get(), ${SPEED_KEYS / 1000}k calls`, () => sinkOf((k) => ketama.get(k))(speedKeys)],
];
for (const row of gcRows) row[1] = String(await minorCollectionsDuring(row[1]));
printTable(
  'Young-generation GCs during lookups (0 = nothing allocated per call)',
  ['workload', 'minor GCs'],
  gcRows,
);

// 6. Memory and build time for 100 nodes.
const [ourBuild, theirBuild] = buildMilliseconds([ours, hashring], hundred, ROUNDS);
const ourMemory = retainedBytes(() => ours.build(hundred));
const theirMemory = retainedBytes(() => hashring.build(hundred));
printTable(
  '100 nodes: memory and build CPU time (median)',
  ['ring', 'points', 'memory', 'build'],
  [
    [ours.name, String(100 * DEFAULT_VNODES), bytes(ourMemory), `${fixed(ourBuild, 1)} ms`],
    [hashring.name, String(100 * 160), bytes(theirMemory), `${fixed(theirBuild, 1)} ms`],
  ],
);

console.log(
  `\n(total ${((Date.now() - started) / 1000).toFixed(0)} s, load average at end: ${load()})`,
);
