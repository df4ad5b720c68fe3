// One scale step under load, as the scale tests run it: nodes through the CLI, DNS naming `from`,
// every key written, two load worker processes following DNS; the records rewritten to name `to`;
// on a scale-down the leaving node serves until every client's transition window has closed, then
// is stopped (SIGTERM). What it returns is what the tests assert and print.
import { now } from '../faults/history.js';
import type { Operation } from '../faults/history.js';
import type { LoadProcess } from './load-process.js';
import { isEvent } from './load-process.js';
import type { LoadEvent, LoadOptions } from './load-worker.js';
import { errors, hitRatio, latencyPercentile, percent, staleness } from './load-metrics.js';
import type { HitRatio, Staleness } from './load-metrics.js';
import type { ScaleCluster } from './scale-cluster.js';

/** Each worker's discovery interval: short, so a test sees convergence quickly. */
export const INTERVAL_MS = 500;
/** A lookup's timeout: one in flight while dnsmasq restarts with new SRV records fails after it. */
export const LOOKUP_TIMEOUT_MS = 200;
/** The transition window the clients use (warm transitions). */
/**
 * The transition window the clients use: open over the whole 10 s measured (a moved key first read
 * after the window closed is a miss), and closed a little after them, so that a test waits for the
 * close (and, on a scale-down, then stops the leaving node) without the default 60 s maximum.
 */
export const TRANSITION = { maxWindowMs: 12_000, quietMs: 3000 };
/**
 * Client timeout: generous, as in the other integration tests — on a loaded 2-core machine a slow
 * answer must not become an error the scale step did not cause.
 */
export const TIMEOUT_MS = 5000;
export const KEYS = 3000;
export const BEFORE_MS = 4000;
export const AFTER_MS = 10_000;

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

export const keyName = (i: number): string => `z${i}`;

/** Two workers' load: Zipf(0.99) over KEYS keys, 90% gets, paced; bounded in time. */
export function loadOptions(
  name: string,
  seed: number,
  replicas: number,
): Omit<LoadOptions, 'nodes'> {
  return {
    process: name,
    client: {
      replicas,
      timeout: TIMEOUT_MS,
      discovery: { intervalMs: INTERVAL_MS, timeoutMs: LOOKUP_TIMEOUT_MS },
      transition: TRANSITION,
    },
    seed,
    keys: KEYS,
    keyPrefix: 'z',
    s: 0.99,
    getShare: 0.9,
    ratePerSecond: 400,
    concurrency: 8,
    maxDurationMs: 40_000,
  };
}

export interface WorkerView {
  name: string;
  /** ms from the new records being served to this client's membership change. */
  convergedMs: number;
  /** ms from the records being rewritten to this client's membership change. */
  changedAt: number;
  /** The longest its event loop was held up before the change, in ms (a busy machine's share). */
  loopDelayMaxMs: number;
  transitions: { phase: string; reason?: string; at: number }[];
  done: Extract<LoadEvent, { event: 'done' }> | undefined;
}

export interface ScaleResult {
  before: HitRatio;
  after: HitRatio;
  errors: Operation[];
  staleness: Staleness;
  /**
   * Of the stale reads, those that began while the clients disagreed about the ring: from the
   * records changing to the last client's ring change. A client still on the old ring writes only
   * to a key's old owner, where a client already on the new one does not look.
   */
  staleWhileDiverged: number;
  /** Stale reads that began after every client had changed its ring: none may be. */
  staleAfterConverged: number;
  workers: WorkerView[];
  /** ms from the records being rewritten to the leaving node being stopped (scale-down). */
  stoppedAfterMs: number | undefined;
  p99BeforeMs: number;
  p99AfterMs: number;
  summary: string;
}

export async function startWorkers(
  cluster: ScaleCluster,
  replicas: number,
): Promise<LoadProcess[]> {
  const workers = [
    cluster.load(loadOptions('client-a', 1, replicas)),
    cluster.load(loadOptions('client-b', 2, replicas)),
  ];
  await Promise.all(workers.map((w) => w.waitFor(isEvent('ready'), 'ready', 20_000)));
  return workers;
}

