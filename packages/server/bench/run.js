// HTTP benchmark of @dcache/server against a bare hono hello-world (the ceiling), same run.
// Servers run in child processes; autocannon loads one target at a time, alternating the order
// every round, and we quote medians. Build first: `pnpm --filter @dcache/server build && pnpm bench`.
// Options: --rounds N (5) --duration S (3) --connections N (16)
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { Buffer } from 'node:buffer';
import { fileURLToPath, URL } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { pack } from 'msgpackr';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '3' },
    connections: { type: 'string', default: '16' },
  },
});
const ROUNDS = Number(values.rounds);
const DURATION = Number(values.duration);
const CONNECTIONS = Number(values.connections);
const SERVER = fileURLToPath(new URL('./server.js', import.meta.url));
const VALUE = new Uint8Array(100).fill(121);

async function startTarget(kind) {
  const child = spawn(process.execPath, [SERVER, kind], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = await once(createInterface({ input: child.stdout }), 'line');
  return { child, port: JSON.parse(line).port };
}

const BATCH = pack(
  Array.from({ length: 100 }, (_, i) =>
    i % 2 === 0 ? ['get', `b${i}`] : ['set', `b${i}`, VALUE, 0, null, null],
  ),
);

/** name → how to load it: target process and autocannon request options. */
const CASES = {
  'hello-world (ceiling)': { target: 'hello', request: { path: '/' } },
  'GET 100 B': { target: 'dcache', request: { path: '/v1/keys/k' } },
  'PUT 100 B': {
    target: 'dcache',
    request: {
      path: '/v1/keys/p',
      method: 'PUT',
      body: Buffer.from(VALUE),
      headers: { 'content-type': 'application/octet-stream' },
    },
  },
  'batch 100 ops (50 get + 50 set)': {
    target: 'dcache',
    request: {
      path: '/v1/batch',
      method: 'POST',
      body: Buffer.from(BATCH),
      headers: { 'content-type': 'application/msgpack' },
    },
  },
};

async function load(port, request, duration) {
  const { path, ...rest } = request;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}${path}`,
    connections: CONNECTIONS,
    duration,
    ...rest,
  });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${path}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  }
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const targets = { hello: await startTarget('hello'), dcache: await startTarget('dcache') };
try {
  const names = Object.keys(CASES);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (const name of names) await load(targets[CASES[name].target].port, CASES[name].request, 1); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order each round so no contender always runs first or last.
    const order = names.map((_, i) => names[(i + round) % names.length]);
    for (const name of order) {
      const { target, request } = CASES[name];
      samples[name].push(await load(targets[target].port, request, DURATION));
    }
    process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`);
  }
  const ceiling = median(samples['hello-world (ceiling)'].map((s) => s.rps));
  console.log(
    `\n${ROUNDS} rounds × ${DURATION} s per case, ${CONNECTIONS} connections, medians; Node ${process.version}\n`,
  );
  console.log('| case | req/s | vs hello-world | p50 ms | p99 ms |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const name of names) {
    const rps = median(samples[name].map((s) => s.rps));
    const p50 = median(samples[name].map((s) => s.p50));
    const p99 = median(samples[name].map((s) => s.p99));
    console.log(
      `| ${name} | ${Math.round(rps).toLocaleString('en-US')} | ${((rps / ceiling) * 100).toFixed(0)}% | ${p50} | ${p99} |`,
    );
  }
  const get = median(samples['GET 100 B'].map((s) => s.rps));
  const ratio = get / ceiling;
  console.log(
    `\nGET / hello-world = ${ratio.toFixed(2)} (target ≥ 0.80: ${ratio >= 0.8 ? 'met' : 'MISSED'})`,
  );
} finally {
  for (const { child } of Object.values(targets)) child.kill('SIGTERM');
}
