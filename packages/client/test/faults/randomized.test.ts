// Randomized: a seeded schedule of faults (pause, crash + empty restart, SIGTERM + snapshot
// restart, partition; one node at a time, each undone) while two client processes run seeded
// workloads on 50 keys; then the settle time and a read of every key by a third process. The
// checker judges everything the three saw, by the contract of docs/design/never-stale.md §2:
// - no stale or resurrected read, except one that ends after a faulted node is reachable again
//   and begins within the settle time after that (the contract holds once the settle time has
//   passed), or one that returns a blind write less than the stamps' resolution older (§2's limit);
// - no lost write in the final reads (after the settle time). During a fault a miss is what the
//   design answers when no replica can vouch for a value ("when in doubt, miss"); those are
//   printed, not failed.
// The seed is printed; FAULT_SEED=<seed> replays the same schedule and workloads (timing varies).
import { afterEach, describe, expect, it } from 'vitest';
import { checkRegisters, describeViolations } from './checker.js';
import type { Violation } from './checker.js';
import { clusterCounters } from './replication-counters.js';
import { now, readHistory } from './history.js';
import type { Operation } from './history.js';
import { freshSeed } from './random.js';
import { Scenario, SETTLE_MS } from './scenario.js';
import { faultSchedule, runSchedule } from './schedule.js';
import { runWorkerProcess, tally } from './worker.js';
import type { PlanStep, WorkloadOptions } from './worker.js';

/**
 * Stamps count milliseconds (HybridClock): two writes by processes that exchanged no message, less
 * than this apart, are ordered by their clocks' logical counters rather than by real time — the
 * limit docs/design/never-stale.md §2 states for blind writes (here every process shares one
 * machine's clock, so the skew is the clock's resolution).
 */
const BLIND_WRITE_MS = 2;

/** Faults for this long; with start, settle and the final read the test stays well under 30 s. */
const FAULTS_MS = 12_000;
/** The nodes' `--stall-threshold`: below every fault's length. */
const STALL_THRESHOLD_MS = 2000;
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

/** The last operations on `read`'s key up to it, to diagnose a violation. */
function timeline(history: readonly Operation[], read: Operation | undefined): string[] {
  if (read === undefined) return [];
  return [
    `the last operations on ${read.key} up to that read:`,
    ...history
      .filter((op) => op.key === read.key && op.start <= read.end)
      .sort((a, b) => a.start - b.start)
      .slice(-12)
      .map(
        (op) =>
          `  ${op.process} ${op.kind} ${op.value === undefined ? '' : JSON.stringify(op.value)} ${op.start.toFixed(1)}–${op.end.toFixed(1)} ${op.outcome}${op.error === undefined ? '' : ` ${op.error}`}`,
      ),
  ];
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
    // Every fault lasts longer than the nodes' stall threshold, so each pause is a stall its node
    // notices and fences on, while a loaded machine's stalls (about 1.2 s at most, nemesis.ts) are
    // not: at the CLI's 500 ms, a whole-suite run under load fenced the nodes never faulted (2
    // stalls each) and the final reads missed 41 keys no replica could vouch for.
    const schedule = faultSchedule(seed, {
      nodes: 3,
      durationMs: FAULTS_MS,
      faultMs: [STALL_THRESHOLD_MS + 500, STALL_THRESHOLD_MS + 2000],
      quietMs: [SETTLE_MS + 200, SETTLE_MS + 1000],
    });
    scenario = await Scenario.start({ snapshots: true, stallThresholdMs: STALL_THRESHOLD_MS });
    const steps: string[] = [];
    /** When each faulted node was reachable again, on the histories' clock. */
    const returns: number[] = [];
    const common = {
      urls: scenario.nemesis.urls,
      keys: KEYS,
      // The duration bounds it; the count only caps a runaway loop.
      operations: 200_000,
      durationMs: FAULTS_MS + 500,
    } satisfies Partial<WorkloadOptions>;
    const files = [scenario.file('a'), scenario.file('b')];
    await Promise.all([
      // Each step with the histories' clock too, to line faults up with the operations.
      runSchedule(
        scenario.nemesis,
        schedule,
        (step) => {
          const at = now();
          steps.push(`${step} (at ${at.toFixed(1)})`);
          if (step.endsWith(' back')) returns.push(at);
        },
        SETTLE_MS,
      ),
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
    const inSettleWindow = ({ read }: Violation): boolean =>
      returns.some((back) => read.end >= back && read.start < back + SETTLE_MS);
    /** The value read was written by another process within the stamps' resolution of the newer one. */
    const blindWrites = ({ expected, returned, key: k }: Violation): boolean => {
      if (expected === undefined || returned === null) return false;
      const written = history.find(
        (op) => op.kind === 'write' && op.key === k && op.value === returned,
      );
      return (
        written !== undefined &&
        written.process !== expected.process &&
        expected.start - written.end < BLIND_WRITE_MS
      );
    };
    const failing = report.violations.filter((violation) =>
      violation.kind === 'lost'
        ? violation.read.process === 'reader'
        : !inSettleWindow(violation) && !blindWrites(violation),
    );
    const excused = report.violations.filter((violation) => !failing.includes(violation));
    const nodes = await clusterCounters(scenario.nemesis.urls);
    const { stale, resurrected, lost } = report.counts;
    const summary = [
      `seed ${seed} (FAULT_SEED=${seed} replays it)`,
      ...steps,
      `operations: ${JSON.stringify(tally(history))}`,
      `checker: ${report.violations.length} violations in ${report.reads} reads (stale ${stale}, resurrected ${resurrected}, lost ${lost}); ${excused.length} allowed (misses during faults, reads within the settle time after a node returned, blind writes less than ${BLIND_WRITE_MS} ms apart)`,
      describeViolations({ ...report, violations: failing }),
      ...failing.slice(0, 3).flatMap((violation) => timeline(history, violation.read)),
      'allowed:',
      describeViolations({ ...report, violations: excused }, 5),
      ...excused
        .filter((violation) => violation.kind !== 'lost')
        .slice(0, 2)
        .flatMap((violation) => timeline(history, violation.read)),
      ...nodes.map((node) => {
        const { stalls, fences, verifications, hintsReplayed, hintsDropped } = node.values;
        return `${node.url}: ${JSON.stringify({ stalls, fences, verifications, hintsReplayed, hintsDropped })}`;
      }),
    ].join('\n');
    console.log(summary);
    expect(finalReads.filter((op) => op.outcome !== 'ok').length, summary).toBe(0);
    expect(report.reads, summary).toBeGreaterThan(1000);
    expect(failing.length, summary).toBe(0);
    // The schedule alone runs FAULTS_MS by the clock; the three client processes it starts take
    // seconds each to start on a loaded machine (a whole-suite run under load passed 30 s).
  }, 60_000);
});
