// What one client costs a node by sending a long multi-key `get` line slowly: 1 MB of keys in
// 100-byte writes, one every 0.2 ms, so the node reads it in thousands of small pieces. Measures
// the node's CPU time (user + kernel) for the whole line, several rounds, median. A CLI-started
// node with its memcached port on; DCACHE_BENCH_BASELINE=<another checkout's packages/server,
// built> alternates that build's node with this one.
//
//   node bench/memcached-long-line.js
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const ROUNDS = Number(process.env.DCACHE_BENCH_ROUNDS ?? 3);
const LINE_BYTES = 1_000_000;
const PIECE_BYTES = 100;
const PIECE_GAP_MS = 0.2;

function startNode(serverDir) {
  const cli = join(serverDir, 'bin', 'dcache-server.js');
  const child = spawn(process.execPath, [cli, '--port', '0', '--memcached-port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolvePort, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /memcached protocol on [^:]+:(\d+)/.exec(out);
      if (m) resolvePort({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => reject(new Error(`node exited (${code})`)));
  });
}

/** CPU ms the process has used so far (user + kernel). */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const keys = [];
for (let i = 0, length = 4; length < LINE_BYTES; i++) {
  const key = `key-${String(i).padStart(20, '0')}`;
  keys.push(key);
  length += key.length + 1;
}
const line = Buffer.from(`get ${keys.join(' ')}\r\n`);

async function sendSlowly(port, pid) {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise((ok) => socket.once('connect', ok));
  const answered = new Promise((ok, fail) => {
    socket.on('data', (d) => d.includes('END\r\n') && ok());
    socket.once('close', () => fail(new Error('the node closed the connection')));
  });
  const before = cpuMs(pid);
  for (let i = 0; i < line.length; i += PIECE_BYTES) {
    socket.write(line.subarray(i, i + PIECE_BYTES));
    // A busy wait: timers cannot pace below a millisecond.
    const until = performance.now() + PIECE_GAP_MS;
    while (performance.now() < until);
  }
  await answered;
  const used = cpuMs(pid) - before;
  socket.destroy();
  return used;
}

const builds = { dcache: join(here, '..') };
if (process.env.DCACHE_BENCH_BASELINE) {
  builds['dcache (baseline)'] = resolve(process.env.DCACHE_BENCH_BASELINE);
}
const nodes = {};
const results = Object.fromEntries(Object.keys(builds).map((name) => [name, []]));
try {
  for (const [name, dir] of Object.entries(builds)) nodes[name] = await startNode(dir);
  const names = Object.keys(builds);
  for (let r = 0; r < ROUNDS; r++) {
    for (const name of names.map((_, i) => names[(i + r) % names.length])) {
      const ms = await sendSlowly(nodes[name].port, nodes[name].child.pid);
      results[name].push(ms);
      console.log(`  round ${r + 1} ${name.padEnd(18)} node CPU ${ms} ms`);
    }
  }
} finally {
  for (const { child } of Object.values(nodes)) child.kill('SIGTERM');
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  `\none ${line.length}-byte get line in ${PIECE_BYTES}-byte writes every ${PIECE_GAP_MS} ms, node CPU (median of ${ROUNDS}):`,
);
for (const [name, ms] of Object.entries(results))
  console.log(`  ${name.padEnd(18)} ${median(ms)} ms`);
