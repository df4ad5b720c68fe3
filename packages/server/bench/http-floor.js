// Node's own floor under a batch: CPU per request of a bare `node:http` server that reads the body
// and answers a fixed buffer, against a dcache node started by the CLI answering a real batch of
// the same size — both in the regime of the client benchmark, where each node has one batch in
// flight and its loop sleeps between batches ("paced": a request every ~1 ms), and back to back.
// The gap between the two is what the node adds per request; the bare figure divided by the batch
// size is what any Node HTTP node pays per operation at that batch size.
// Usage: node bench/http-floor.js [ops per batch, default 17]. CPU from /proc (user + kernel, all
// threads), alternating rounds, medians.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { fileURLToPath, URL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { pack } from 'msgpackr';

const OPS = Number(process.argv[2] ?? 17);
const ROUNDS = 5;
const ROUND_MS = 2000;
const VALUE = new Uint8Array(100).fill(120);
const bin = fileURLToPath(new URL('../bin/dcache-server.js', import.meta.url));

const BARE = `
  import { createServer } from 'node:http';
  const answer = Buffer.alloc(${OPS * 110}, 1);
  const server = createServer((req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/msgpack', 'content-length': answer.length });
      res.end(answer);
    });
  });
  server.listen(0, '127.0.0.1', () => console.log('http://127.0.0.1:' + server.address().port));
`;

function start(args) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
    child.stdout.on('data', (data) => {
      out += data;
      const url = /http:\/\/[0-9.:]+/.exec(out)?.[0];
      if (url) resolve({ child, url });
    });
  });
}

/** The process's CPU time so far, µs (utime + stime of all its threads, in clock ticks). */
function cpuMicros(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * (1e6 / 100);
}

const batches = Array.from({ length: 64 }, (_, b) =>
  pack(Array.from({ length: OPS }, (_, i) => ['get', `key:${(b * 37 + i * 13) % 1000}`])),
);

/** One request on a keep-alive connection, resolved once its answer is read. */
function exchange(agent, url, method, path, body) {
  return new Promise((resolve, reject) => {
    const req = request(
      url + path,
      {
        agent,
        method,
        headers: { 'content-type': 'application/msgpack', 'content-length': body.length },
      },
      (res) => {
        res.on('data', () => {});
        res.on('end', resolve);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function round(target, paced) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const send = (i) => exchange(agent, target.url, 'POST', '/v1/batch', batches[i & 63]);
  for (let i = 0; i < 200; i++) await send(i); // lead-in
  const before = cpuMicros(target.child.pid);
  const end = performance.now() + ROUND_MS;
  let sent = 0;
  while (performance.now() < end) {
    await send(sent++);
    if (paced) await sleep(1);
  }
  const used = cpuMicros(target.child.pid) - before;
  agent.destroy();
  return used / sent;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const targets = [
  ['bare node:http', await start(['--input-type=module', '-e', BARE])],
  ['dcache node (CLI)', await start([bin, '--port', '0', '--log-level', 'warn'])],
];
try {
  const fill = new Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < 1000; i++)
    await exchange(fill, targets[1][1].url, 'PUT', `/v1/keys/key:${i}`, VALUE);
  fill.destroy();
  const samples = targets.map(() => ({ paced: [], busy: [] }));
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? [0, 1] : [1, 0];
    for (const i of order) {
      samples[i].paced.push(await round(targets[i][1], true));
      samples[i].busy.push(await round(targets[i][1], false));
    }
  }
  console.log(`CPU per request, ${OPS}-op get batches, medians of ${ROUNDS} alternating rounds:`);
  for (const [i, [name]] of targets.entries()) {
    const paced = median(samples[i].paced);
    const busy = median(samples[i].busy);
    console.log(
      `${name.padEnd(18)} paced ${paced.toFixed(0).padStart(4)} µs/request (${(paced / OPS).toFixed(1)} µs/op)` +
        `   back to back ${busy.toFixed(0).padStart(4)} µs/request (${(busy / OPS).toFixed(1)} µs/op)`,
    );
  }
} finally {
  for (const [, { child }] of targets) child.kill();
}
