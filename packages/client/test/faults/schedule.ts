// Seeded fault schedules for the randomized variant: faults and quiet spells alternate, one node
// faulted at a time (replicas − 1 with the default 2), every fault undone before the schedule ends.
import type { Nemesis } from './nemesis.js';
import { seededRandom } from './random.js';

export type FaultKind = 'pause' | 'crash' | 'restart-from-snapshot' | 'partition';

/** One fault on one node: done at `at`, undone at `until` (ms from the schedule's start). */
export interface ScheduledFault {
  kind: FaultKind;
  node: number;
  at: number;
  until: number;
}

export interface ScheduleOptions {
  nodes: number;
  /** Every fault is undone by then. */
  durationMs: number;
  /** Kinds to draw from. @default every kind */
  kinds?: readonly FaultKind[];
  /** How long a fault lasts, drawn uniformly. @default [500, 2500] */
  faultMs?: readonly [number, number];
  /** Quiet time before each fault, drawn uniformly. @default [200, 1000] */
  quietMs?: readonly [number, number];
}

const ALL_KINDS: readonly FaultKind[] = ['pause', 'crash', 'restart-from-snapshot', 'partition'];

/** The same seed and options give the same schedule. */
export function faultSchedule(seed: number, options: ScheduleOptions): ScheduledFault[] {
  const random = seededRandom(seed);
  const between = ([low, high]: readonly [number, number]): number =>
    Math.round(low + random() * (high - low));
  const kinds = options.kinds ?? ALL_KINDS;
  const faultMs = options.faultMs ?? [500, 2500];
  const quietMs = options.quietMs ?? [200, 1000];
  const schedule: ScheduledFault[] = [];
  let time = 0;
  for (;;) {
    const at = time + between(quietMs);
    const until = at + between(faultMs);
    if (until > options.durationMs) return schedule;
    const kind = kinds[Math.floor(random() * kinds.length)]!;
    schedule.push({ kind, node: Math.floor(random() * options.nodes), at, until });
    time = until;
  }
}

/** Does the fault to `node`; `crash` is SIGKILL, `restart-from-snapshot` is SIGTERM. */
async function begin(nemesis: Nemesis, { kind, node }: ScheduledFault): Promise<void> {
  if (kind === 'pause') nemesis.pause(node);
  else if (kind === 'crash') await nemesis.kill(node);
  else if (kind === 'restart-from-snapshot') await nemesis.stop(node);
  else nemesis.partition(node);
}

async function end(nemesis: Nemesis, { kind, node }: ScheduledFault): Promise<void> {
  if (kind === 'pause') nemesis.resume(node);
  else if (kind === 'crash') await nemesis.restart(node, 'empty');
  else if (kind === 'restart-from-snapshot') await nemesis.restart(node, 'snapshot');
  else nemesis.heal(node);
}

/**
 * Runs `schedule` against `nemesis` in real time (a fault that takes long to do or undo — a restart
 * — shifts the later ones; each fault lasts as long as drawn, however late it begins). `onStep` hears each step, for the log a failing run prints: the fault,
 * its end, and `node N back` once the node is reachable again (a restarted one is listening).
 */
export async function runSchedule(
  nemesis: Nemesis,
  schedule: readonly ScheduledFault[],
  onStep: (step: string) => void = () => undefined,
  /** At least this long between a node being back and the next fault (a slow restart eats the quiet). */
  settleMs = 0,
): Promise<void> {
  const started = Date.now();
  const until = (ms: number): Promise<void> =>
    new Promise((resolve) => setTimeout(resolve, Math.max(0, started + ms - Date.now())));
  let back = -Infinity;
  for (const fault of schedule) {
    await until(Math.max(fault.at, back + settleMs));
    onStep(`${Date.now() - started} ms: ${fault.kind} node ${fault.node}`);
    const begun = Date.now() - started;
    await begin(nemesis, fault);
    await until(begun + fault.until - fault.at);
    onStep(`${Date.now() - started} ms: end ${fault.kind} node ${fault.node}`);
    await end(nemesis, fault);
    back = Date.now() - started;
    onStep(`${back} ms: node ${fault.node} back`);
  }
}
