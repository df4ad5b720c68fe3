// The register check behind issue #17's "no stale reads, no resurrected deletes": each key is a
// register, and no read may return a value older than the newest write (or delete) that completed
// before the read began. The per-key, real-time model of Jepsen's Knossos, reduced to the one rule
// the issue states (see `strict` for the stronger, read-observed variant).
import type { Operation } from './history.js';

export type ViolationKind =
  /** Returned a value, though a newer write completed before the read began. */
  | 'stale'
  /** Returned a value, though a delete completed after it and before the read began. */
  | 'resurrected'
  /** Returned a miss, though a write completed (and no delete after it) before the read began. */
  | 'lost'
  /** Returned a value no write in the history wrote. */
  | 'unknown-value'
  /** Returned a value whose write began only after the read had ended. */
  | 'future-value';

export interface Violation {
  kind: ViolationKind;
  key: string;
  read: Operation;
  /** What the read returned: a value, or null for a miss. */
  returned: string | null;
  /**
   * The newest write or delete that completed before the read began, which the read should have
   * returned (or something newer). Absent for `unknown-value` and `future-value`.
   */
  expected?: Operation;
}

export interface CheckReport {
  valid: boolean;
  keys: number;
  /** Reads checked (those that answered). */
  reads: number;
  violations: Violation[];
  /** Violations per kind. */
  counts: Record<ViolationKind, number>;
}

export interface CheckOptions {
  /**
   * Also count a write as applied from the end of the first read that returned it, so a later read
   * must not return anything older (monotonic reads across processes, as a linearizable register
   * demands). Off by default: #17 promises the completed-write rule, and while a write is still
   * running one replica may already serve it and another not yet.
   * @default false
   */
  strict?: boolean;
}

/** A write or delete, with the earliest time it is known to have taken effect. */
interface Effect {
  op: Operation | undefined;
  /** null for a delete (and for the initial state: every key starts absent). */
  value: string | null;
  start: number;
  /** Its end when it answered ok (or a read saw it, under `strict`); Infinity when it may still land. */
  appliedBy: number;
}

/** Checks every key of `history` (operations of any processes, in any order). */
export function checkRegisters(
  history: readonly Operation[],
  options: CheckOptions = {},
): CheckReport {
  const byKey = new Map<string, Operation[]>();
  for (const operation of history) {
    let list = byKey.get(operation.key);
    if (list === undefined) byKey.set(operation.key, (list = []));
    list.push(operation);
  }
  const violations: Violation[] = [];
  let reads = 0;
  for (const [key, operations] of byKey) reads += checkKey(key, operations, options, violations);
  const counts: Record<ViolationKind, number> = {
    stale: 0,
    resurrected: 0,
    lost: 0,
    'unknown-value': 0,
    'future-value': 0,
  };
  for (const violation of violations) counts[violation.kind]++;
  return { valid: violations.length === 0, keys: byKey.size, reads, violations, counts };
}

function checkKey(
  key: string,
  operations: readonly Operation[],
  options: CheckOptions,
  violations: Violation[],
): number {
  const effects: Effect[] = [
    { op: undefined, value: null, start: -Infinity, appliedBy: -Infinity },
  ];
  const byValue = new Map<string, Effect>();
  for (const op of operations) {
    if (op.kind === 'read') continue;
    const value = op.kind === 'write' ? (op.value ?? null) : null;
    const effect: Effect = {
      op,
      value,
      start: op.start,
      appliedBy: op.outcome === 'ok' ? op.end : Infinity,
    };
    if (value !== null) {
      if (byValue.has(value)) {
        throw new Error(
          `key "${key}": value "${value}" is written twice; writes need unique values`,
        );
      }
      byValue.set(value, effect);
    }
    effects.push(effect);
  }
  const answered = operations.filter((op) => op.kind === 'read' && op.outcome === 'ok');
  if (options.strict === true) {
    for (const read of answered) {
      const effect = read.value == null ? undefined : byValue.get(read.value);
      if (effect !== undefined && read.end < effect.appliedBy) effect.appliedBy = read.end;
    }
  }

  // Effects by start, with the earliest appliedBy from each index on: "did anything that began
  // after t take effect before t'?" is then a binary search and one lookup.
  effects.sort((a, b) => a.start - b.start);
  const earliestFrom = new Array<number>(effects.length + 1);
  earliestFrom[effects.length] = Infinity;
  for (let i = effects.length - 1; i >= 0; i--) {
    earliestFrom[i] = Math.min(effects[i]!.appliedBy, earliestFrom[i + 1]!);
  }
  /** Index of the first effect that began after `time`. */
  const firstAfter = (time: number): number => {
    let low = 0;
    let high = effects.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (effects[mid]!.start > time) high = mid;
      else low = mid + 1;
    }
    return low;
  };
  /** Did an effect that began after `effect` took effect also take effect before `time`? */
  const supersededBefore = (effect: Effect, time: number): boolean =>
    earliestFrom[firstAfter(effect.appliedBy)]! < time;
  /** The newest effect after `effect` that took effect before `time`: what a read should see. */
  const newestBefore = (effect: Effect, time: number): Effect | undefined => {
    let newest: Effect | undefined;
    for (let i = firstAfter(effect.appliedBy); i < effects.length; i++) {
      const candidate = effects[i]!;
      if (
        candidate.appliedBy < time &&
        (newest === undefined || candidate.appliedBy > newest.appliedBy)
      ) {
        newest = candidate;
      }
    }
    return newest;
  };

  for (const read of answered) {
    const returned = read.value ?? null;
    let seen: Effect | undefined;
    if (returned !== null) {
      seen = byValue.get(returned);
      if (seen === undefined) {
        violations.push({ kind: 'unknown-value', key, read, returned });
        continue;
      }
      if (seen.start > read.end) {
        violations.push({ kind: 'future-value', key, read, returned });
        continue;
      }
    } else {
      // A miss is explained by the delete (or the initial absence) that took effect last, among
      // those begun before the read ended: later-applied ones are superseded by fewer writes.
      for (const effect of effects) {
        if (effect.value !== null || effect.start > read.end) continue;
        if (seen === undefined || effect.appliedBy > seen.appliedBy) seen = effect;
      }
    }
    if (!supersededBefore(seen!, read.start)) continue;
    const expected = newestBefore(seen!, read.start)!;
    const kind: ViolationKind =
      returned === null ? 'lost' : expected.value === null ? 'resurrected' : 'stale';
    violations.push({ kind, key, read, returned, expected: expected.op });
  }
  return answered.length;
}

/** One line per violation (at most `limit`), for a failing test's message or a script's output. */
export function describeViolations(report: CheckReport, limit = 10): string {
  const lines = report.violations.slice(0, limit).map((violation) => {
    const { kind, key, read, returned, expected } = violation;
    const shown = returned === null ? 'a miss' : JSON.stringify(returned);
    const should =
      expected === undefined
        ? ''
        : `; expected at least ${expected.kind === 'delete' ? 'the delete' : JSON.stringify(expected.value)} by ${expected.process} ending at ${expected.end.toFixed(1)}`;
    return `${kind}: key ${JSON.stringify(key)} read by ${read.process} at ${read.start.toFixed(1)}–${read.end.toFixed(1)} returned ${shown}${should}`;
  });
  const more = report.violations.length - lines.length;
  if (more > 0) lines.push(`… and ${more} more`);
  return lines.join('\n');
}
