// Node CPU per batch request on the batch lane, this build against another's, in one run: each
// node started by its CLI, 10,000 keys stored, then three raw keep-alive connections per node send
// client-benchmark-shaped batches (16 gets and a set of a 100-byte value) back to back. Node CPU
// from /proc (user + kernel), rounds alternating between the two nodes, medians. What it isolates
// is the lane's and the batch's own cost per request; the client benchmark adds the scheduling and
// cold caches of four processes on two cores, which multiply it.
// Usage: node bench/lane-request.js <baseline checkout's packages/server> [rounds, default 7]
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath, URL } from 'node:url';
import { pack } from 'msgpackr';
import { processTracker } from '../../client/bench/processes.js';
import { xorshift } from '../../client/bench/xorshift.js';

const baselineDir = process.argv[2];
if (!baselineDir) throw new Error('usage: node bench/lane-request.js <baseline packages/server>');
const ROUNDS = Number(process.argv[3] ?? 7);
const REQUESTS = 15_000;
const CONNECTIONS = 3;
const KEYS = 10_000;
const VALUE = new Uint8Array(100).fill(120);
const CLOCK_TICK_US = 10_000;
const { start } = processTracker('SIGTERM');

function cpuMicros(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_US;
}

async function startNode(bin) {
  const child = start(process.execPath, [bin, '--port', '0', '--max-memory', '256mb']);
  let output = '';
  const port = await new Promise((resolve, reject) => {
    const onData = (chunk) => {
      output += chunk;
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`node exited (${code}): ${output}`)));
  });
  return { pid: child.pid, port };
}

function request(body) {
  const head = `POST /v1/batch HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/msgpack\r\nContent-Length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

const next = xorshift(19);
const requests = Array.from({ length: 500 }, () =>
  request(
    pack(
      Array.from({ length: 17 }, (_, i) => {
        const key = `key:${Math.floor(next() * KEYS * 1.2)}`;
        return i === 16 ? ['set', key, VALUE, 0, null, null] : ['get', key];
      }),
    ),
  ),
);

/** Sends `bodies` one at a time on one connection, each once the answer before it is whole. */
async function send(port, bodies) {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  let unread = Buffer.alloc(0);
  let sent = 0;
  await new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.on('data', (chunk) => {
      unread = unread.length === 0 ? chunk : Buffer.concat([unread, chunk]);
      for (;;) {
        const headEnd = unread.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const head = unread.toString('latin1', 0, headEnd);
        if (!head.startsWith('HTTP/1.1 200')) reject(new Error(head));
        const end = headEnd + 4 + Number(/content-length: (\d+)/i.exec(head)[1]);
        if (unread.length < end) return;
        unread = unread.subarray(end);
        if (sent === bodies.length) return resolve();
        socket.write(bodies[sent++]);
      }
    });
    socket.write(bodies[sent++]);
  });
  socket.destroy();
}

async function prefill(port) {
  for (let k = 0; k < KEYS; k += 1000) {
    const sets = Array.from({ length: 1000 }, (_, i) => [
      'set',
      `key:${k + i}`,
      VALUE,
      0,
      null,
      null,
    ]);
    await send(port, [request(pack(sets))]);
  }
}

const own = fileURLToPath(new URL('../bin/dcache-server.js', import.meta.url));
const nodes = [
  ['this build', await startNode(own)],
  ['baseline', await startNode(`${baselineDir}/bin/dcache-server.js`)],
];
for (const [, node] of nodes) await prefill(node.port);
const bodies = Array.from({ length: REQUESTS }, (_, i) => requests[i % requests.length]);
const samples = nodes.map(() => []);
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? [0, 1] : [1, 0];
  for (const i of order) {
    const { pid, port } = nodes[i][1];
    const before = cpuMicros(pid);
    await Promise.all(Array.from({ length: CONNECTIONS }, () => send(port, bodies)));
    samples[i].push((cpuMicros(pid) - before) / (CONNECTIONS * REQUESTS));
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [i, [name]] of nodes.entries()) {
  const rounds = samples[i].map((s) => s.toFixed(1)).join(' ');
  console.log(
    `${name}: ${median(samples[i]).toFixed(1)} µs node CPU per request of 17 ops (rounds: ${rounds})`,
  );
}
console.log(`ratio: ${(median(samples[0]) / median(samples[1])).toFixed(2)}× the baseline's`);
process.exit(0);
