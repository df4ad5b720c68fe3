#!/usr/bin/env node
/* global URL, performance */
// The client benchmark: a three-node dcache cluster on loopback (separate processes), 64 operations
// in flight, 90% get / 10% set of 100-byte values over 10k keys — through @dcache/client with
// auto-batching on and off, the same client against three canned-reply nodes — behind Node's HTTP
// server (bench/canned-node.js) and behind a bare socket read as the server's batch lane reads it
// (bench/canned-raw-node.js): the most a node could give it — memjs against three memcached processes
// and iovalkey against Redis (with and without auto-pipelining), in the same run. Contenders alternate; every one runs
// ROUNDS times; medians are reported with ratios to memjs.
//
//   pnpm --filter @dcache/client... build && pnpm --filter @dcache/client bench
//   BENCH_ROUNDS=5 BENCH_RUN_MS=2000 node bench/run.js
//   BENCH_KEYS=500 node bench/run.js        (the same workload over fewer keys)
//
// BENCH_HAND_WRITTEN=1 adds 'dcache client, hand-written exchange (bench only)': this build's
// client on the same nodes, its batches sent by bench/hand-written-exchange.js instead of undici.
//
// BENCH_BASELINE=<another checkout's packages/client, built> adds that checkout's client and server
// as contenders named '… (baseline)', on three nodes of their own, alternated like the rest: the
// cost of a change measured in the same run, on the same noisy machine, as the before/after ratio.
//
//   git worktree add /tmp/before main && (cd /tmp/before && pnpm install && pnpm build)
//   BENCH_BASELINE=/tmp/before/packages/client BENCH_ONLY='batching on|memjs' node bench/run.js
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { handWrittenTransports } from './hand-written-exchange.js';
import { freePort, hasBinary, memcachedArgs, processTracker, waitForPort } from './processes.js';
import { xorshift } from './xorshift.js';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const RUN_MS = Number(process.env.BENCH_RUN_MS ?? 2000);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 4000);
const LEAD_IN_MS = Number(process.env.BENCH_LEAD_IN_MS ?? 500);
const IN_FLIGHT = 64;
/** Keys the workload spreads over; fewer keep every process's working set in the CPU's caches. */
const KEYS = Number(process.env.BENCH_KEYS ?? 10_000);
if (!Number.isInteger(KEYS) || KEYS < 1)
  throw new RangeError(`BENCH_KEYS must be an integer >= 1, got ${KEYS}`);
const GET_SHARE = 0.9;
const VALUE = 'v'.repeat(100);
/** Where a checkout's client and server builds are, from its `packages/client` directory. */
const builds = (client) => ({
  clientDist: resolve(client, 'dist/index.js'),
  serverBin: resolve(client, '../server/bin/dcache-server.js'),
  serverDist: resolve(client, '../server/dist/cli.js'),
});
const OWN = builds(here('..'));
const BASELINE = process.env.BENCH_BASELINE ? builds(process.env.BENCH_BASELINE) : undefined;

// SIGINT: a dcache node exits cleanly on it, so --cpu-prof profiles get written.
const { start, started: children, stopAll } = processTracker('SIGINT');

/** A dcache node as its own process, via the server CLI; resolves to its URL. */
async function startDcacheNode(serverBin, index) {
  // BENCH_PROFILE_SERVERS=<dir> writes a V8 CPU profile of each node there when it exits.
  const profile = process.env.BENCH_PROFILE_SERVERS;
  // BENCH_NODE_FLAGS='--perf-basic-prof' (or V8 flags to try) is passed to this build's nodes, not
  // the baseline's: with `perf record -p <node pid>` it names the JavaScript frames.
  const flags = serverBin === OWN.serverBin ? (process.env.BENCH_NODE_FLAGS ?? '') : '';
  const child = start(process.execPath, [
    ...(profile ? ['--cpu-prof', '--cpu-prof-dir', profile] : []),
    ...flags.split(' ').filter((flag) => flag !== ''),
    serverBin,
    '--port',
    '0',
    '--node-id',
    `bench-${index}`,
    '--max-memory',
    '256mb',
  ]);
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk) => {
      output += chunk;
      const match = /listening on (https?:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`dcache node exited (${code}): ${output}`)));
  });
}

