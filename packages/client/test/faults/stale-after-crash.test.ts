// Issue #17, case b: a node killed (SIGKILL) while its keys are overwritten and deleted, and
// restarted empty. One fault alone does not show much (an empty node's misses fall through to the
// replica that has the new value), so a second fault follows once the node is back and settled:
// more overwrites and deletes, then the key's other replica is killed. What the stand-in (the third
// node, which held writes only while the first was down) still has must not be served, and what
// the restarted node lost must be back on it (else the untouched keys are lost with the second
// replica).
import { afterEach, describe, expect, it } from 'vitest';
import { faultWriteProblems, key, Scenario, writes } from './scenario.js';

let scenario: Scenario | undefined;

afterEach(async () => {
  await scenario?.cleanup();
  scenario = undefined;
});

describe('a crashed node restarted empty', () => {
  it('serves no old value and no deleted key, loses nothing, also after the other replica crashes too', async () => {
    scenario = await Scenario.start();
    const result = await scenario.run('crash', {
      then: async ({ nemesis, apply, log }) => {
        // Keys 0–99 get a third value and 100–199 (overwritten during the fault) are deleted,
        // while every node is up; then node 1, the other replica of half of node 0's keys, dies.
        const later = await apply([
          ...writes(0, 100, (i) => `v2-${key(i)}`),
          ...writes(100, 200, 'delete'),
        ]);
        log(
          `writes after the node returned: ${later.filter((op) => op.outcome === 'ok').length}/200 ok`,
        );
        log('crash node 1');
        await nemesis.kill(1);
      },
    });
    // Those caught before the client marked the node down are unconfirmed: their primary never
    // acknowledged (scenario.ts, MAX_UNCONFIRMED_FAULT_WRITES).
    expect(
      faultWriteProblems(result.faultWrites),
      `writes and deletes succeed on the other replica while the node is down once the client marked it down\n${result.log}`,
    ).toBe('');
    expect(result.reads.filter((op) => op.outcome !== 'ok').length, result.log).toBe(0);
    expect(result.report.violations.length, result.log).toBe(0);
  });
});
