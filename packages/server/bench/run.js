// HTTP benchmark of @dcache/server against a bare hono hello-world (the ceiling), same run.
// Servers run in child processes; autocannon loads one target at a time, alternating the order
// every round, and we quote medians. Build first: `pnpm --filter @dcache/server... build && pnpm bench`.
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
  const child = spawn(process.execPath, [SERVER, kind], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const [line] = await once(lines, 'line');
  /** CPU µs the target has used so far. */
  const cpu = async () => {
    child.stdin.write('cpu\n');
    const [reply] = await once(lines, 'line');
    return JSON.parse(reply).cpu;
  };
  return { child, port: JSON.parse(line).port, cpu };
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

async function load(target, request, duration) {
  const { path, ...rest } = request;
  const cpuBefore = await target.cpu();
  const result = await autocannon({
    url: `http://127.0.0.1:${target.port}${path}`,
    connections: CONNECTIONS,
    duration,
    ...rest,
  });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${path}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  }
  const cpuPerRequest = (await target.cpu()) - cpuBefore;
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    // server CPU µs per request: unlike req/s, barely moved by other load on the machine
    cpuUs: cpuPerRequest / result.requests.total,
  };
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
  for (const name of names) await load(targets[CASES[name].target], CASES[name].request, 1); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order each round so no contender always runs first or last.
    const order = names.map((_, i) => names[(i + round) % names.length]);
    for (const name of order) {
      const { target, request } = CASES[name];
      samples[name].push(await load(targets[target], request, DURATION));
    }
    process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`);
  }
  const HELLO = 'hello-world (ceiling)';
  const ceiling = median(samples[HELLO].map((s) => s.rps));
  const ceilingCpu = median(samples[HELLO].map((s) => s.cpuUs));
  console.log(
    `\n${ROUNDS} rounds × ${DURATION} s per case, ${CONNECTIONS} connections, medians; Node ${process.version}\n`,
  );
  console.log(
    '| case | req/s | vs hello-world (median of per-round ratios) | p50 ms | p99 ms | server CPU µs/req | hello-world CPU / case CPU |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  const ratios = {};
  for (const name of names) {
    const med = (key) => median(samples[name].map((s) => s[key]));
    // Each round ran every case back to back, so a per-round ratio cancels slow drifts in machine load.
    ratios[name] = median(samples[name].map((s, round) => s.rps / samples[HELLO][round].rps));
    const cpu = med('cpuUs');
    console.log(
      `| ${name} | ${Math.round(med('rps')).toLocaleString('en-US')} | ${(ratios[name] * 100).toFixed(0)}% | ${med('p50')} | ${med('p99')} | ${cpu.toFixed(1)} | ${((ceilingCpu / cpu) * 100).toFixed(0)}% |`,
    );
  }
  console.log(
    `\n(hello-world median: ${Math.round(ceiling).toLocaleString('en-US')} req/s, ${ceilingCpu.toFixed(1)} CPU µs/req)`,
  );
  const ratio = ratios['GET 100 B'];
  console.log(
    `GET / hello-world = ${ratio.toFixed(2)} (target ≥ 0.80: ${ratio >= 0.8 ? 'met' : 'MISSED'})`,
  );
} finally {
  for (const { child } of Object.values(targets)) child.kill('SIGTERM');
}
