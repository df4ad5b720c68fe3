#!/usr/bin/env node
/* global URL, setTimeout, performance */
// The scale benchmark: hit ratio and p99 latency through a scale-up (3 → 4 nodes), a scale-down
// (4 → 3) and a rolling restart of three nodes, under cache traffic — Zipf(0.99) keys, 90% gets, a
// miss loaded and stored at once (cache-aside), paced at a fixed rate — for @dcache/client over
// dcache nodes (replicas 1 and 2) and, in the same run, memjs over memcached going through the same
// change. Before each step every key of a key space of its own is written, so the hit ratio before
// it is about 100% and no copy left by an earlier step answers for a key.
//
//   pnpm --filter @dcache/server... build && pnpm --filter @dcache/client... build
//   cd packages/client && pnpm bench:scale            # about 3 minutes
//   BENCH_ONLY='memjs' BENCH_RATE=1000 node bench/scale.js
//   knobs: BENCH_RATE (2000 calls/s), BENCH_IN_FLIGHT (64), BENCH_KEYS (10000),
//          BENCH_ROLL_GAP_MS (1500), BENCH_ONLY=<regexp on the system's name>,
//          BENCH_RESTORE_RATE (the client's restoreRate; its default when unset)
//
// How each system goes through a step:
// - dcache: `addNode` / `removeNode` on the client (what DNS discovery does on a record change);
//   on a scale-down the leaving node serves until the client's transition window closes (at once
//   without warm transitions), then gets SIGTERM. Rolling restart: each node in turn SIGTERM (it
//   saves its `--snapshot-file`), restarted from the snapshot on the same port, 1.5 s apart
//   (never-stale's settle time; BENCH_ROLL_GAP_MS); the client's node list does not change.
// - memjs: its ring is `hash(key) % servers`, fixed at creation, so a scale step is a new client
//   with 4 (or 3) servers, as a memjs user would do it; a scale-down stops the leaving memcached at
//   once (no client can use it any more). Rolling restart: each memcached in turn SIGTERM and
//   restarted (empty: memcached keeps nothing across a restart by default), 1.5 s apart.
//
// Windows: "before" is the 3 s before the step; "after" the 10 s from its start (or until 2 s after
// a longer rolling restart ends). Latency is a call's time from its start (open loop, at most
// BENCH_IN_FLIGHT calls in flight: a call that waits for a slot is counted from when it began).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  freePort,
  hasBinary,
  memcachedArgs,
  processTracker,
  sleep,
  stop,
  waitForPort,
} from './processes.js';
import { xorshift } from './xorshift.js';
import { zipf } from './zipf.js';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const CLIENT_DIST = here('../dist/index.js');
const SERVER_BIN = here('../../server/bin/dcache-server.js');
const SERVER_DIST = here('../../server/dist/cli.js');
const RATE = Number(process.env.BENCH_RATE ?? 2000);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 64);
const KEYS = Number(process.env.BENCH_KEYS ?? 10_000);
const BEFORE_MS = 3000;
const AFTER_MS = 10_000;
/** Between one node's restart and the next one's stop (never-stale's settle time by default). */
const ROLL_GAP_MS = Number(process.env.BENCH_ROLL_GAP_MS ?? 1500);
const GET_SHARE = 0.9;
const ZIPF_S = 0.99;
const VALUE = 'v'.repeat(100);
const ONLY = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;
const RESTORE_RATE = process.env.BENCH_RESTORE_RATE
  ? { restoreRate: Number(process.env.BENCH_RESTORE_RATE) }
  : {};

const dir = mkdtempSync(join(tmpdir(), 'dcache-bench-scale-'));
const { start } = processTracker('SIGKILL', () => rmSync(dir, { recursive: true, force: true }));

/** A dcache node through the CLI on `port`, with a snapshot file; resolves once it listens. */
async function startDcacheNode(index, port) {
  const child = start(process.execPath, [
    SERVER_BIN,
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--node-id',
    `scale-${index}`,
    '--snapshot-file',
    join(dir, `node-${index}.snapshot`),
    '--log-level',
    'warn',
  ]);
  await waitForPort(port, `dcache node ${index}`);
  return child;
}

async function startMemcached(port) {
  const child = start('memcached', memcachedArgs(port));
  await waitForPort(port, 'memcached');
  return child;
}

/** Each step has keys of its own, so no copy left by an earlier step can answer for it. */
let phase = 0;
const key = (rank) => `p${phase}:${rank}`;

