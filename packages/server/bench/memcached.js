// memcached protocol benchmark: memcaslap (libmemcached's memaslap) against a CLI-started dcache
// node's memcached port, a real memcached, and a canned-reply Node server (memcached-canned.js: no
// cache, no protocol; the ceiling for one Node thread), same settings, alternating, several rounds.
//
//   node bench/memcached.js            (after `pnpm build`; needs memcached + libmemcached-tools)
//   DCACHE_BENCH_SECONDS=5 DCACHE_BENCH_ROUNDS=5 DCACHE_BENCH_PROFILE=1 node bench/memcached.js
//   DCACHE_BENCH_BASELINE=/tmp/before/packages/server node bench/memcached.js
//
// DCACHE_BENCH_PROFILE=1 starts the dcache node with --cpu-prof and prints where its CPU time went.
// DCACHE_BENCH_BASELINE=<another checkout's packages/server, built> adds that build's node as a
// contender, alternated with the rest, and prints this build's ops/s over it.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const seconds = Number(process.env.DCACHE_BENCH_SECONDS ?? 5);
const rounds = Number(process.env.DCACHE_BENCH_ROUNDS ?? 5);
const profile = process.env.DCACHE_BENCH_PROFILE === '1';
const baselineDir = process.env.DCACHE_BENCH_BASELINE
  ? resolve(process.env.DCACHE_BENCH_BASELINE)
  : undefined;
const concurrency = 64;
const threads = 2;
const valueBytes = 100;

function which(name) {
  try {
    return execFileSync('which', [name], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}
const memcaslap = which('memcaslap');
const memcachedBin = which('memcached');
if (!memcaslap || !memcachedBin) {
  // `pnpm bench` goes on with the other benchmarks; this one says clearly why it did not run.
  console.log(
    'memcached protocol benchmark: skipped (needs memcaslap and memcached: apt-get install memcached libmemcached-tools)',
  );
  process.exit(0);
}

const work = mkdtempSync(join(tmpdir(), 'dcache-memcached-bench-'));
// 90% get / 10% set, 32-byte keys, 100-byte values.
const config = join(work, 'memaslap.cfg');
writeFileSync(config, `key\n32 32 1\nvalue\n${valueBytes} ${valueBytes} 1\ncmd\n0 0.1\n1 0.9\n`);

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port) {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(25);
  }
  throw new Error(`nothing listening on ${port}`);
}

async function startMemcached() {
  const port = await freePort();
  const asRoot = process.getuid?.() === 0 ? ['-u', 'memcache'] : [];
  // memcached's defaults (4 worker threads), 1 GiB like the dcache node, no UDP.
  const child = spawn(
    memcachedBin,
    [...asRoot, '-l', '127.0.0.1', '-p', String(port), '-U', '0', '-m', '1024', '-c', '4096'],
    { stdio: 'ignore' },
  );
  await waitForPort(port);
  return { port, child };
}

/** Starts `args` under Node and resolves once it has printed the port matching `portLine`. */
async function startNode(args, portLine) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = portLine.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`${args.at(-1)} exited (${code})`)));
  });
  return { port, child };
}

/** A dcache node as users start it: the CLI, its defaults, the memcached port on, 1 GiB. */
function startDcache(serverDir, withProfile) {
  const prof = withProfile ? ['--cpu-prof', `--cpu-prof-dir=${work}`] : [];
  const cli = join(serverDir, 'bin', 'dcache-server.js');
  const flags = ['--port', '0', '--memcached-port', '0', '--max-memory', '1gb'];
  return startNode([...prof, cli, ...flags], /memcached protocol on [^:]+:(\d+)/);
}

function startCanned() {
  return startNode([join(here, 'memcached-canned.js')], /PORT (\d+)/);
}

function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** Upper bound (µs) of the memaslap log2 bucket holding quantile q of the events. */
function quantileFromLog2(block, q) {
  const counts = [];
  for (const line of block.split('\n')) {
    const m = /^\s+(\d+):\s+([\d\s]+)$/.exec(line);
    if (!m) continue;
    const base = Number(m[1]);
    m[2]
      .trim()
      .split(/\s+/)
      .forEach((c, i) => counts.push([base + i, Number(c)]));
  }
  const total = counts.reduce((n, [, c]) => n + c, 0);
  let seen = 0;
  for (const [exp, c] of counts) {
    seen += c;
    if (seen >= q * total) return 2 ** (exp + 1);
  }
  return NaN;
}

