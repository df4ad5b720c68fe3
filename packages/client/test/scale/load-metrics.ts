// What the scale tests measure in a merged history: the hit ratio of gets in a time window, the
// calls that failed, and the checker's verdict with misses told apart from stale reads (a cache
// may lose a key — that is the hit ratio's business — but must never serve an overwritten one).
import { checkRegisters, describeViolations } from '../faults/checker.js';
import type { Violation } from '../faults/checker.js';
import type { Operation } from '../faults/history.js';

export interface Window {
  /** `now()` times: reads that began in [from, to). */
  from: number;
  to: number;
}

export interface HitRatio {
  gets: number;
  hits: number;
  /** hits / gets; NaN without a get. */
  ratio: number;
}

/** Gets that answered and began in `window`: how many found a value. */
export function hitRatio(history: readonly Operation[], window: Window): HitRatio {
  let gets = 0;
  let hits = 0;
  for (const op of history) {
    if (op.kind !== 'read' || op.outcome !== 'ok') continue;
    if (op.start < window.from || op.start >= window.to) continue;
    gets++;
    if (op.value !== null && op.value !== undefined) hits++;
  }
  return { gets, hits, ratio: hits / gets };
}

/** Calls that did not answer ok (timeouts, unavailable, refused, writes answered false). */
export function errors(history: readonly Operation[]): Operation[] {
  return history.filter((op) => op.outcome !== 'ok');
}

/**
 * A write that answered false: some replicas took it but not all it asks for (the primary among
 * them), so its outcome is unknown. It did not throw: the call failed over, and hints repair the
 * replicas it missed.
 */
export const isPartialWrite = (op: Operation): boolean =>
  op.kind === 'write' && op.outcome === 'unknown' && op.error === undefined;

/** The p-th percentile (0–100) of the latency of calls of `kind` that began in `window`, in ms. */
export function latencyPercentile(
  history: readonly Operation[],
  p: number,
  window: Window,
): number {
  const latencies = history
    .filter((op) => op.start >= window.from && op.start < window.to)
    .map((op) => op.end - op.start)
    .sort((a, b) => a - b);
  if (latencies.length === 0) return NaN;
  return latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)]!;
}

export interface Staleness {
  /** Reads that returned an overwritten value, a deleted one, or one never (yet) written. */
  stale: number;
  /** Reads that missed a key written before (a cache's miss: counted, not a violation here). */
  lost: number;
  /** The first few violations other than `lost`, one a line. */
  detail: string;
  /** Every violation other than `lost`. */
  violations: Violation[];
}

export function staleness(history: readonly Operation[]): Staleness {
  const report = checkRegisters(history);
  const { stale, resurrected, lost } = report.counts;
  const wrong = report.violations.filter((violation) => violation.kind !== 'lost');
  return {
    stale: stale + resurrected + report.counts['unknown-value'] + report.counts['future-value'],
    lost,
    detail: describeViolations({ ...report, violations: wrong }, 10),
    violations: wrong,
  };
}

export const percent = (ratio: number): string => `${(ratio * 100).toFixed(2)}%`;

/** The hit ratio per `stepMs` from `from` to `to`, as percentages on one line (for the log). */
export function hitTimeline(
  history: readonly Operation[],
  from: number,
  to: number,
  stepMs = 1000,
): string {
  const steps: string[] = [];
  for (let start = from; start < to; start += stepMs) {
    const { ratio } = hitRatio(history, { from: start, to: Math.min(to, start + stepMs) });
    steps.push(Number.isNaN(ratio) ? '–' : (ratio * 100).toFixed(1));
  }
  return steps.join(' ');
}
