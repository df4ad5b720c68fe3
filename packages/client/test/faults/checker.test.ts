// The register checker on synthetic histories: what must pass, and each kind of violation.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkRegisters, describeViolations } from './checker.js';
import type { ViolationKind } from './checker.js';
import { HistoryRecorder, readHistory, writeHistory } from './history.js';
import type { Operation, Outcome } from './history.js';
import { seededRandom } from './random.js';

// Tiny constructors: [start, end] in ms, key "k" and process "p1" unless given.
const w = (
  value: string,
  start: number,
  end: number,
  outcome: Outcome = 'ok',
  process = 'p1',
): Operation => ({
  process,
  key: 'k',
  kind: 'write',
  value,
  start,
  end,
  outcome,
});
const d = (start: number, end: number, outcome: Outcome = 'ok', process = 'p1'): Operation => ({
  process,
  key: 'k',
  kind: 'delete',
  start,
  end,
  outcome,
});
const r = (value: string | null, start: number, end: number, process = 'p2'): Operation => ({
  process,
  key: 'k',
  kind: 'read',
  value,
  start,
  end,
  outcome: 'ok',
});

interface Case {
  name: string;
  history: Operation[];
  /** The kinds of the violations found, in read order; [] = the history is valid. */
  expected: ViolationKind[];
  strict?: boolean;
}

const cases: Case[] = [
  { name: 'an empty history', history: [], expected: [] },
  { name: 'a miss before any write', history: [r(null, 0, 1)], expected: [] },
  {
    name: 'a read after a completed write sees it',
    history: [w('a', 0, 1), r('a', 2, 3)],
    expected: [],
  },
  {
    name: 'sequential overwrites, each read sees the latest',
    history: [w('a', 0, 1), r('a', 2, 3), w('b', 4, 5), r('b', 6, 7), d(8, 9), r(null, 10, 11)],
    expected: [],
  },
  {
    name: 'stale: the old value after a completed overwrite',
    history: [w('a', 0, 1), w('b', 2, 3), r('a', 4, 5)],
    expected: ['stale'],
  },
  {
    name: 'resurrected: a value back after a completed delete',
    history: [w('a', 0, 1), d(2, 3), r('a', 4, 5)],
    expected: ['resurrected'],
  },
  {
    name: 'lost: a miss after a completed write',
    history: [w('a', 0, 1), r(null, 2, 3)],
    expected: ['lost'],
  },
  {
    name: 'lost: a miss after delete then write',
    history: [d(0, 1), w('a', 2, 3), r(null, 4, 5)],
    expected: ['lost'],
  },
  {
    name: 'a read concurrent with an overwrite may return either value',
    history: [w('a', 0, 1), w('b', 2, 6), r('a', 3, 4), r('b', 4.5, 5)],
    expected: [],
  },
  {
    name: 'a read concurrent with a delete may return the value or a miss',
    history: [w('a', 0, 1), d(2, 6), r('a', 3, 4), r(null, 4.5, 5)],
    expected: [],
  },
  {
    name: 'a write that ended exactly as the read began is concurrent with it',
    history: [w('a', 0, 1), w('b', 2, 3), r('a', 3, 4)],
    expected: [],
  },
  {
    name: 'an unknown-outcome write may appear much later',
    history: [
      w('a', 0, 1),
      w('b', 2, 3, 'unknown'),
      r('a', 10, 11),
      r('b', 20, 21),
      r('a', 30, 31),
    ],
    expected: [],
  },
  {
    name: 'a failed write may still appear (a replica may have taken it)',
    history: [w('a', 0, 1), w('b', 2, 3, 'failed'), r('b', 10, 11)],
    expected: [],
  },
  {
    name: 'an unknown-outcome write supersedes nothing: a completed older value may still be read',
    history: [w('a', 0, 1), d(2, 3, 'unknown'), r('a', 4, 5), r(null, 6, 7)],
    expected: [],
  },
  {
    name: 'an unknown-outcome write may even land after a later completed one',
    history: [w('a', 0, 1, 'unknown'), w('b', 2, 3), r('a', 4, 5)],
    expected: [],
  },
  {
    name: 'strict: an unknown-outcome write a read returned is applied from then on',
    history: [w('a', 0, 1, 'unknown'), r('a', 2, 3), w('b', 4, 5), r('a', 6, 7)],
    expected: ['stale'],
    strict: true,
  },
  {
    name: 'a value nobody wrote',
    history: [w('a', 0, 1), r('zzz', 2, 3)],
    expected: ['unknown-value'],
  },
  {
    name: 'a value whose write began after the read ended',
    history: [r('a', 0, 1), w('a', 2, 3)],
    expected: ['future-value'],
  },
  {
    name: 'reads that failed are not checked',
    history: [
      w('a', 0, 1),
      w('b', 2, 3),
      { ...r('a', 4, 5), outcome: 'unknown', value: undefined },
    ],
    expected: [],
  },
  {
    name: 'keys are separate registers',
    history: [w('a', 0, 1), { ...w('x', 2, 3), key: 'other' }, r('a', 4, 5)],
    expected: [],
  },
  {
    name: 'default: a read may go back while the newer write is still running',
    history: [w('a', 0, 1), w('b', 2, 10), r('b', 3, 4), r('a', 5, 6)],
    expected: [],
  },
  {
    name: 'strict: once a read returned a write, later reads must not return older values',
    history: [w('a', 0, 1), w('b', 2, 10), r('b', 3, 4), r('a', 5, 6)],
    expected: ['stale'],
    strict: true,
  },
  {
    name: 'several violations, one per bad read',
    history: [w('a', 0, 1), w('b', 2, 3), r('a', 4, 5), d(6, 7), r('b', 8, 9), r(null, 10, 11)],
    expected: ['stale', 'resurrected'],
  },
];

