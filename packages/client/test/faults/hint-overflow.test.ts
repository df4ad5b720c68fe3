// Issue #17, requirement 5: memory held for missed writes is bounded (`--max-hints`), and
// overflowing it falls back safely: the node that missed the writes is fenced (everything it holds
// is doubtful until verified) instead of receiving them one by one. Here about 1000 writes are
// missed by a partitioned node while the others may hold 100 hints each: still no stale read, no
// resurrected delete, nothing lost, and the fallback is visible in the counters.
import { afterEach, describe, expect, it } from 'vitest';
import { clusterCounters, mismatched, sum } from './replication-counters.js';
import { faultWriteProblems, Scenario } from './scenario.js';

const MAX_HINTS = 100;

let scenario: Scenario | undefined;

afterEach(async () => {
  await scenario?.cleanup();
  scenario = undefined;
});

describe('hints beyond --max-hints', () => {
  it('fence the node that missed them instead: no stale read, visible in the counters', async () => {
    scenario = await Scenario.start({ nodeArgs: ['--max-hints', String(MAX_HINTS)] });
    // 1500 keys, two thirds of them on the partitioned node: about 1000 missed writes.
    const result = await scenario.run('partition', { keys: 1500, overwritten: 1000 });
    // Those caught before the client marked the node down are unconfirmed: their primary never
    // acknowledged (scenario.ts, MAX_UNCONFIRMED_FAULT_WRITES).
    expect(
      faultWriteProblems(result.faultWrites),
      `writes and deletes succeed on the other replicas while the node is cut off once the client marked it down\n${result.log}`,
    ).toBe('');
    expect(result.reads.filter((op) => op.outcome !== 'ok').length, result.log).toBe(0);
    expect(result.report.violations.length, result.log).toBe(0);

    const [cut, ...others] = await clusterCounters(scenario.nemesis.urls);
    const shown = [cut, ...others].map((node) => `${node!.url} ${JSON.stringify(node!.values)}`);
    const log = `${result.log}\n${shown.join('\n')}`;
    expect(mismatched([cut!, ...others], ['hintsDropped', 'hintsPending', 'fences']), log).toEqual(
      [],
    );
    expect(sum(others, 'hintsDropped'), log).toBeGreaterThan(0);
    expect(sum(others, 'hintsPending'), log).toBeLessThanOrEqual(MAX_HINTS * others.length);
    expect(cut!.values.fences, log).toBeGreaterThanOrEqual(1);
  });
});
