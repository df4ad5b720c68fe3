// Issue #17's reproduction, as a script that prints counts (it documents today's behaviour; it is
// not a test and never fails CI). For each fault: 3 nodes through the CLI, a client with the
// defaults (replicas 2, writeConsistency 'one'), 300 keys written; then node 0 suffers the fault
// while the client overwrites keys 0–199 and deletes 200–299; the node comes back, 3 s pass, and
// every key is read by the writing client (if it is still running) and by another process that
// never saw the writes. The checker then judges the whole history.
//
// `race` is no fault at all: two client processes race on 10 keys (sets, deletes, gets), once with
// writeConsistency 'one' and once with 'all', to show what the checker finds without any fault.
// `random` is the randomized variant: a seeded schedule of faults (faultSchedule) for 15 s while
// two worker processes run seeded workloads on 50 keys, then a settle time and a read of every key
// by a third process; it prints its seed (`--seed=N` replays one; not run unless named).
//
//   node --import tsx packages/client/test/faults/repro-stale.ts [none|pause|kill|snapshot|partition|race|random ...] [--seed=N]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DistributedCacheClient } from '../../src/index.js';
import { checkRegisters, describeViolations } from './checker.js';
import { HistoryRecorder, readHistory } from './history.js';
import type { Operation } from './history.js';
import { Nemesis } from './nemesis.js';
import { freshSeed } from './random.js';
import { faultSchedule, runSchedule } from './schedule.js';
import { runWorkerProcess, runWorkload } from './worker.js';
import type { WorkloadOptions } from './worker.js';

const FAULTS = ['none', 'pause', 'kill', 'snapshot', 'partition', 'race', 'random'] as const;
type Fault = (typeof FAULTS)[number];

const KEYS = 300;
const OVERWRITTEN = 200;
const SETTLE_MS = 3000;
/** Calls in flight at once while writing (a busy application, not one call at a time). */
const CONCURRENCY = 16;

const key = (i: number): string => `k${i}`;

