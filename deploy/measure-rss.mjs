#!/usr/bin/env node
// Measures how a node's resident memory compares with its --max-memory, to size containers:
// starts nodes through the CLI (as a container does), fills each past its limit through
// POST /v1/batch, reads some back, saves a snapshot, then stops it with SIGTERM (a second save),
// reading VmRSS and VmHWM from /proc/<pid>/status (Linux only) at each step.
//
//   node deploy/measure-rss.mjs                       # 64mb and 256mb × 100 B, 1 KiB, 100 KiB
//   node deploy/measure-rss.mjs 1gb 1024              # one limit, one value size
//   DCACHE_TOKEN=… node deploy/measure-rss.mjs --fill http://127.0.0.1:18001 256mb 100
//                                                     # only fill a running node (a container)
//
//   DCACHE_RSS_SHORT_KEYS=1 node deploy/measure-rss.mjs 256mb 100
//                                                     # keys like k123 instead of key:0000000123
//
// Needs the server built (`npx -y pnpm@10.34.8 --filter @dcache/server... build`). Each run is
// bounded: at most 3 × max-memory written and 120 s of filling.
/* global fetch */
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, URL } from 'node:url';
import { pack, unpack } from 'msgpackr';

const CLI = fileURLToPath(new URL('../packages/server/bin/dcache-server.js', import.meta.url));
const MiB = 1024 * 1024;
const FILL_SECONDS = 120;

const fillOnly = process.argv[2] === '--fill';
const [limitArg, sizeArg] = process.argv.slice(fillOnly ? 4 : 2);
const auth = process.env.DCACHE_TOKEN
  ? { authorization: `Bearer ${process.env.DCACHE_TOKEN}` }
  : {};
const limits = limitArg ? [limitArg] : ['64mb', '256mb'];
const valueSizes = sizeArg ? [Number(sizeArg)] : [100, 1024, 100 * 1024];
// Shorter keys fit more entries in the same --max-memory, and each costs V8 more than its bytes.
const keyOf =
  process.env.DCACHE_RSS_SHORT_KEYS === '1'
    ? (n) => `k${n}`
    : (n) => `key:${String(n).padStart(10, '0')}`;

function bytesOf(size) {
  const match = /^(\d+)(kb|mb|gb)$/.exec(size);
  if (!match) throw new Error(`size like 64mb expected, got ${size}`);
  return Number(match[1]) * 1024 ** { kb: 1, mb: 2, gb: 3 }[match[2]];
}

/** VmRSS and VmHWM of `pid`, in bytes. */
function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)[1]) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

async function startNode(args) {
  const child = spawn(process.execPath, [CLI, '--host', '127.0.0.1', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const [line] = await once(lines, 'line');
  const url = /listening on (\S+)/.exec(line)?.[1];
  if (!url) throw new Error(`unexpected first line: ${line}`);
  return { child, url };
}

async function batch(url, ops) {
  const response = await fetch(`${url}/v1/batch`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/msgpack', accept: 'application/msgpack' },
    body: pack(ops),
  });
  if (response.status !== 200)
    throw new Error(`batch: ${response.status} ${await response.text()}`);
  return unpack(new Uint8Array(await response.arrayBuffer()));
}

/** Writes values of `valueSize` bytes until 3 × maxMemory (or 120 s), then reads the newest back. */
async function fill(url, maxMemory, valueSize) {
  const value = Buffer.alloc(valueSize, 0x61);
  // At most 1000 ops and ~4 MiB a batch (the defaults allow 1000 ops and 16 MiB).
  const perBatch = Math.max(1, Math.min(1000, Math.floor((4 * MiB) / (valueSize + 40))));
  const deadline = Date.now() + FILL_SECONDS * 1000;
  let written = 0;
  let keys = 0;
  while (written < 3 * maxMemory && Date.now() < deadline) {
    const ops = [];
    for (let i = 0; i < perBatch; i++) {
      ops.push(['set', keyOf(keys++), value, 0, null, null]);
    }
    await batch(url, ops);
    written += perBatch * valueSize;
  }
  // Read back the most recent keys (those still cached), as clients would.
  for (let round = 0; round < 20; round++) {
    const ops = [];
    for (let i = 0; i < perBatch; i++) ops.push(['get', keyOf(keys - 1 - i)]);
    await batch(url, ops);
  }
}

async function measure(limit, valueSize) {
  const maxMemory = bytesOf(limit);
  const dir = mkdtempSync(join(tmpdir(), 'dcache-rss-'));
  const snapshotFile = join(dir, 'snapshot');
  const node = await startNode(['--max-memory', limit, '--snapshot-file', snapshotFile]);
  try {
    const idle = memoryOf(node.child.pid);
    await fill(node.url, maxMemory, valueSize);
    const stats = await (await fetch(`${node.url}/v1/stats`, { headers: auth })).json();
    const filled = memoryOf(node.child.pid);
    let started = Date.now();
    const saveResponse = await fetch(`${node.url}/v1/snapshot`, { method: 'POST', headers: auth });
    if (saveResponse.status !== 200) throw new Error(`snapshot: ${saveResponse.status}`);
    const saveMs = Date.now() - started;
    const afterSave = memoryOf(node.child.pid);
    started = Date.now();
    node.child.kill('SIGTERM');
    const [code] = await once(node.child, 'exit');
    const stopMs = Date.now() - started;
    return {
      limit,
      valueSize,
      items: stats.items,
      memoryUsedMiB: stats.memoryUsed / MiB,
      idleRssMiB: idle.rss / MiB,
      rssMiB: filled.rss / MiB,
      hwmBeforeSaveMiB: filled.hwm / MiB,
      hwmAfterSaveMiB: afterSave.hwm / MiB,
      rssRatio: filled.rss / maxMemory,
      hwmRatio: afterSave.hwm / maxMemory,
      snapshotMiB: statSync(snapshotFile).size / MiB,
      saveMs,
      stopMs,
      exitCode: code,
    };
  } finally {
    if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (fillOnly) {
  const url = process.argv[3];
  await fill(url, bytesOf(limits[0]), valueSizes[0]);
  console.log(JSON.stringify(await (await fetch(`${url}/v1/stats`, { headers: auth })).json()));
  process.exit(0);
}

const rows = [];
for (const limit of limits) {
  for (const valueSize of valueSizes) {
    const row = await measure(limit, valueSize);
    rows.push(row);
    console.error(JSON.stringify(row));
  }
}
const fixed = (n, digits = 0) => n.toFixed(digits);
console.log(
  '| --max-memory | value | items | idle RSS | RSS filled | RSS / max-memory | peak (HWM) with a save | peak / max-memory | snapshot | save | SIGTERM → exit |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  const value = r.valueSize >= 1024 ? `${r.valueSize / 1024} KiB` : `${r.valueSize} B`;
  console.log(
    `| ${r.limit} | ${value} | ${r.items} | ${fixed(r.idleRssMiB)} MiB | ${fixed(r.rssMiB)} MiB | ${fixed(r.rssRatio, 2)} | ${fixed(r.hwmAfterSaveMiB)} MiB | ${fixed(r.hwmRatio, 2)} | ${fixed(r.snapshotMiB)} MiB | ${r.saveMs} ms | ${r.stopMs} ms (exit ${r.exitCode}) |`,
  );
}
