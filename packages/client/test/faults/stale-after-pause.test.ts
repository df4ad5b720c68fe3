// Issue #17, case a: a node paused (SIGSTOP) while its keys are overwritten and deleted on the
// other replica; after SIGCONT and the settle time, neither the client that wrote nor a process
// that never saw the writes reads an old value or a deleted key, and nothing untouched is lost.
import { afterEach, describe, expect, it } from 'vitest';
import { faultWriteProblems, Scenario } from './scenario.js';

let scenario: Scenario | undefined;

afterEach(async () => {
  await scenario?.cleanup();
  scenario = undefined;
});

describe('a paused node', () => {
  it('serves no old value and no deleted key after it resumes, to the writer or another process', async () => {
    // The pause is the stall: it lasts at least the client's three failed requests before it marks
    // the node down (3 × its 1 s timeout), so the node fences itself on SIGCONT; a loaded machine's
    // stalls (about 1.2 s at most, nemesis.ts) do not fence the others.
    scenario = await Scenario.start({ stallThresholdMs: 2000 });
    const result = await scenario.run('pause');
    // Those caught before the client marked the node down are unconfirmed: their primary never
    // acknowledged (scenario.ts, MAX_UNCONFIRMED_FAULT_WRITES).
    expect(
      faultWriteProblems(result.faultWrites),
      `writes and deletes succeed on the other replica while the node is paused once the client marked it down\n${result.log}`,
    ).toBe('');
    expect(result.reads.filter((op) => op.outcome !== 'ok').length, result.log).toBe(0);
    expect(result.report.violations.length, result.log).toBe(0);
  });
});
