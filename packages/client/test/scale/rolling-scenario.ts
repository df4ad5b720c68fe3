// A rolling restart under load, as the rolling-restart tests and the repro script run it: every
// key written, two load worker processes following DNS, then each node in turn SIGTERM (snapshot
// saved), restarted from its snapshot on the same address and port, and `settleMs` before the next.
// `records: 'removed'` also takes the node's records out of DNS while it restarts and puts them
// back once it listens, as a headless Service with publishNotReadyAddresses false does.
import { now } from '../faults/history.js';
import type { Operation } from '../faults/history.js';
import {
  errors,
  hitRatio,
  hitTimeline,
  isPartialWrite,
  latencyPercentile,
  percent,
  staleness,
} from './load-metrics.js';
import type { HitRatio, Staleness } from './load-metrics.js';
import type { Violation } from '../faults/checker.js';
import { nodeCounters, sum } from '../faults/replication-counters.js';
import { countersText } from './scale-cluster.js';
import type { ScaleCluster } from './scale-cluster.js';
import { BEFORE_MS, KEYS, keyName, sleep, startWorkers } from './scale-scenario.js';

/** The window after the roll that `after` measures. */
export const ROLL_AFTER_MS = 3000;

/**
 * The client README's settle time (its Consistency section): for this long after a node is
 * reachable again, some clients may not have seen it back yet. With `writeConsistency: 'one'`
 * (the default, which the load uses) a read in a node's settling window may return a value a
 * completed write replaced: a client that still has the node marked down reads the key's other
 * replica (a failover read, counted as unvouched), where the writer's copy may still be on its
 * way; a client that has it back reads it while a write around it is.
 */
export const SETTLE_MS = 1500;

export interface RollOptions {
  replicas: number;
  records: 'kept' | 'removed';
  settleMs: number;
}

export interface RollResult {
  before: HitRatio;
  during: HitRatio;
  after: HitRatio;
  /** Calls that did not answer ok, other than writes answered false while a node was down. */
  errors: Operation[];
  /**
   * Writes answered false (isPartialWrite). Expected only while a node is stopping or down: a set
   * whose primary is that node is not taken there, however many other replicas took it.
   */
  partialWrites: Operation[];
  staleness: Staleness;
  /** The stale reads (of `staleness`) begun while a node was stopping, down or settling. */
  staleWhileSettling: Violation[];
  /** The stale reads begun at any other time: the guarantee's breaches. */
  staleOutsideSettling: Violation[];
  /**
   * Hints the nodes delivered over the test: each node's count just before it stops (its counters
   * start again with its restart) plus its count at the end. A node reaches a peer by the name
   * clients know it by, as in a StatefulSet.
   */
  hintsReplayed: number;
  p99DuringMs: number;
  summary: string;
}

export async function rollUnderLoad(
  cluster: ScaleCluster,
  { replicas, records, settleMs }: RollOptions,
): Promise<RollResult> {
  const all = [...cluster.members];
  const keys = Array.from({ length: KEYS }, (_, i) => keyName(i));
  const prefill = await cluster.prefill(keys, { replicas, timeout: 10_000 });
  const workers = await startWorkers(cluster, replicas);
  await sleep(BEFORE_MS + 500);

  const log: string[] = [];
  const rollStart = now();
  /** [SIGTERM sent, listening again] per node: when its requests may fail. */
  const downtimes: [number, number][] = [];
  /** [SIGTERM sent, back (listening, and in DNS again) + SETTLE_MS] per node. */
  const settling: [number, number][] = [];
  // Seconds into the roll, and the `now()` the checker's violations are stamped with.
  const at = (): string => `${((now() - rollStart) / 1000).toFixed(1)} s (${now().toFixed(0)})`;
  let replayedBeforeStops = 0;
  for (const i of all) {
    replayedBeforeStops +=
      (await nodeCounters(cluster.nemesis.nodes[i]!.url)).values.hintsReplayed ?? 0;
    const stopping = now();
    if (records === 'removed') {
      await Promise.all([cluster.scaleTo(all.filter((n) => n !== i)), cluster.nemesis.stop(i)]);
    } else {
      await cluster.nemesis.stop(i);
    }
    log.push(
      `${at()}: node ${i} stopped (snapshot saved)${records === 'removed' ? ', out of DNS' : ''}`,
    );
    await cluster.nemesis.restart(i, 'snapshot');
    downtimes.push([stopping, now()]);
    if (records === 'removed') await cluster.scaleTo(all);
    settling.push([stopping, now() + SETTLE_MS]);
    log.push(
      `${at()}: node ${i} restarted from its snapshot${records === 'removed' ? ', back in DNS' : ''}`,
    );
    await sleep(settleMs);
  }
  const rollEnd = now();
  await sleep(ROLL_AFTER_MS);
  const load = (await Promise.all(workers.map((w) => w.stop()))).flat();
  const counters = await cluster.counters();
  log.push(countersText(counters));

  const checked = staleness([...prefill, ...load]);
  const result: RollResult = {
    before: hitRatio(load, { from: rollStart - BEFORE_MS, to: rollStart }),
    during: hitRatio(load, { from: rollStart, to: rollEnd }),
    after: hitRatio(load, { from: rollEnd, to: rollEnd + ROLL_AFTER_MS }),
    errors: errors(load).filter((op) => !isPartialWrite(op) || !overlapsAny(op, downtimes)),
    partialWrites: load.filter(isPartialWrite),
    staleness: checked,
    staleWhileSettling: checked.violations.filter((violation) => began(violation, settling)),
    staleOutsideSettling: checked.violations.filter((violation) => !began(violation, settling)),
    hintsReplayed: replayedBeforeStops + sum(counters, 'hintsReplayed'),
    p99DuringMs: latencyPercentile(load, 99, { from: rollStart, to: rollEnd }),
    summary: '',
  };
  const { before, during, after } = result;
  result.summary = [
    ...log,
    `hit ratio before ${percent(before.ratio)} (${before.gets} gets), during the roll ${percent(during.ratio)} (${during.gets}), ${ROLL_AFTER_MS / 1000} s after ${percent(after.ratio)} (${after.gets})`,
    `hit ratio per second from 2 s before the roll: ${hitTimeline(load, rollStart - 2000, rollEnd + ROLL_AFTER_MS)}`,
    `p99 during the roll ${result.p99DuringMs.toFixed(1)} ms`,
    `errors ${result.errors.length}${result.errors[0] ? ` (first: ${JSON.stringify(result.errors[0])})` : ''}`,
    `writes answered false while a node was down ${result.partialWrites.length}`,
    `hints delivered ${result.hintsReplayed}`,
    `stale ${checked.stale} (${result.staleWhileSettling.length} begun while a node was stopping, down or within ${SETTLE_MS} ms of its return), misses of written keys ${checked.lost}`,
    ...(checked.stale > 0 ? [checked.detail] : []),
  ].join('\n');
  return result;
}

/** Whether the stale read began within one of `windows` ([from, to] in `now()` time). */
const began = (violation: Violation, windows: readonly [number, number][]): boolean =>
  windows.some(([from, to]) => violation.read.start >= from && violation.read.start <= to);

/** Whether `op` ran during one of `windows` ([from, to] in `now()` time). */
const overlapsAny = (op: Operation, windows: readonly [number, number][]): boolean =>
  windows.some(([from, to]) => op.start <= to && op.end >= from);