/** CPU time (µs) a process has used so far, in user space and in the kernel; undefined off Linux. */
function cpuMicros(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime and stime are fields 14 and 15 of the whole line, in clock ticks (100 per second).
    return { user: Number(fields[11]) * 10_000, system: Number(fields[12]) * 10_000 };
  } catch {
    return undefined;
  }
}

function runMemaslap(port) {
  return new Promise((resolve, reject) => {
    const args = [
      '-s',
      `127.0.0.1:${port}`,
      '-F',
      config,
      '-T',
      String(threads),
      '-c',
      String(concurrency),
      '-X',
      String(valueBytes),
      '-t',
      `${seconds}s`,
      '-S',
      `${seconds}s`,
    ];
    execFile(
      memcaslap,
      args,
      { timeout: (seconds + 30) * 1000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout) => {
        if (err) return reject(err);
        const tps = /TPS: (\d+)/.exec(stdout);
        const blocks = stdout.split('Total Statistics');
        const total = blocks[blocks.length - 1] ?? '';
        const avg = /Avg:\s+(\d+)/.exec(total);
        if (!tps || !avg) return reject(new Error(`unexpected memaslap output:\n${stdout}`));
        // memaslap prints protocol errors it receives ("<fd CLIENT_ERROR …"): a run with any is invalid.
        const errors = stdout.split('\n').filter((l) => /ERROR/.test(l));
        if (errors.length > 0)
          return reject(new Error(`server answered errors:\n${errors.slice(0, 5).join('\n')}`));
        const gets = Number(/cmd_get: (\d+)/.exec(stdout)?.[1] ?? 0);
        if (gets === 0) return reject(new Error(`no gets were answered:\n${stdout}`));
        resolve({
          ops: Number(tps[1]),
          avgUs: Number(avg[1]),
          p50Us: quantileFromLog2(total, 0.5),
          p99Us: quantileFromLog2(total, 0.99),
        });
      },
    );
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Self time of the dcache node's CPU profile, grouped into parsing / core / socket layer. */
function summariseProfile() {
  const file = readdirSync(work).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return;
  const prof = JSON.parse(readFileSync(join(work, file), 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = prof.timeDeltas;
  prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (dt[i] ?? 0)));
  const groups = {
    'protocol (parse + reply)': 0,
    'core (LruCache)': 0,
    'socket layer (net, streams, libuv, syscalls)': 0,
    GC: 0,
    'startup (module loading)': 0,
    idle: 0,
    other: 0,
  };
  for (const [id, us] of self) {
    const { url, functionName } = byId.get(id).callFrame;
    if (functionName === '(idle)') groups.idle += us;
    else if (functionName === '(garbage collector)') groups.GC += us;
    else if (url.includes('/memcached/')) groups['protocol (parse + reply)'] += us;
    else if (url.includes('/core/')) groups['core (LruCache)'] += us;
    else if (
      /internal\/(modules|bootstrap|process\/pre_execution)|^node:internal\/main/.test(url) ||
      ['openFileHandle', 'fstat', 'compileSourceTextModule', 'readFileUtf8'].includes(functionName)
    )
      groups['startup (module loading)'] += us;
    else if (url.startsWith('node:') || functionName === '(program)' || url === '')
      groups['socket layer (net, streams, libuv, syscalls)'] += us;
    else groups.other += us;
  }
  const busy = Object.entries(groups)
    .filter(([k]) => k !== 'idle')
    .reduce((n, [, v]) => n + v, 0);
  console.log('\ndcache node CPU profile (self time, share of busy time):');
  for (const [k, v] of Object.entries(groups)) {
    if (k === 'idle') continue;
    console.log(`  ${k.padEnd(48)} ${((100 * v) / busy).toFixed(1).padStart(5)}%`);
  }
  console.log(`  (idle: ${((100 * groups.idle) / (busy + groups.idle)).toFixed(1)}% of the run)`);
}

const serverDir = join(here, '..');
if (baselineDir && !existsSync(join(baselineDir, 'dist', 'cli.js'))) {
  console.error(
    `DCACHE_BENCH_BASELINE=${baselineDir}: no dist/cli.js there (build that checkout first)`,
  );
  process.exit(1);
}
// Filled as each contender starts, so that one failing to start stops those before it (finally).
const servers = {};
const names = ['dcache', ...(baselineDir ? ['dcache (baseline)'] : []), 'memcached', 'canned Node'];
const results = Object.fromEntries(names.map((n) => [n, []]));
try {
  servers.dcache = await startDcache(serverDir, profile);
  if (baselineDir) servers['dcache (baseline)'] = await startDcache(baselineDir, false);
  servers.memcached = await startMemcached();
  servers['canned Node'] = await startCanned();
  console.log(
    `memcaslap -T ${threads} -c ${concurrency} -X ${valueBytes} -t ${seconds}s, 90% get / 10% set, ${rounds} rounds, order rotating`,
  );
  for (let r = 0; r < rounds; r++) {
    // Each contender goes first, second, … in turn, so none always follows the same neighbour.
    const order = names.map((_, i) => names[(i + r) % names.length]);
    for (const name of order) {
      const server = servers[name];
      const cpuBefore = cpuMicros(server.child.pid);
      const res = await runMemaslap(server.port);
      const cpuAfter = cpuMicros(server.child.pid);
      // Server CPU per operation: independent of how much CPU other processes left it. The split
      // shows where a gap lies: the kernel's share (loopback TCP) is close for all.
      const perOp = (part) =>
        cpuBefore === undefined ? NaN : (cpuAfter[part] - cpuBefore[part]) / (res.ops * seconds);
      res.userUsPerOp = perOp('user');
      res.systemUsPerOp = perOp('system');
      res.cpuUsPerOp = res.userUsPerOp + res.systemUsPerOp;
      results[name].push(res);
      console.log(
        `  round ${r + 1} ${name.padEnd(17)} ${String(res.ops).padStart(8)} ops/s  avg ${res.avgUs} µs  p99 ≤ ${res.p99Us} µs  server CPU ${res.cpuUsPerOp.toFixed(1)} µs/op (user ${res.userUsPerOp.toFixed(1)}, kernel ${res.systemUsPerOp.toFixed(1)})`,
      );
    }
  }
} finally {
  for (const server of Object.values(servers)) await stop(server.child);
}

const row = (name) => {
  const rs = results[name];
  return {
    name,
    ops: median(rs.map((r) => r.ops)),
    avg: median(rs.map((r) => r.avgUs)),
    p50: median(rs.map((r) => r.p50Us)),
    p99: median(rs.map((r) => r.p99Us)),
    cpu: median(rs.map((r) => r.cpuUsPerOp)),
    user: median(rs.map((r) => r.userUsPerOp)),
    system: median(rs.map((r) => r.systemUsPerOp)),
  };
};
const rows = Object.fromEntries(names.map((n) => [n, row(n)]));
const m = rows.memcached;
console.log(
  '\n| server | ops/s (median) | vs memcached | avg latency µs | p50 µs (≤) | p99 µs (≤) | server CPU µs/op | user | kernel |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const x of Object.values(rows)) {
  console.log(
    `| ${x.name} | ${x.ops} | ${(x.ops / m.ops).toFixed(3)}× | ${x.avg} | ${x.p50} | ${x.p99} | ${x.cpu.toFixed(1)} | ${x.user.toFixed(1)} | ${x.system.toFixed(1)} |`,
  );
}
// Ratios of the rounds' medians, and the median of each round's own ratio (the contenders of one
// round ran back to back, so a round's ratio sees the same neighbours' load).
const perRound = (a, b) => median(results[a].map((r, i) => r.ops / results[b][i].ops)).toFixed(3);
const ratio = rows.dcache.ops / m.ops;
console.log(
  `\ndcache / memcached ops/s: ${ratio.toFixed(3)}x (per round ${perRound('dcache', 'memcached')}x; target >= 0.6x) ${ratio >= 0.6 ? 'MET' : 'MISSED'}`,
);
console.log(
  `canned Node / memcached ops/s: ${(rows['canned Node'].ops / m.ops).toFixed(3)}x (per round ${perRound('canned Node', 'memcached')}x): one Node thread's ceiling`,
);
console.log(
  `dcache / canned Node ops/s: ${(rows.dcache.ops / rows['canned Node'].ops).toFixed(3)}x (per round ${perRound('dcache', 'canned Node')}x)`,
);
if (baselineDir) {
  const b = rows['dcache (baseline)'];
  console.log(
    `dcache / baseline ops/s: ${(rows.dcache.ops / b.ops).toFixed(3)}x (per round ${perRound('dcache', 'dcache (baseline)')}x); baseline / memcached ${(b.ops / m.ops).toFixed(3)}x`,
  );
}
console.log(`ops per CPU-second, dcache / memcached: ${(m.cpu / rows.dcache.cpu).toFixed(2)}x`);
if (profile) summariseProfile();
rmSync(work, { recursive: true, force: true });