/** A canned-reply node (bench/canned-node.js or canned-raw-node.js); resolves to its URL. */
async function startCannedNode(script, stamp) {
  const child = start(process.execPath, [here(script), String(stamp)]);
  let output = '';
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`canned node exited (${code}): ${output}`)));
  });
}

async function startMemcached() {
  const port = await freePort();
  start('memcached', memcachedArgs(port));
  await waitForPort(port, 'memcached');
  return `127.0.0.1:${port}`;
}

async function startRedis() {
  const port = await freePort();
  start('redis-server', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
  ]);
  await waitForPort(port, 'redis-server');
  return port;
}

function key(i) {
  return `key:${i}`;
}

/** CPU time of a process in µs, user and system, from /proc; 0 where /proc is missing. */
function processCpu(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // Clock ticks of 10 ms.
    return { user: Number(fields[11]) * 10_000, system: Number(fields[12]) * 10_000 };
  } catch {
    return { user: 0, system: 0 };
  }
}

/** The CPU time of several processes, summed. */
function processesCpu(pids) {
  const sum = { user: 0, system: 0 };
  for (const pid of pids) {
    const { user, system } = processCpu(pid);
    sum.user += user;
    sum.system += system;
  }
  return sum;
}

/**
 * 64 workers for `ms`: ops/s, latency percentiles in ms, and where the CPU went — µs per operation
 * in this (client) process and in the contender's server processes.
 */