describe('checkRegisters', () => {
  it.each(cases)('$name', ({ history, expected, strict }) => {
    // The order of operations in the history must not matter: processes' files merge in any order.
    for (const ordering of [history, [...history].reverse()]) {
      const report = checkRegisters(ordering, { strict });
      const kinds = [...report.violations]
        .sort((a, b) => a.read.start - b.read.start)
        .map((violation) => violation.kind);
      expect(kinds, describeViolations(report)).toEqual(expected);
      expect(report.valid).toBe(expected.length === 0);
    }
  });

  it('names what the read should have returned at least', () => {
    const report = checkRegisters([
      w('a', 0, 1),
      w('b', 2, 3),
      w('c', 4, 5, 'ok', 'p3'),
      r('a', 6, 7),
    ]);
    expect(report.violations).toHaveLength(1);
    const [violation] = report.violations;
    expect(violation).toMatchObject({ kind: 'stale', key: 'k', returned: 'a' });
    expect(violation!.expected).toMatchObject({ value: 'c', process: 'p3' });
    expect(describeViolations(report)).toBe(
      'stale: key "k" read by p2 at 6.0–7.0 returned "a"; expected at least "c" by p3 ending at 5.0',
    );
    expect(report.counts.stale).toBe(1);
    expect(report).toMatchObject({ keys: 1, reads: 1 });
  });

  // A write or delete whose outcome is unknown may take effect at any time after it began, or
  // never: every verdict that holds with it ok must hold with it unknown, and no new one appear. So
  // more writes answered false (outcome unknown) can only hide violations, never add one.
  it.each([false, true])(
    'strict %s: an outcome turned from ok to unknown never adds a violation',
    (strict) => {
      const random = seededRandom(17);
      const at = (): number => Math.floor(random() * 40);
      const violating = (history: Operation[]): Set<Operation> =>
        new Set(checkRegisters(history, { strict }).violations.map((v) => v.read));
      let flips = 0;
      let found = 0;
      for (let round = 0; round < 200; round++) {
        const history: Operation[] = [];
        const written: string[] = [];
        for (let i = 0; i < 12; i++) {
          const start = at();
          const end = start + 1 + Math.floor(random() * 6);
          const pick = random();
          if (pick < 0.4) {
            written.push(`v${i}`);
            history.push(w(`v${i}`, start, end, random() < 0.3 ? 'unknown' : 'ok'));
          } else if (pick < 0.5) {
            history.push(d(start, end, random() < 0.3 ? 'unknown' : 'ok'));
          } else {
            const value =
              written.length === 0 || random() < 0.2 ? null : written[at() % written.length]!;
            history.push(r(value, start, end));
          }
        }
        const before = violating(history);
        found += before.size;
        history.forEach((op, index) => {
          if (op.kind === 'read' || op.outcome !== 'ok') return;
          const flipped = history.map((other, j) =>
            j === index ? { ...other, outcome: 'unknown' as const } : other,
          );
          const after = violating(flipped);
          flips++;
          const reads = (set: Set<Operation>): string[] =>
            [...set].map((read) => `${read.value}@${read.start}`).sort();
          expect(reads(after).every((read) => reads(before).includes(read))).toBe(true);
        });
      }
      // The histories are not trivially valid, and many outcomes were flipped.
      expect(found).toBeGreaterThan(50);
      expect(flips).toBeGreaterThan(500);
    },
  );

  it('refuses a history whose writes repeat a value (a read could not name its write)', () => {
    expect(() => checkRegisters([w('a', 0, 1), w('a', 2, 3)])).toThrow(/written twice/);
  });
});

describe('HistoryRecorder', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('records outcomes as the client reports them, and files from two processes merge', async () => {
    const one = new HistoryRecorder('one');
    const two = new HistoryRecorder('two');
    await one.write('k', 'a', () => Promise.resolve(true));
    await one.write('k', 'b', () => Promise.resolve(false));
    await one.write('k', 'c', () => Promise.reject(new Error('timed out')));
    await two.delete('k', () => Promise.resolve(false));
    expect(await two.read('k', () => Promise.resolve('a'))).toBe('a');
    await two.read('k', () => Promise.resolve(undefined));
    expect(one.operations.map((op) => op.outcome)).toEqual(['ok', 'unknown', 'unknown']);
    expect(one.operations[2]!.error).toBe('Error: timed out');
    expect(two.operations.map((op) => [op.kind, op.value])).toEqual([
      ['delete', undefined],
      ['read', 'a'],
      ['read', null],
    ]);
    for (const op of [...one.operations, ...two.operations])
      expect(op.end).toBeGreaterThanOrEqual(op.start);

    dir = mkdtempSync(join(tmpdir(), 'dcache-history-'));
    writeHistory(join(dir, 'one.jsonl'), one.operations);
    writeHistory(join(dir, 'two.jsonl'), two.operations);
    const merged = readHistory(join(dir, 'one.jsonl'), join(dir, 'two.jsonl'));
    expect(merged).toEqual([...one.operations, ...two.operations]);
  });
});
