// Node CPU per batched operation inside the node, without HTTP: `runBatch` (decode, run, encode)
// on client-benchmark-shaped batches (90% get / 10% set of 100-byte values, 16 ops, 1000 keys).
// What a batch costs over HTTP on top of this is Node's per-request work (parse, writeHead, one
// socket write), divided by the batch size: see README "Performance".
// Usage: node bench/batch-cpu.js [baseline dist dir] — with a baseline (another checkout's
// packages/server/dist, built), both run in alternating rounds in this process and medians are compared.
import { fileURLToPath, URL } from 'node:url';
import { pack } from 'msgpackr';

const ROUNDS = 7;
const BATCHES = 20_000;
const OPS = 16;
const VALUE = new Uint8Array(100).fill(120);

async function runner(dist) {
  const { createNodeState, nodeStore } = await import(`${dist}/http/app.js`);
  const { batchRunner } = await import(`${dist}/http/routes/batch-ops.js`);
  const { resolveOptions } = await import(`${dist}/options.js`);
  const options = resolveOptions({ maxMemory: '256mb', logLevel: 'silent' });
  const replicas = nodeStore(options);
  const run = batchRunner(createNodeState(options, replicas));
  for (let i = 0; i < 1000; i++) replicas.set(`key:${i}`, { bytes: VALUE, flags: 0 });
  return run;
}

const bodies = Array.from({ length: 64 }, (_, b) =>
  pack(
    Array.from({ length: OPS }, (_, i) => {
      const key = `key:${(b * 37 + i * 13) % 1200}`; // some misses
      return i % 10 === 9 ? ['set', key, VALUE, 0, null, null] : ['get', key];
    }),
  ),
);

/** CPU µs per operation of one round. */
function round(run) {
  const start = process.cpuUsage();
  let bytes = 0;
  for (let i = 0; i < BATCHES; i++) bytes += run(bodies[i & 63]).length;
  const { user, system } = process.cpuUsage(start);
  if (bytes === 0) throw new Error('no results');
  return (user + system) / BATCHES / OPS;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const own = fileURLToPath(new URL('../dist', import.meta.url));
const targets = [['this build', await runner(own)]];
if (process.argv[2]) targets.push(['baseline', await runner(process.argv[2])]);
const samples = targets.map(() => []);
for (const [, run] of targets) round(run); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  // Alternate the order every round, so neither always runs first.
  const order = [...targets.keys()];
  if (r % 2 === 1) order.reverse();
  for (const i of order) samples[i].push(round(targets[i][1]));
}
for (const [i, [name]] of targets.entries()) {
  console.log(
    `${name}: ${median(samples[i]).toFixed(2)} µs of node CPU per batched op (median of ${ROUNDS} rounds × ${BATCHES} batches of ${OPS})`,
  );
}
if (targets.length === 2)
  console.log(`ratio: ${(median(samples[0]) / median(samples[1])).toFixed(2)}× the baseline's CPU`);
