// Fault schedules are replayable from their seed and well-formed: one fault at a time, each
// undone within the duration.
import { describe, expect, it } from 'vitest';
import { faultSchedule } from './schedule.js';

describe('faultSchedule', () => {
  it('gives the same schedule for the same seed, and another for another seed', () => {
    const options = { nodes: 3, durationMs: 20_000 };
    expect(faultSchedule(7, options)).toEqual(faultSchedule(7, options));
    expect(faultSchedule(7, options)).not.toEqual(faultSchedule(8, options));
  });

  it.each([1, 2, 3, 42, 2 ** 31 - 1])(
    'seed %i: faults one at a time, each undone, all within the duration',
    (seed) => {
      const schedule = faultSchedule(seed, { nodes: 3, durationMs: 15_000 });
      expect(schedule.length).toBeGreaterThan(3);
      let previousEnd = 0;
      for (const fault of schedule) {
        expect(fault.at).toBeGreaterThanOrEqual(previousEnd + 200);
        expect(fault.until - fault.at).toBeGreaterThanOrEqual(500);
        expect(fault.until - fault.at).toBeLessThanOrEqual(2500);
        expect(fault.until).toBeLessThanOrEqual(15_000);
        expect([0, 1, 2]).toContain(fault.node);
        previousEnd = fault.until;
      }
    },
  );

  it('draws every kind asked for, and only those', () => {
    const kinds = new Set(
      faultSchedule(5, { nodes: 3, durationMs: 120_000 }).map((fault) => fault.kind),
    );
    expect(kinds).toEqual(new Set(['pause', 'crash', 'restart-from-snapshot', 'partition']));
    const only = faultSchedule(5, { nodes: 3, durationMs: 60_000, kinds: ['pause'] });
    expect(new Set(only.map((fault) => fault.kind))).toEqual(new Set(['pause']));
  });
});