/**
 * Paced cache traffic through `ops()` (called per call, so a step may swap the client) until
 * `stop()`; every call is recorded as [start, latency, kind (0 hit, 1 miss, 2 set, 3 error)].
 */
function traffic(ops) {
  const random = xorshift(7);
  const draw = zipf(KEYS, ZIPF_S, random);
  const records = [];
  let stopped = false;
  let inFlight = 0;
  const started = performance.now();
  let issued = 0;
  const one = async () => {
    const k = key(draw());
    const t = performance.now();
    try {
      if (random() < GET_SHARE) {
        const value = await ops().get(k);
        records.push([t, performance.now() - t, value === undefined ? 1 : 0]);
        if (value === undefined) await ops().set(k, VALUE);
      } else {
        await ops().set(k, VALUE);
        records.push([t, performance.now() - t, 2]);
      }
    } catch {
      records.push([t, performance.now() - t, 3]);
    }
  };
  const done = (async () => {
    const running = new Set();
    while (!stopped) {
      const due = started + (issued * 1000) / RATE;
      await sleep(due - performance.now());
      if (inFlight >= IN_FLIGHT) await Promise.race(running);
      issued++;
      inFlight++;
      const call = one().finally(() => {
        inFlight--;
        running.delete(call);
      });
      running.add(call);
    }
    await Promise.all(running);
  })();
  return {
    records,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

function summarise(records, from, to) {
  let gets = 0;
  let hits = 0;
  let errors = 0;
  const latencies = [];
  for (const [start, latency, kind] of records) {
    if (start < from || start >= to) continue;
    latencies.push(latency);
    if (kind === 3) errors++;
    else if (kind !== 2) {
      gets++;
      if (kind === 0) hits++;
    }
  }
  latencies.sort((a, b) => a - b);
  const p99 = latencies[Math.min(latencies.length - 1, Math.ceil(0.99 * latencies.length) - 1)];
  return { ratio: hits / gets, p99, errors, calls: latencies.length, misses: gets - hits };
}

async function fill(set) {
  phase++;
  for (let i = 0; i < KEYS; i += IN_FLIGHT) {
    await Promise.all(
      Array.from({ length: Math.min(IN_FLIGHT, KEYS - i) }, (_, j) => set(key(i + j), VALUE)),
    );
  }
}

/** Runs `step` under traffic; returns the before and after windows' numbers. */
async function measure(ops, step) {
  const load = traffic(ops);
  await sleep(BEFORE_MS + 1000);
  const at = performance.now();
  await step();
  const end = performance.now();
  const until = Math.max(at + AFTER_MS, end + 2000);
  await sleep(until - performance.now());
  await load.stop();
  return {
    before: summarise(load.records, at - BEFORE_MS, at),
    after: summarise(load.records, at, until),
    stepMs: end - at,
  };
}

/** dcache: four nodes (the fourth joins and leaves), a client with `replicas`. */
async function dcacheSteps(replicas) {
  const { DistributedCacheClient } = await import(CLIENT_DIST);
  const ports = await Promise.all([0, 1, 2, 3].map(freePort));
  const nodes = await Promise.all(ports.map((port, i) => startDcacheNode(i, port)));
  const url = (i) => `http://127.0.0.1:${ports[i]}`;
  const results = {};
  // The window as the scale tests set it: open over the 10 s measured, closed soon after them (the
  // default 60 s maximum would keep the leaving node that long).
  const options = {
    replicas,
    timeout: 10_000,
    transition: { maxWindowMs: 12_000, quietMs: 3000 },
    ...RESTORE_RATE,
  };
  let client = new DistributedCacheClient([0, 1, 2].map(url), options);
  const ops = () => client;
  const refill = () => fill((k, v) => client.set(k, v));
  const windowClosed = async () => {
    // Warm transitions keep the leaving node as a fallback until the window closes.
    const deadline = Date.now() + 14_000;
    while (Date.now() < deadline && (await client.getStats()).transition?.open === true) {
      await sleep(100);
    }
  };
  try {
    await refill();
    results['scale-up 3 → 4'] = await measure(ops, () => client.addNode(url(3)));
    results['scale-up 3 → 4'].transition = (await client.getStats()).transition;
    // Each step from a steady state: the previous window closed first.
    await windowClosed();
    await refill();
    results['scale-down 4 → 3'] = await measure(ops, async () => {
      await client.removeNode(url(3));
      await windowClosed();
      await stop(nodes[3]);
    });
    results['scale-down 4 → 3'].transition = (await client.getStats()).transition;
    await client.close();
    client = new DistributedCacheClient([0, 1, 2].map(url), options);
    await refill();
    const counted = client.getReplicationStats();
    results['rolling restart'] = await measure(ops, async () => {
      for (const i of [0, 1, 2]) {
        await stop(nodes[i]);
        nodes[i] = await startDcacheNode(i, ports[i]);
        await sleep(ROLL_GAP_MS);
      }
    });
    // Where the roll's misses come from: reads of restored entries no replica could vouch for
    // (unverifiedDropped), against the restores that vouch for them (restoredKeys, at restoreRate).
    const now = client.getReplicationStats();
    results['rolling restart'].replication = Object.fromEntries(
      ['unverifiedDropped', 'verifications', 'restoresRun', 'restoredKeys'].map((name) => [
        name,
        now[name] - counted[name],
      ]),
    );
  } finally {
    await client.close();
    await Promise.all(nodes.map((node) => stop(node, 'SIGKILL')));
  }
  return results;
}

/** memjs over memcached: a new client per ring, as memjs users change their server list. */
async function memjsSteps() {
  const memjs = (await import('memjs')).default;
  const ports = await Promise.all([0, 1, 2, 3].map(freePort));
  const servers = await Promise.all(ports.map(startMemcached));
  const create = (indices) =>
    memjs.Client.create(indices.map((i) => `127.0.0.1:${ports[i]}`).join(','), {
      logger: { log() {} },
    });
  let client = create([0, 1, 2]);
  const ops = () => ({
    get: async (k) => (await client.get(k)).value ?? undefined,
    set: (k, v) => client.set(k, v, {}),
  });
  const swap = (indices) => {
    const old = client;
    client = create(indices);
    // Calls already made on the old client finish on it.
    setTimeout(() => old.close(), 5000);
  };
  const refill = () => fill((k, v) => ops().set(k, v));
  const results = {};
  try {
    await refill();
    results['scale-up 3 → 4'] = await measure(ops, () => swap([0, 1, 2, 3]));
    await refill();
    results['scale-down 4 → 3'] = await measure(ops, async () => {
      swap([0, 1, 2]);
      await stop(servers[3]);
    });
    await refill();
    results['rolling restart'] = await measure(ops, async () => {
      for (const i of [0, 1, 2]) {
        await stop(servers[i]);
        servers[i] = await startMemcached(ports[i]);
        await sleep(ROLL_GAP_MS);
      }
    });
  } finally {
    client.close();
    await Promise.all(servers.map((server) => stop(server, 'SIGKILL')));
  }
  return results;
}

const fmt = (ratio) => `${(ratio * 100).toFixed(1)}%`;

async function main() {
  if (!existsSync(CLIENT_DIST))
    throw new Error('build the client first: pnpm --filter @dcache/client... build');
  if (!existsSync(SERVER_DIST))
    throw new Error('build the server first: pnpm --filter @dcache/server... build');
  const systems = [
    ['dcache, replicas 1', () => dcacheSteps(1)],
    ['dcache, replicas 2', () => dcacheSteps(2)],
  ];
  if (hasBinary('memcached')) {
    systems.push(['memjs + memcached', memjsSteps]);
  } else console.log('skipped: memjs + memcached (memcached not installed)');
  console.log(
    `Zipf(${ZIPF_S}) over ${KEYS} keys, ${GET_SHARE * 100}% gets (a miss is stored), ${RATE} calls/s, at most ${IN_FLIGHT} in flight; before = ${BEFORE_MS / 1000} s before the step, after = ${AFTER_MS / 1000} s from its start\n`,
  );
  const rows = [];
  for (const [name, run] of systems) {
    if (ONLY && !ONLY.test(name)) continue;
    const results = await run();
    for (const [step, r] of Object.entries(results)) {
      if (r.transition !== undefined) {
        console.log(`${name}, ${step}: transition stats ${JSON.stringify(r.transition)}`);
      }
      if (r.replication !== undefined) {
        console.log(
          `${name}, ${step}: ${r.after.misses} misses after; client replication counters over the step ${JSON.stringify(r.replication)}`,
        );
      }
      rows.push(
        `| ${name} | ${step} | ${fmt(r.before.ratio)} | ${fmt(r.after.ratio)} | ${(r.after.ratio / r.before.ratio).toFixed(3)} | ${r.before.p99.toFixed(1)} | ${r.after.p99.toFixed(1)} | ${r.after.errors} |`,
      );
    }
  }
  console.log(
    [
      '| system | step | hit ratio before | hit ratio after | after / before | p99 before ms | p99 after ms | errors after |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
      ...rows,
    ].join('\n'),
  );
}

await main();