/** Runs `task(i)` for i in [from, to) with at most CONCURRENCY at once. */
async function forEach(
  from: number,
  to: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = from;
  const loop = async (): Promise<void> => {
    while (next < to) await task(next++);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
}

/** Reads of the original values among the overwritten keys (stale) and among the deleted ones. */
function countOld(reads: readonly Operation[]): { stale: number; resurrected: number } {
  let stale = 0;
  let resurrected = 0;
  for (const read of reads) {
    if (read.kind !== 'read' || read.outcome !== 'ok' || read.value !== `v0-${read.key}`) continue;
    if (Number(read.key.slice(1)) < OVERWRITTEN) stale++;
    else resurrected++;
  }
  return { stale, resurrected };
}

/** Two processes racing on few keys, no fault; one line per writeConsistency. */
async function race(): Promise<string> {
  const lines: string[] = [];
  for (const writeConsistency of ['one', 'all'] as const) {
    const nemesis = await Nemesis.start({ nodes: 3 });
    const dir = mkdtempSync(join(tmpdir(), 'dcache-repro-'));
    try {
      const common = {
        urls: nemesis.urls,
        client: { writeConsistency },
        keys: 10,
        operations: 3000,
        durationMs: 8000,
        concurrency: 8,
      } satisfies Partial<WorkloadOptions>;
      const file = join(dir, 'b.jsonl');
      const [own] = await Promise.all([
        runWorkload({ ...common, process: 'a', seed: 1 }),
        runWorkerProcess({ ...common, process: 'b', seed: 2 }, file),
      ]);
      const report = checkRegisters([...own, ...readHistory(file)]);
      const { stale, resurrected, lost } = report.counts;
      lines.push(
        `race, writeConsistency '${writeConsistency}': checker: ${report.violations.length} violations in ${report.reads} reads (stale ${stale}, resurrected ${resurrected}, lost ${lost})`,
        ...(report.violations.length > 0
          ? [describeViolations(report, 2).replace(/^/gm, '    ')]
          : []),
      );
    } finally {
      await nemesis.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return lines.join('\n');
}

/** The randomized variant: seeded faults and workloads, then every key read by a third process. */
async function randomized(seed: number): Promise<string> {
  const durationMs = 15_000;
  const keys = 50;
  const nemesis = await Nemesis.start({ nodes: 3, snapshots: true });
  const dir = mkdtempSync(join(tmpdir(), 'dcache-repro-'));
  try {
    const schedule = faultSchedule(seed, { nodes: 3, durationMs });
    const steps: string[] = [];
    const common = {
      urls: nemesis.urls,
      keys,
      // The duration bounds it; the count only caps a runaway loop.
      operations: 200_000,
      durationMs: durationMs + 1000,
    } satisfies Partial<WorkloadOptions>;
    const files = ['a', 'b', 'reader'].map((name) => join(dir, `${name}.jsonl`));
    await Promise.all([
      runSchedule(nemesis, schedule, (step) => steps.push(step)),
      runWorkerProcess({ ...common, process: 'a', seed: seed * 2 + 1 }, files[0]!),
      runWorkerProcess({ ...common, process: 'b', seed: seed * 2 + 2 }, files[1]!),
    ]);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    await runWorkerProcess(
      {
        ...common,
        process: 'reader',
        seed: 0,
        operations: keys,
        mix: { write: 0, delete: 0, read: 1 },
        order: 'sequential',
      },
      files[2]!,
    );
    const history = readHistory(...files);
    const report = checkRegisters(history);
    const { stale, resurrected, lost } = report.counts;
    const kinds = schedule.map((fault) => `${fault.kind}(${fault.node})`).join(' ');
    return [
      `random --seed=${seed}: ${schedule.length} faults: ${kinds}; ${history.length} operations`,
      `  checker: ${report.violations.length} violations in ${report.reads} reads (stale ${stale}, resurrected ${resurrected}, lost ${lost})`,
      ...(report.violations.length > 0
        ? [describeViolations(report, 3).replace(/^/gm, '    ')]
        : []),
    ].join('\n');
  } finally {
    await nemesis.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function scenario(fault: Fault, seed: number): Promise<string> {
  if (fault === 'race') return race();
  if (fault === 'random') return randomized(seed);
  const nemesis = await Nemesis.start({ nodes: 3, snapshots: fault === 'snapshot' });
  const dir = mkdtempSync(join(tmpdir(), 'dcache-repro-'));
  try {
    const writer = new DistributedCacheClient(nemesis.urls);
    const history = new HistoryRecorder('writer');
    await forEach(0, KEYS, (i) =>
      history.write(key(i), `v0-${key(i)}`, () => writer.set(key(i), `v0-${key(i)}`)),
    );

    if (fault === 'pause') nemesis.pause(0);
    else if (fault === 'kill') await nemesis.kill(0);
    else if (fault === 'snapshot') await nemesis.stop(0);
    else if (fault === 'partition') nemesis.partition(0);

    const started = Date.now();
    await forEach(0, KEYS, (i) =>
      i < OVERWRITTEN
        ? history.write(key(i), `v1-${key(i)}`, () => writer.set(key(i), `v1-${key(i)}`))
        : history.delete(key(i), () => writer.delete(key(i))),
    );
    const faultWrites = history.operations.slice(KEYS);
    const acknowledged = faultWrites.filter((op) => op.outcome === 'ok').length;
    const writeMs = Date.now() - started;

    // Case c of the issue: the process that wrote during the downtime is gone before the node returns.
    if (fault === 'snapshot') await writer.close();
    if (fault === 'pause') nemesis.resume(0);
    else if (fault === 'kill') await nemesis.restart(0, 'empty');
    else if (fault === 'snapshot') await nemesis.restart(0, 'snapshot');
    else if (fault === 'partition') nemesis.heal(0);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

    const writerReads = new HistoryRecorder('writer');
    if (fault !== 'snapshot') {
      await forEach(0, KEYS, async (i) => {
        await writerReads.read(key(i), () => writer.get<string>(key(i)));
      });
      await writer.close();
    }
    const file = join(dir, 'reader.jsonl');
    await runWorkerProcess(
      {
        process: 'reader',
        urls: nemesis.urls,
        seed: 0,
        keys: KEYS,
        operations: KEYS,
        durationMs: 60_000,
        mix: { write: 0, delete: 0, read: 1 },
        order: 'sequential',
      },
      file,
    );
    const readerReads = readHistory(file);
    const report = checkRegisters([
      ...history.operations,
      ...writerReads.operations,
      ...readerReads,
    ]);
    const mine = countOld(writerReads.operations);
    const theirs = countOld(readerReads);
    const writerLine =
      fault === 'snapshot'
        ? 'writer exited before the node returned'
        : `writer read ${mine.stale}/${OVERWRITTEN} stale, ${mine.resurrected}/${KEYS - OVERWRITTEN} resurrected`;
    const { stale, resurrected, lost } = report.counts;
    return [
      `${fault}: ${acknowledged}/${KEYS} fault-time writes/deletes reported success (${writeMs} ms);`,
      `  ${writerLine};`,
      `  another process read ${theirs.stale}/${OVERWRITTEN} stale, ${theirs.resurrected}/${KEYS - OVERWRITTEN} resurrected;`,
      `  checker: ${report.violations.length} violations in ${report.reads} reads (stale ${stale}, resurrected ${resurrected}, lost ${lost})`,
      ...(report.violations.length > 0
        ? [describeViolations(report, 2).replace(/^/gm, '    ')]
        : []),
    ].join('\n');
  } finally {
    await nemesis.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

const seedArg = process.argv.slice(2).find((arg) => arg.startsWith('--seed='));
const seed = seedArg === undefined ? freshSeed() : Number(seedArg.slice('--seed='.length));
if (!Number.isSafeInteger(seed) || seed < 0) {
  process.stderr.write(`--seed must be a whole number, got ${String(seedArg)}\n`);
  process.exit(2);
}
const asked = process.argv.slice(2).filter((arg) => !arg.startsWith('--seed='));
for (const name of asked) {
  if (!(FAULTS as readonly string[]).includes(name)) {
    process.stderr.write(`unknown fault "${name}"; one of ${FAULTS.join(', ')}\n`);
    process.exit(2);
  }
}
const chosen = asked.length > 0 ? (asked as Fault[]) : FAULTS.filter((fault) => fault !== 'random');
for (const fault of chosen) {
  process.stdout.write(`${await scenario(fault, seed)}\n`);
}