async function drive(ops, ms, pids = [], batching = undefined) {
  const batchingBefore = batching?.stats();
  const clientBefore = process.cpuUsage();
  const serversBefore = processesCpu(pids);
  const latencies = new Float64Array(4_000_000);
  let count = 0;
  let errors = 0;
  const deadline = performance.now() + ms;
  // The same stream of keys and get/set choices for every contender.
  const random = xorshift();
  const started = performance.now();
  async function worker() {
    while (performance.now() < deadline) {
      const k = key(Math.floor(random() * KEYS));
      const t = performance.now();
      try {
        if (random() < GET_SHARE) await ops.get(k);
        else await ops.set(k, VALUE);
      } catch {
        errors++;
      }
      if (count < latencies.length) latencies[count] = performance.now() - t;
      count++;
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  // Read before sorting the latencies: the CPU figures are the workload's, not the bookkeeping's.
  const client = process.cpuUsage(clientBefore);
  const serversAfter = processesCpu(pids);
  const serversUser = serversAfter.user - serversBefore.user;
  const serversSystem = serversAfter.system - serversBefore.system;
  const elapsed = (performance.now() - started) / 1000;
  const batchingAfter = batching?.stats();
  const sorted = latencies.subarray(0, Math.min(count, latencies.length)).sort();
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return {
    opsPerSec: count / elapsed,
    p50: at(0.5),
    p99: at(0.99),
    errors,
    clientCpu: (client.user + client.system) / count,
    serverCpu: (serversUser + serversSystem) / count,
    // From the client's getBatchingStats(): operations per batch, batches on the wire per node.
    batchSize: batchingAfter
      ? (batchingAfter.operations - batchingBefore.operations) /
        (batchingAfter.batches - batchingBefore.batches)
      : NaN,
    inFlight: batchingAfter
      ? (batchingAfter.inFlightMs - batchingBefore.inFlightMs) / (elapsed * 1000 * batching.nodes)
      : NaN,
    // Printed per round: user vs kernel time tell apart a client's own work from its syscalls.
    clientSplit: `${(client.user / count).toFixed(1)} user + ${(client.system / count).toFixed(1)} kernel`,
    serverSplit: `${(serversUser / count).toFixed(1)} user + ${(serversSystem / count).toFixed(1)} kernel`,
  };
}

async function fill(ops) {
  for (let i = 0; i < KEYS; i += IN_FLIGHT) {
    await Promise.all(
      Array.from({ length: Math.min(IN_FLIGHT, KEYS - i) }, (_, j) => ops.set(key(i + j), VALUE)),
    );
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const contenders = [];

/** "18.2 ops × 0.95 in flight/node", or "–" for contenders that do not batch. */
function formatBatch(result) {
  if (Number.isNaN(result.batchSize)) return '–';
  return `${result.batchSize.toFixed(1)} ops × ${result.inFlight.toFixed(2)} in flight/node`;
}

/** Three nodes of one build's server and its client with batching on and off. */
async function addDcache({ clientDist, serverBin }, suffix) {
  const { DistributedCacheClient } = await import(clientDist);
  const first = children.length;
  const urls = await Promise.all([0, 1, 2].map((index) => startDcacheNode(serverBin, index)));
  const pids = children.slice(first).map((child) => child.pid);
  // BENCH_CLIENT_OPTIONS='[{"maxBatchesInFlight":1},{"maxBatchesInFlight":4}]' adds one
  // batching-on contender per options object (our build only), to compare settings in one run.
  const variants = suffix === '' ? JSON.parse(process.env.BENCH_CLIENT_OPTIONS ?? '[{}]') : [{}];
  const configs = [
    ...variants.map((extra) => ({ batch: true, extra })),
    { batch: false, extra: {} },
  ];
  for (const { batch, extra } of configs) {
    // A generous timeout: on a loaded 2-core box a slow answer must not turn into a failover.
    const client = new DistributedCacheClient(urls, { batch, timeout: 10_000, ...extra });
    const label = Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : '';
    contenders.push({
      name: `dcache client, batching ${batch ? 'on' : 'off'}${suffix}${label}`,
      pids,
      // A baseline build without getBatchingStats() prints no batch figures.
      batching:
        batch && typeof client.getBatchingStats === 'function'
          ? { stats: () => client.getBatchingStats(), nodes: urls.length }
          : undefined,
      ops: { get: (k) => client.get(k), set: (k, v) => client.set(k, v) },
      close: () => client.close(),
    });
  }
  if (suffix === '' && process.env.BENCH_HAND_WRITTEN === '1') {
    const dist = (file) => resolve(clientDist, '..', file);
    const transports = handWrittenTransports(
      await import(dist('transport.js')),
      await import(dist('wire.js')),
    );
    const client = transports.build(
      () => new DistributedCacheClient(urls, { batch: true, timeout: 10_000 }),
    );
    contenders.push({
      name: 'dcache client, hand-written exchange (bench only)',
      pids,
      batching: { stats: () => client.getBatchingStats(), nodes: urls.length },
      ops: { get: (k) => client.get(k), set: (k, v) => client.set(k, v) },
      close: async () => {
        await client.close();
        transports.close();
      },
    });
  }
}

async function main() {
  if (!existsSync(OWN.clientDist))
    throw new Error('build the client first: pnpm --filter @dcache/client... build');
  if (BASELINE && !(existsSync(BASELINE.clientDist) && existsSync(BASELINE.serverDist)))
    throw new Error(
      `BENCH_BASELINE=${process.env.BENCH_BASELINE}: no ${BASELINE.clientDist} or ${BASELINE.serverDist} (build that checkout first)`,
    );
  const skipped = [];

  if (existsSync(OWN.serverDist)) await addDcache(OWN, '');
  else skipped.push('dcache (build @dcache/server first)');
  if (BASELINE) await addDcache(BASELINE, ' (baseline)');

  // The ceilings: this client against three nodes that answer without holding anything, behind
  // Node's HTTP server and behind a bare socket read as the batch lane reads it.
  for (const [name, script] of [
    ['dcache client, canned Node HTTP nodes', './canned-node.js'],
    ['dcache client, canned raw-socket nodes', './canned-raw-node.js'],
  ]) {
    const { DistributedCacheClient } = await import(OWN.clientDist);
    const { stampAt } = await import('@dcache/core');
    const first = children.length;
    const urls = await Promise.all(
      [0, 1, 2].map(() => startCannedNode(script, stampAt(Date.now()))),
    );
    const pids = children.slice(first).map((child) => child.pid);
    const client = new DistributedCacheClient(urls, { timeout: 10_000 });
    contenders.push({
      name,
      pids,
      batching: { stats: () => client.getBatchingStats(), nodes: urls.length },
      ops: { get: (k) => client.get(k), set: (k, v) => client.set(k, v) },
      close: () => client.close(),
    });
  }

  if (hasBinary('memcached')) {
    const first = children.length;
    const servers = await Promise.all([0, 1, 2].map(startMemcached));
    const pids = children.slice(first).map((child) => child.pid);
    const memjs = (await import('memjs')).default;
    const client = memjs.Client.create(servers.join(','), { logger: { log() {} } });
    contenders.push({
      name: 'memjs + 3 memcached',
      pids,
      ops: { get: (k) => client.get(k), set: (k, v) => client.set(k, v, { expires: 0 }) },
      close: async () => client.quit(),
    });
  } else skipped.push('memjs + memcached (memcached not installed)');

  if (hasBinary('redis-server')) {
    const first = children.length;
    const port = await startRedis();
    const pids = children.slice(first).map((child) => child.pid);
    const { Redis } = await import('iovalkey');
    for (const enableAutoPipelining of [false, true]) {
      const client = new Redis({
        host: '127.0.0.1',
        port,
        enableAutoPipelining,
        maxRetriesPerRequest: 1,
      });
      client.on('error', () => undefined);
      contenders.push({
        name: `iovalkey + redis${enableAutoPipelining ? ', auto-pipelining' : ''}`,
        pids,
        ops: { get: (k) => client.get(k), set: (k, v) => client.set(k, v) },
        close: () => client.quit(),
      });
    }
  } else skipped.push('iovalkey + redis (redis-server not installed)');

  // BENCH_ONLY=<substring>[|<substring>…] keeps only matching contenders (to profile one of them,
  // or to compare two: BENCH_ONLY='batching on|memjs').
  const only = process.env.BENCH_ONLY?.split('|');
  if (only) {
    const kept = (c) => only.some((part) => c.name.includes(part));
    for (const contender of contenders.filter((c) => !kept(c))) await contender.close();
    contenders.splice(0, contenders.length, ...contenders.filter(kept));
  }
  for (const name of skipped) console.log(`skipped: ${name}`);
  console.log(
    `${contenders.length} contenders × ${ROUNDS} rounds × ${RUN_MS} ms, ${IN_FLIGHT} in flight, ${Math.round(GET_SHARE * 100)}% get, ${VALUE.length}-byte values, ${KEYS} keys`,
  );

  for (const contender of contenders) {
    await fill(contender.ops);
    // Warm-up: JIT (client and Node servers), connection pools. The Node nodes need seconds.
    await drive(contender.ops, WARMUP_MS);
    contender.runs = [];
  }
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate: rotate the order every round so no contender always runs first or last.
    const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]);
    for (const contender of order) {
      // Each run starts warm: a contender idle while the others ran (its nodes' keep-alive
      // connections closed, its caches cold) gets the same short unmeasured lead-in as the rest.
      await drive(contender.ops, LEAD_IN_MS);
      const result = await drive(contender.ops, RUN_MS, contender.pids, contender.batching);
      contender.runs.push(result);
      // The heap after each round: growth over a run shows something kept per operation.
      const heap = process.memoryUsage().heapUsed / 2 ** 20;
      console.log(
        `round ${round + 1}: ${contender.name.padEnd(37)} ${Math.round(result.opsPerSec).toString().padStart(7)} ops/s  p50 ${result.p50.toFixed(2)} p99 ${result.p99.toFixed(2)} ms  client ${result.clientCpu.toFixed(1)} (${result.clientSplit}) node ${result.serverCpu.toFixed(1)} (${result.serverSplit}) µs/op  batch ${formatBatch(result)}  heap ${heap.toFixed(0)} MiB${result.errors ? `  errors ${result.errors}` : ''}`,
      );
    }
  }

  const baseline = contenders.find((c) => c.name.startsWith('memjs'));
  const summary = contenders.map((c) => ({
    name: c.name,
    opsPerSec: median(c.runs.map((r) => r.opsPerSec)),
    p50: median(c.runs.map((r) => r.p50)),
    p99: median(c.runs.map((r) => r.p99)),
    errors: c.runs.reduce((sum, r) => sum + r.errors, 0),
    clientCpu: median(c.runs.map((r) => r.clientCpu)),
    serverCpu: median(c.runs.map((r) => r.serverCpu)),
    batchSize: median(c.runs.map((r) => r.batchSize)),
    inFlight: median(c.runs.map((r) => r.inFlight)),
  }));
  const base = baseline ? summary.find((s) => s.name === baseline.name).opsPerSec : undefined;
  console.log(`\nMedians of ${ROUNDS} rounds:\n`);
  console.log(
    '| contender | ops/s | p50 ms | p99 ms | vs memjs | client CPU µs/op | node CPU µs/op | ops/batch | batches in flight/node |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const s of summary) {
    const ratio = base ? `${(s.opsPerSec / base).toFixed(2)}×` : 'n/a';
    console.log(
      `| ${s.name} | ${Math.round(s.opsPerSec)} | ${s.p50.toFixed(2)} | ${s.p99.toFixed(2)} | ${ratio} | ${s.clientCpu.toFixed(1)} | ${s.serverCpu.toFixed(1)} | ${Number.isNaN(s.batchSize) ? '–' : s.batchSize.toFixed(1)} | ${Number.isNaN(s.inFlight) ? '–' : s.inFlight.toFixed(2)} |${s.errors ? ` (${s.errors} errors)` : ''}`,
    );
  }
  // Ours are added before the baseline's, so these find ours.
  const on = summary.find((s) => s.name.includes('batching on'));
  const off = summary.find((s) => s.name.includes('batching off'));
  for (const s of summary.filter((c) => c.name.endsWith(' (baseline)'))) {
    const ours = summary.find((c) => `${c.name} (baseline)` === s.name);
    if (ours)
      console.log(
        `${ours.name} / baseline: ${(ours.opsPerSec / s.opsPerSec).toFixed(2)}× ops/s, p99 ${ours.p99.toFixed(2)} / ${s.p99.toFixed(2)} ms`,
      );
  }
  if (on && off) console.log(`\nbatching on / off: ${(on.opsPerSec / off.opsPerSec).toFixed(2)}×`);
  // Issue #19's floors: ≥ 1.3× memjs + memcached and ≥ 0.9× iovalkey + Redis, p99 ≤ 1.5× memjs'.
  const valkey = summary.find((s) => s.name === 'iovalkey + redis');
  const memjs = baseline && summary.find((s) => s.name === baseline.name);
  if (on && memjs) {
    const ratio = on.opsPerSec / memjs.opsPerSec;
    console.log(
      `target batching on >= 1.3× memjs: ${ratio >= 1.3 ? 'met' : 'missed'} (${ratio.toFixed(2)}×)`,
    );
    const p99 = on.p99 / memjs.p99;
    console.log(`target p99 <= 1.5× memjs': ${p99 <= 1.5 ? 'met' : 'missed'} (${p99.toFixed(2)}×)`);
  }
  if (on && valkey) {
    const ratio = on.opsPerSec / valkey.opsPerSec;
    console.log(
      `target batching on >= 0.9× iovalkey: ${ratio >= 0.9 ? 'met' : 'missed'} (${ratio.toFixed(2)}×)`,
    );
  }
  if (on) {
    console.log(
      `target client CPU <= 8 µs/op: ${on.clientCpu <= 8 ? 'met' : 'missed'} (${on.clientCpu.toFixed(1)})`,
    );
    console.log(
      `target node CPU <= 3 µs/op: ${on.serverCpu <= 3 ? 'met' : 'missed'} (${on.serverCpu.toFixed(1)})`,
    );
  }
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const contender of contenders)
      await Promise.resolve(contender.close()).catch(() => undefined);
    stopAll();
  });
