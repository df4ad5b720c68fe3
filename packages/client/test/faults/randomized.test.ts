// Randomized: a seeded schedule of faults (pause, crash + empty restart, SIGTERM + snapshot
// restart, partition; one node at a time, each undone) while two client processes run seeded
// workloads on 50 keys; then the settle time and a read of every key by a third process. The
// checker judges everything the three saw. The seed is printed; FAULT_SEED=<seed> replays the same
// schedule and workloads (timing still varies).
import { afterEach, describe, expect, it } from 'vitest';
import { checkRegisters, describeViolations } from './checker.js';
import { readHistory } from './history.js';
import { freshSeed } from './random.js';
import { Scenario, SETTLE_MS } from './scenario.js';
import { faultSchedule, runSchedule } from './schedule.js';
import { runWorkerProcess, tally } from './worker.js';
import type { PlanStep, WorkloadOptions } from './worker.js';

/** Faults for this long; with start, settle and the final read the test stays well under 30 s. */
const FAULTS_MS = 12_000;
const KEYS = 50;

function seedToRun(): number {
  const given = process.env.FAULT_SEED;
  if (given === undefined || given === '') return freshSeed();
  const seed = Number(given);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`FAULT_SEED must be a whole number, got ${given}`);
  }
  return seed;
}

let scenario: Scenario | undefined;

afterEach(async () => {
  await scenario?.cleanup();
  scenario = undefined;
});

describe('randomized faults, two client processes', () => {
  it('no stale read, no resurrected delete, nothing lost (seeded; FAULT_SEED replays)', async () => {
    const seed = seedToRun();
    // Printed first, so a run that hangs or crashes still tells how to replay it.
    console.log(`randomized faults: seed ${seed} (FAULT_SEED=${seed} replays it)`);
    // The next fault begins only after the node faulted before it has settled (the guarantee
    // holds once the settle time has passed; docs/design/never-stale.md §2).
    const schedule = faultSchedule(seed, {
      nodes: 3,
      durationMs: FAULTS_MS,
      quietMs: [SETTLE_MS + 200, SETTLE_MS + 1000],
    });
    scenario = await Scenario.start({ snapshots: true });
    const steps: string[] = [];
    const common = {
      urls: scenario.nemesis.urls,
      keys: KEYS,
      // The duration bounds it; the count only caps a runaway loop.
      operations: 200_000,
      durationMs: FAULTS_MS + 500,
    } satisfies Partial<WorkloadOptions>;
    const files = [scenario.file('a'), scenario.file('b')];
    await Promise.all([
      runSchedule(scenario.nemesis, schedule, (step) => steps.push(step)),
      runWorkerProcess({ ...common, process: 'a', seed: seed * 2 + 1 }, files[0]!),
      runWorkerProcess({ ...common, process: 'b', seed: seed * 2 + 2 }, files[1]!),
    ]);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const readEveryKey: PlanStep[] = Array.from({ length: KEYS }, (_, i) => ({
      op: 'get',
      key: `k${i}`,
    }));
    const finalReads = await scenario.inProcess('reader', readEveryKey);
    const history = [...readHistory(...files), ...finalReads];
    const report = checkRegisters(history);
    const { stale, resurrected, lost } = report.counts;
    const summary = [
      `seed ${seed} (FAULT_SEED=${seed} replays it)`,
      ...steps,
      `operations: ${JSON.stringify(tally(history))}`,
      `checker: ${report.violations.length} violations in ${report.reads} reads (stale ${stale}, resurrected ${resurrected}, lost ${lost})`,
      describeViolations(report),
    ].join('\n');
    expect(finalReads.filter((op) => op.outcome !== 'ok').length, summary).toBe(0);
    expect(report.reads, summary).toBeGreaterThan(1000);
    expect(report.violations.length, summary).toBe(0);
  });
});
