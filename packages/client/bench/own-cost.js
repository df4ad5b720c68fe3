#!/usr/bin/env node
/* global URL, setImmediate, performance */
// The client's own CPU per operation, without HTTP: the benchmark's workload (64 in flight, 90%
// get / 10% set of 100-byte values over 10k keys, three nodes, replicas 2) through a client whose
// transport answers every batch on the next turn. The figure includes that stub's own small work
// (building the results, a timer and a promise per batch), so it reads slightly high. Also msgpack encode + decode of a 20-operation
// batch envelope. Medians of 5 measured rounds after a warm-up.
//
//   pnpm --filter @dcache/ring build && pnpm --filter @dcache/client... build
//   node bench/own-cost.js            (in packages/client; ~15 s)
import { fileURLToPath } from 'node:url';
import { xorshift } from './xorshift.js';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const { Transport } = await import(here('../dist/transport.js'));
const { DistributedCacheClient } = await import(here('../dist/index.js'));
const { encodeValue } = await import(here('../dist/codec.js'));
const { encodeBatch, decodeBatch } = await import(here('../dist/wire.js'));

const ROUNDS = 5;
const VALUE = 'x'.repeat(100);
const stored = encodeValue(VALUE);
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

// The stub: a get hits, a set is acknowledged — what a node answers, minus the network.
Transport.prototype.batch = function stubBatch(_node, ops) {
  const results = ops.map((op) =>
    op[0] === 'get' ? [200, stored.bytes, stored.flags, 1, null] : [204, 1],
  );
  return new Promise((resolve) => setImmediate(() => resolve(results)));
};
const client = new DistributedCacheClient(
  ['http://127.0.0.1:1', 'http://127.0.0.1:2', 'http://127.0.0.1:3'],
  { timeout: 10_000 },
);

const random = xorshift();

async function drive(ms) {
  let count = 0;
  const deadline = performance.now() + ms;
  async function worker() {
    while (performance.now() < deadline) {
      const key = `key:${Math.floor(random() * 10_000)}`;
      if (random() < 0.9) {
        if ((await client.get(key)) !== VALUE) throw new Error(`wrong value for ${key}`);
      } else await client.set(key, VALUE);
      count++;
    }
  }
  const before = process.cpuUsage();
  await Promise.all(Array.from({ length: 64 }, worker));
  const used = process.cpuUsage(before);
  return { opsPerSec: count / (ms / 1000), cpuPerOp: (used.user + used.system) / count };
}

console.log(`Node ${process.version}`);
await drive(2000);
const runs = [];
for (let round = 0; round < ROUNDS; round++) runs.push(await drive(2000));
await client.close();
console.log(
  `client (+ stub) over a stub transport: ${Math.round(median(runs.map((r) => r.opsPerSec)))} ops/s, ` +
    `${median(runs.map((r) => r.cpuPerOp)).toFixed(2)} µs of CPU per operation`,
);

const ops = Array.from({ length: 20 }, (_, i) =>
  i % 10 === 0 ? ['set', `key:${i}`, stored.bytes, stored.flags, null, null] : ['get', `key:${i}`],
);
const answer = new Uint8Array(
  encodeBatch(
    Array.from({ length: 20 }, (_, i) => [200, stored.bytes, stored.flags, 1000 + i, null]),
  ),
);
const encodeTimes = [];
const decodeTimes = [];
const calls = 50_000;
for (let round = 0; round <= ROUNDS; round++) {
  let before = process.cpuUsage();
  for (let i = 0; i < calls; i++) encodeBatch(ops);
  let used = process.cpuUsage(before);
  if (round > 0) encodeTimes.push((used.user + used.system) / calls);
  before = process.cpuUsage();
  for (let i = 0; i < calls; i++) decodeBatch(answer, 20);
  used = process.cpuUsage(before);
  if (round > 0) decodeTimes.push((used.user + used.system) / calls);
}
console.log(
  `20-operation batch envelope: encode ${median(encodeTimes).toFixed(2)} µs, ` +
    `decode of its answer ${median(decodeTimes).toFixed(2)} µs`,
);
