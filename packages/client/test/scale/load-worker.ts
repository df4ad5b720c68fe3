// A client process for the scale tests: cache traffic — Zipf(s) keys, a share of gets, a miss
// loaded and stored at once (cache-aside), the rest sets — paced to a fixed rate, with its nodes
// from DNS discovery. Every operation is recorded for the checker; what the client sees of the
// cluster (membership changes, transition windows) is printed as it happens, one JSON line each:
//
//   node --import tsx packages/client/test/scale/load-worker.ts '<LoadOptions as JSON>' out.jsonl
//
// It runs until SIGTERM or `maxDurationMs`, writes its history to out.jsonl and prints a last
// `done` line with its counts and the client's `getStats().discovery` and `.transition`.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { DistributedCacheClient } from '../../src/index.js';
import type { MembershipChange, TransitionEvent } from '../../src/index.js';
import { HistoryRecorder, now, writeHistory } from '../faults/history.js';
import { seededRandom } from '../faults/random.js';
import { tally } from '../faults/worker.js';
import type { PlainClientOptions } from '../faults/worker.js';
import { zipf } from '../../bench/zipf.js';

export interface LoadOptions {
  /** Names this process in the history; written values are `<process>-<n>`. */
  process: string;
  /** A discovery URL (`dns+srv://…`) or base URLs. */
  nodes: string | string[];
  client: PlainClientOptions;
  seed: number;
  /** Keys `<keyPrefix>0` (the hottest) … `<keyPrefix><keys − 1>`. */
  keys: number;
  keyPrefix: string;
  /** Zipf exponent. */
  s: number;
  /** Share of operations that are gets (a miss is followed by a set of a fresh value). */
  getShare: number;
  /** Operations started per second, at most (misses' sets not counted). */
  ratePerSecond: number;
  /** Operations in flight at most. */
  concurrency: number;
  /** Stops by itself after this long, whatever happens. */
  maxDurationMs: number;
}

/** What the worker prints, one JSON object a line; `at` is `now()` (monotonic, shared). */
export type LoadEvent =
  | { event: 'ready'; at: number }
  | ({
      event: 'membership';
      at: number;
      /** The longest this process's event loop was held up since it was ready, in ms. */
      loopDelayMaxMs: number;
    } & MembershipChange)
  | {
      event: 'transition';
      at: number;
      phase: string;
      reason?: string;
      added: string[];
      removed: string[];
    }
  | {
      event: 'done';
      at: number;
      /** The longest this process's event loop was held up while it ran, in ms. */
      loopDelayMaxMs: number;
      counts: Record<string, number>;
      discovery: unknown;
      transition: unknown;
    };

const emit = (event: LoadEvent): void => void process.stdout.write(`${JSON.stringify(event)}\n`);

export async function runLoad(options: LoadOptions, historyFile: string): Promise<void> {
  const recorder = new HistoryRecorder(options.process);
  // A lookup's timer fires late when the machine is busy: convergence is judged with this.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  const hooks = {
    onMembershipChange: (change: MembershipChange) =>
      emit({ event: 'membership', at: now(), loopDelayMaxMs: loopDelay.max / 1e6, ...change }),
    onTransition: ({ phase, reason, added, removed }: TransitionEvent) =>
      emit({
        event: 'transition',
        at: now(),
        phase,
        ...(reason ? { reason } : {}),
        added,
        removed,
      }),
    onDiscoveryError: () => undefined,
  };
  const client = new DistributedCacheClient(options.nodes, { ...options.client, ...hooks });
  let stopping = false;
  process.once('SIGTERM', () => (stopping = true));
  const random = seededRandom(options.seed);
  const draw = zipf(options.keys, options.s, random);
  let written = 0;
  const value = (): string => `${options.process}-${written++}`;
  try {
    await client.ready();
    emit({ event: 'ready', at: now() });
    loopDelay.enable();
    const started = Date.now();
    const deadline = started + options.maxDurationMs;
    let issued = 0;
    const loop = async (): Promise<void> => {
      while (!stopping && Date.now() < deadline) {
        // Op n starts no earlier than n / rate after the start: a fixed rate, not a closed loop.
        const due = started + (issued++ * 1000) / options.ratePerSecond;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        if (stopping) return;
        const key = `${options.keyPrefix}${draw()}`;
        if (random() < options.getShare) {
          let answered = false;
          const found = await recorder.read(key, async () => {
            const got = await client.get<string>(key);
            answered = true;
            return got;
          });
          if (answered && found === undefined) {
            const loaded = value();
            await recorder.write(key, loaded, () => client.set(key, loaded));
          }
        } else {
          const next = value();
          await recorder.write(key, next, () => client.set(key, next));
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, loop));
    const stats = await client.getStats();
    emit({
      event: 'done',
      at: now(),
      loopDelayMaxMs: loopDelay.max / 1e6,
      counts: tally(recorder.operations),
      discovery: stats.discovery,
      transition: stats.transition,
    });
  } finally {
    loopDelay.disable();
    writeHistory(historyFile, recorder.operations);
    await client.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [json, file] = process.argv.slice(2);
  if (json === undefined || file === undefined) {
    process.stderr.write('usage: load-worker.ts <LoadOptions as JSON> <history file>\n');
    process.exit(2);
  }
  await runLoad(JSON.parse(json) as LoadOptions, file);
}
