// Node CPU per batched operation inside the node, without HTTP: `runBatch` (decode, run, encode)
// on client-benchmark-shaped batches (16 ops: 15 gets and a set of a 100-byte value; 1000 keys).
// What a batch costs over HTTP on top of this is Node's per-request work (parse, writeHead, one
// socket write), divided by the batch size: see README "Performance".
// Usage: node bench/batch-cpu.js [baseline dist dir] — with a baseline (another checkout's
// packages/server/dist, built), both run in alternating rounds in this process and medians are compared.
// Knobs: BATCH_CPU_KEYS (1000) keys stored, the batches' keys drawn from 1.2× as many (some miss);
// BATCH_CPU_COLD_BYTES (0) bytes of a 64 MiB buffer written before each batch: in the client
// benchmark the client and the kernel run between two batches of a node and evict its data from
// the CPU caches, which a loop of batches alone never does (docs/performance/server.md, "With the
// CPU caches cold").
// With it, what is measured is the time of the batches alone (this thread's, GC pauses included)
// instead of the process's CPU time, which would count the evicting too.
// BATCH_CPU_KIND (mixed): every operation a hit, a miss or a set instead of the mix, to price each.
import { fileURLToPath, URL } from 'node:url';
import { pack } from 'msgpackr';
import { xorshift } from '../../client/bench/xorshift.js';
import { cacheEvictor, evictionBytes } from './cache-evictor.js';

const ROUNDS = 7;
const BATCHES = 20_000;
const OPS = 16;
const VALUE = new Uint8Array(100).fill(120);
const KEYS = Number(process.env.BATCH_CPU_KEYS ?? 1000);
const COLD_BYTES = evictionBytes('BATCH_CPU_COLD_BYTES', process.env.BATCH_CPU_COLD_BYTES, 0);
if (!Number.isInteger(KEYS) || KEYS < 1) throw new RangeError('BATCH_CPU_KEYS: an integer >= 1');
const KIND = process.env.BATCH_CPU_KIND ?? 'mixed';
if (!['mixed', 'hit', 'miss', 'set'].includes(KIND)) {
  throw new RangeError('BATCH_CPU_KIND: mixed, hit, miss or set');
}

async function runner(dist) {
  const { createNodeState, nodeStore } = await import(`${dist}/http/app.js`);
  const { batchRunner } = await import(`${dist}/http/routes/batch-ops.js`);
  const { resolveOptions } = await import(`${dist}/options.js`);
  const options = resolveOptions({ maxMemory: '256mb', logLevel: 'silent' });
  const replicas = nodeStore(options);
  const run = batchRunner(createNodeState(options, replicas));
  for (let i = 0; i < KEYS; i++) replicas.set(`key:${i}`, { bytes: VALUE.slice(), flags: 0 });
  return run;
}

// The client benchmark's seeded stream: the same batches in every run.
const next = xorshift(19);
// Enough batches to reach every key about twice.
const bodies = Array.from({ length: Math.max(64, Math.ceil((KEYS * 2.4) / OPS)) }, () => {
  const body = pack(
    Array.from({ length: OPS }, (_, i) => {
      // Stored keys are key:0 to key:KEYS-1: the mix draws from 1.2× as many, so some miss.
      const drawn = Math.floor(next() * (KIND === 'mixed' ? KEYS * 1.2 : KEYS));
      const key = KIND === 'miss' ? `key:${KEYS + drawn}` : `key:${drawn}`;
      const set = KIND === 'set' || (KIND === 'mixed' && i % 10 === 9);
      return set ? ['set', key, VALUE, 0, null, null] : ['get', key];
    }),
  );
  // A plain Uint8Array, as the batch lane passes a body (values copied from it are of its class).
  return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
});
const evictCaches = cacheEvictor(COLD_BYTES);

/** µs per operation of one round: CPU time, or with COLD_BYTES the batches' own time. */
function round(run) {
  const start = process.cpuUsage();
  let running = 0n;
  let bytes = 0;
  for (let i = 0; i < BATCHES; i++) {
    if (COLD_BYTES > 0) {
      evictCaches();
      const before = process.hrtime.bigint();
      bytes += run(bodies[i % bodies.length]).length;
      running += process.hrtime.bigint() - before;
    } else {
      bytes += run(bodies[i % bodies.length]).length;
    }
  }
  const { user, system } = process.cpuUsage(start);
  if (bytes === 0) throw new Error('no results');
  const micros = COLD_BYTES > 0 ? Number(running) / 1000 : user + system;
  return micros / BATCHES / OPS;
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
    `${name}: ${median(samples[i]).toFixed(2)} µs per batched op (median of ${ROUNDS} rounds × ${BATCHES} batches of ${OPS}; ${KIND}, ${KEYS} keys, ${COLD_BYTES} bytes evicted per batch)`,
  );
}
if (targets.length === 2)
  console.log(`ratio: ${(median(samples[0]) / median(samples[1])).toFixed(2)}× the baseline's CPU`);
