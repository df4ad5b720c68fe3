// A client process for fault tests: a seeded, bounded workload of sets, deletes and gets over a
// key space (or a fixed plan of them), every operation recorded for the checker. Used in-process (`runWorkload`) or as a
// process of its own, which is how a test gets a second client that never saw the first one's
// writes:
//
//   node --import tsx packages/client/test/faults/worker.ts '<WorkloadOptions as JSON>' out.jsonl
//
// It writes the history to out.jsonl and prints one JSON line of counts.
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DistributedCacheClient } from '../../src/index.js';
import type { ClientOptions } from '../../src/index.js';
import { HistoryRecorder, writeHistory } from './history.js';
import type { Operation } from './history.js';
import { seededRandom } from './random.js';
import { spawnTs } from './run-ts.js';

/** One step of a fixed plan: `set` writes `value` (unique per key, as the checker needs). */
export type PlanStep =
  | { op: 'set'; key: string; value: string }
  | { op: 'delete'; key: string }
  | { op: 'get'; key: string };

/** Client options that survive JSON (no hooks, no TLS objects). */
export type PlainClientOptions = Omit<
  ClientOptions,
  'onNodeDown' | 'onNodeUp' | 'onBackgroundError' | 'tls'
>;

export interface WorkloadOptions {
  /** Names this process in the history; write values are `<process>-<n>`, unique per process. */
  process: string;
  urls: string[];
  client?: PlainClientOptions;
  seed: number;
  /** Keys `<keyPrefix>0` … `<keyPrefix><keys - 1>`. @default 'k' */
  keyPrefix?: string;
  keys: number;
  /** Stops after this many operations… */
  operations: number;
  /** …or this many ms, whichever comes first. */
  durationMs: number;
  /** Operations in flight at once. @default 4 */
  concurrency?: number;
  /** Relative weights of the operation kinds. @default { write: 4, delete: 1, read: 5 } */
  mix?: { write: number; delete: number; read: number };
  /** `sequential` takes the keys in order, round after round (read-only: read every key). @default 'random' */
  order?: 'random' | 'sequential';
  /**
   * Runs exactly these steps, in order, `concurrency` at once (still bounded by `durationMs`),
   * instead of the seeded mix: a scripted phase of a fault test run in a process of its own.
   */
  plan?: readonly PlanStep[];
}

/** Runs `plan` with `client`, `concurrency` steps at once, until done or `deadline` (Date.now ms). */
export async function runPlan(
  client: DistributedCacheClient,
  recorder: HistoryRecorder,
  plan: readonly PlanStep[],
  concurrency: number,
  deadline = Infinity,
): Promise<void> {
  let next = 0;
  const loop = async (): Promise<void> => {
    while (next < plan.length && Date.now() < deadline) {
      const step = plan[next++]!;
      if (step.op === 'set') {
        await recorder.write(step.key, step.value, () => client.set(step.key, step.value));
      } else if (step.op === 'delete') {
        await recorder.delete(step.key, () => client.delete(step.key));
      } else {
        await recorder.read(step.key, () => client.get<string>(step.key));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
}

/** Runs the workload with a client of its own, closed at the end; resolves to its history. */
export async function runWorkload(options: WorkloadOptions): Promise<Operation[]> {
  const client = new DistributedCacheClient(options.urls, options.client);
  const recorder = new HistoryRecorder(options.process);
  const random = seededRandom(options.seed);
  const { write, delete: remove, read } = options.mix ?? { write: 4, delete: 1, read: 5 };
  const total = write + remove + read;
  const prefix = options.keyPrefix ?? 'k';
  const deadline = Date.now() + options.durationMs;
  let issued = 0;
  let written = 0;
  if (options.plan !== undefined) {
    try {
      await runPlan(client, recorder, options.plan, options.concurrency ?? 4, deadline);
    } finally {
      await client.close();
    }
    return recorder.operations;
  }
  const loop = async (): Promise<void> => {
    while (issued < options.operations && Date.now() < deadline) {
      const index =
        options.order === 'sequential'
          ? issued % options.keys
          : Math.floor(random() * options.keys);
      issued++;
      const key = `${prefix}${index}`;
      const pick = random() * total;
      if (pick < write) {
        const value = `${options.process}-${written++}`;
        await recorder.write(key, value, () => client.set(key, value));
      } else if (pick < write + remove) {
        await recorder.delete(key, () => client.delete(key));
      } else {
        await recorder.read(key, () => client.get<string>(key));
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency ?? 4 }, loop));
  } finally {
    await client.close();
  }
  return recorder.operations;
}

/** Counts of a history by kind and outcome, e.g. `{ "write ok": 120, "read unknown": 3 }`. */
export function tally(operations: readonly Operation[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { kind, outcome } of operations) {
    const name = `${kind} ${outcome}`;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

const WORKER = fileURLToPath(import.meta.url);

/**
 * Runs the workload as a process of its own, writing its history to `file`; resolves with the
 * counts it printed. Rejects (with its stderr) when it exits with an error.
 */
export async function runWorkerProcess(
  options: WorkloadOptions,
  file: string,
): Promise<Record<string, number>> {
  const child = spawnTs(WORKER, [JSON.stringify(options), file]);
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`worker ${options.process} exited with ${String(code)}:\n${err}`);
  return JSON.parse(out) as Record<string, number>;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [json, file] = process.argv.slice(2);
  if (json === undefined || file === undefined) {
    process.stderr.write('usage: worker.ts <WorkloadOptions as JSON> <history file>\n');
    process.exit(2);
  }
  const history = await runWorkload(JSON.parse(json) as WorkloadOptions);
  writeHistory(file, history);
  process.stdout.write(`${JSON.stringify(tally(history))}\n`);
}