export async function scaleUnderLoad(
  cluster: ScaleCluster,
  to: readonly number[],
  replicas: number,
): Promise<ScaleResult> {
  const keys = Array.from({ length: KEYS }, (_, i) => keyName(i));
  const prefill = await cluster.prefill(keys, { replicas, timeout: 10_000 });
  const leaving = cluster.members.filter((i) => !to.includes(i));
  const workers = await startWorkers(cluster, replicas);
  await sleep(BEFORE_MS + 500);

  const { requestedAt, servedAt } = await cluster.scaleTo(to);
  const expected = to.map((i) => cluster.url(i)).sort();
  const changes = await Promise.all(
    workers.map((w) =>
      w.waitFor(
        isEvent('membership', (e) => e.nodes.join() === expected.join()),
        `membership ${expected.join(', ')}`,
        10_000,
      ),
    ),
  );

  // The leaving node keeps serving reads until every client's window has closed. Bounded: a
  // client without transitions never opens one, and the node is stopped after the maximum.
  await Promise.all(
    workers.map((w) =>
      w
        .waitFor(
          isEvent('transition', (e) => e.phase === 'close' && e.at > requestedAt),
          'transition close',
          TRANSITION.maxWindowMs + 2000,
        )
        .catch(() => undefined),
    ),
  );
  let stoppedAt: number | undefined;
  if (leaving.length > 0) {
    for (const i of leaving) await cluster.nemesis.stop(i);
    stoppedAt = now();
  }
  await sleep(requestedAt + AFTER_MS - now());
  const histories = await Promise.all(workers.map((w) => w.stop()));
  const load = histories.flat();
  const history = [...prefill, ...load];

  const convergedAt = Math.max(...changes.map((change) => change.at));
  const checked = staleness(history);
  const staleWhileDiverged = checked.violations.filter((v) => v.read.start < convergedAt).length;
  const beforeWindow = { from: requestedAt - BEFORE_MS, to: requestedAt };
  const afterWindow = { from: requestedAt, to: requestedAt + AFTER_MS };
  const views: WorkerView[] = workers.map((w, n) => ({
    name: w.name,
    convergedMs: changes[n]!.at - servedAt,
    changedAt: changes[n]!.at - requestedAt,
    loopDelayMaxMs: changes[n]!.loopDelayMaxMs,
    transitions: w.events.filter(isEvent('transition')).map(({ phase, reason, at }) => ({
      phase,
      ...(reason ? { reason } : {}),
      at: at - requestedAt,
    })),
    done: w.events.find(isEvent('done')),
  }));
  const result: ScaleResult = {
    before: hitRatio(load, beforeWindow),
    after: hitRatio(load, afterWindow),
    errors: errors(load),
    staleness: checked,
    staleWhileDiverged,
    staleAfterConverged: checked.stale - staleWhileDiverged,
    workers: views,
    stoppedAfterMs: stoppedAt === undefined ? undefined : stoppedAt - requestedAt,
    p99BeforeMs: latencyPercentile(load, 99, beforeWindow),
    p99AfterMs: latencyPercentile(load, 99, afterWindow),
    summary: '',
  };
  result.summary = describe(result);
  return result;
}

function describe(result: ScaleResult): string {
  const lines = [
    `hit ratio before ${percent(result.before.ratio)} (${result.before.hits}/${result.before.gets}), ` +
      `10 s after ${percent(result.after.ratio)} (${result.after.hits}/${result.after.gets}), ` +
      `after/before ${(result.after.ratio / result.before.ratio).toFixed(4)}`,
    `p99 before ${result.p99BeforeMs.toFixed(1)} ms, after ${result.p99AfterMs.toFixed(1)} ms`,
    `errors ${result.errors.length}${result.errors[0] ? ` (first: ${result.errors[0].error})` : ''}`,
    `stale ${result.staleness.stale} (${result.staleWhileDiverged} begun while the clients' rings differed, ${result.staleAfterConverged} after), misses of written keys ${result.staleness.lost}`,
    ...(result.stoppedAfterMs === undefined
      ? []
      : [`leaving node stopped ${result.stoppedAfterMs.toFixed(0)} ms after the records changed`]),
    ...result.workers.map(
      (w) =>
        `${w.name}: converged ${w.convergedMs.toFixed(0)} ms after the records were served ` +
        `(event loop held up ${w.loopDelayMaxMs.toFixed(0)} ms at most before, ` +
        `${(w.done?.loopDelayMaxMs ?? NaN).toFixed(0)} ms in the whole run); ` +
        `transitions ${JSON.stringify(w.transitions.map((t) => ({ ...t, at: Math.round(t.at) })))}; ` +
        `stats ${JSON.stringify(w.done?.transition ?? null)}`,
    ),
  ];
  if (result.staleness.stale > 0) lines.push(result.staleness.detail);
  return lines.join('\n');
}
