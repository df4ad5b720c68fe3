// No fault at all: two client processes race sets, deletes and gets on a few keys. What the
// groundwork found here (docs/design/never-stale.md §1): read repair landing after a concurrent
// delete brings the key back, and with 'one' a write acknowledged by the second replica first is
// not yet on the primary that the next read asks. Neither may happen, under either consistency.
import { afterEach, describe, expect, it } from 'vitest';
import { checkRegisters, describeViolations } from './checker.js';
import { readHistory } from './history.js';
import { Scenario } from './scenario.js';
import { runWorkerProcess, runWorkload, tally } from './worker.js';
import type { WorkloadOptions } from './worker.js';

let scenario: Scenario | undefined;

afterEach(async () => {
  await scenario?.cleanup();
  scenario = undefined;
});

describe('two processes racing on the same keys, no fault', () => {
  it.each(['one', 'all'] as const)(
    "writeConsistency '%s': every read returns the newest completed write or delete",
    async (writeConsistency) => {
      scenario = await Scenario.start();
      const common = {
        urls: scenario.nemesis.urls,
        client: { writeConsistency },
        keys: 10,
        operations: 3000,
        durationMs: 6000,
        concurrency: 8,
      } satisfies Partial<WorkloadOptions>;
      const file = scenario.file('b');
      const [own] = await Promise.all([
        runWorkload({ ...common, process: 'a', seed: 1 }),
        runWorkerProcess({ ...common, process: 'b', seed: 2 }, file),
      ]);
      const history = [...own, ...readHistory(file)];
      const report = checkRegisters(history);
      const summary = `${JSON.stringify(tally(history))}\n${describeViolations(report)}`;
      expect(report.reads, summary).toBeGreaterThan(500);
      expect(report.violations.length, summary).toBe(0);
    },
  );
});
