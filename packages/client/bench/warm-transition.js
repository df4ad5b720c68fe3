#!/usr/bin/env node
/* global URL */
// How long a transition window keeps finding keys (the basis of the `transition` defaults): three
// CLI nodes, replicas 1 (REPLICAS=2 for two), 10,000 keys of 100 bytes (KEYS=), 8 closed-loop
// callers doing 90% gets / 10% sets with Zipf(0.99) keys; after 8 s a fourth node is added and
// each second prints the fallback hits that second, the hit ratio and the reads, until the window
// closes (quietMs 5000, maxWindowMs 150000 here, to see the whole tail) or 150 s pass. The nodes
// run with --stall-threshold 10000: on a loaded machine a node stalled past the default 500 ms
// fences itself, and with replicas 1 its entries then read as misses, which would hide the window's
// effect.
//
//   pnpm --filter @dcache/server... build && pnpm --filter @dcache/client... build
//   node bench/warm-transition.js            (in packages/client; 1–3 minutes)
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processTracker, sleep } from './processes.js';
import { zipf } from './zipf.js';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const { DistributedCacheClient } = await import(here('../dist/index.js'));
const BIN = join(
  dirname(createRequire(import.meta.url).resolve('@dcache/server/package.json')),
  'bin/dcache-server.js',
);
const KEYS = Number(process.env.KEYS ?? 10_000);
const REPLICAS = Number(process.env.REPLICAS ?? 1);
const VALUE = 'v'.repeat(100);
// SIGKILL: nothing of a node's is kept; also on Ctrl-C or an error.
const { start, stopAll } = processTracker('SIGKILL');

function startNode() {
  return new Promise((resolve, reject) => {
    const child = start(
      process.execPath,
      [BIN, '--port', '0', '--log-level', 'error', '--stall-threshold', '10000'],
      ['ignore', 'pipe', 'inherit'],
    );
    child.once('exit', (code) => reject(new Error(`dcache-server exited with ${code}`)));
    child.stdout.on('data', (chunk) => {
      const match = /listening on (\S+)/.exec(String(chunk));
      if (match) resolve(match[1]);
    });
  });
}

const zipfRank = zipf(KEYS, 0.99, Math.random);

try {
  const urls = await Promise.all([startNode(), startNode(), startNode()]);
  const spare = await startNode();
  const client = new DistributedCacheClient(urls, {
    replicas: REPLICAS,
    timeout: 5000,
    transition: { quietMs: 5000, maxWindowMs: 150_000 },
  });
  const keys = Array.from({ length: KEYS }, (_, i) => `k:${i}`);
  await client.setMany(keys.map((key) => [key, VALUE]));
  let running = true;
  let reads = 0;
  let hits = 0;
  let errors = 0;
  const caller = async () => {
    while (running) {
      const key = keys[zipfRank()];
      try {
        if (Math.random() < 0.9) {
          const found = (await client.get(key)) !== undefined;
          reads++;
          if (found) hits++;
        } else await client.set(key, VALUE);
      } catch {
        errors++; // a node too busy to answer within the timeout: counted, printed at the end
      }
    }
  };
  const load = Promise.all(Array.from({ length: 8 }, caller));
  await sleep(3000);
  reads = hits = 0;
  await sleep(5000);
  const before = hits / reads;
  console.log(`hit ratio before: ${before.toFixed(4)} (${reads} reads in 5 s)`);
  const started = Date.now();
  client.addNode(spare);
  reads = hits = 0;
  let lastHits = 0;
  let tenSeconds = { reads: 0, hits: 0 };
  console.log('second\tfallback hits\thit ratio\treads');
  for (let second = 1; second <= 150 && client.getTransitionStats().open; second++) {
    await sleep(1000);
    const stats = client.getTransitionStats();
    console.log(
      `${second}\t${stats.fallbackHits - lastHits}\t${(hits / reads).toFixed(4)}\t${reads}`,
    );
    if (second <= 10)
      tenSeconds = { reads: tenSeconds.reads + reads, hits: tenSeconds.hits + hits };
    lastHits = stats.fallbackHits;
    reads = hits = 0;
  }
  const after = tenSeconds.hits / tenSeconds.reads;
  console.log(
    `hit ratio over the 10 s after: ${after.toFixed(4)} (${(after / before).toFixed(4)} of before)`,
  );
  console.log(
    `window after ${((Date.now() - started) / 1000).toFixed(1)} s:`,
    client.getTransitionStats(),
  );
  console.log(`errors: ${errors}`);
  running = false;
  await load;
  await client.close();
} finally {
  stopAll();
}
