// Issue #17's scenario as the fault tests run it: 3 nodes through the CLI, a client with the
// defaults (replicas 2, writeConsistency 'one'); keys written; one node suffers a fault while the
// keys are overwritten or deleted; it comes back; the settle time passes; every key is read by the
// client that wrote (unless it exited: case c) and by a process that never saw the writes, and the
// checker judges the whole history. Keys written before the fault and never touched again are read
// too (nothing lost). A test adds what is particular to it with `then` (a second fault, more writes).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DistributedCacheClient } from '../../src/index.js';
import { checkRegisters, describeViolations } from './checker.js';
import type { CheckReport } from './checker.js';
import { HistoryRecorder, readHistory } from './history.js';
import type { Operation } from './history.js';
import { Nemesis } from './nemesis.js';
import { clientCounters, clusterCounters } from './replication-counters.js';
import { runPlan, runWorkerProcess, tally } from './worker.js';
import type { PlainClientOptions, PlanStep, WorkloadOptions } from './worker.js';

/**
 * What the design promises once a node is reachable again (docs/design/never-stale.md §2: until
 * every client has seen it back — `probeInterval` — plus one hint replay interval and one batch).
 * The issue lets tests wait at most 5 s; they wait this.
 */
export const SETTLE_MS = 1500;

/** Calls in flight at once while writing (a busy application, not one call at a time). */
export const CONCURRENCY = 16;

/** The client's default `failureThreshold`: failed requests before it marks a node down. */
const FAILURE_THRESHOLD = 3;

/**
 * Fault-time writes and deletes that may go unconfirmed: those caught before the client marked the
 * faulted node down, when it was still their primary (the replica reads ask first). Their primary
 * never acknowledged, so the client answers "partly done" (set: false, delete: the primary's
 * error) and the history records an unknown outcome; the other replica took them and hints the
 * primary. At most `CONCURRENCY` calls are in flight at once and each failed request fails every
 * call queued for the node, which is marked down at its `FAILURE_THRESHOLD`th failed request; one
 * more round for calls that expired in the queue without a request failing.
 */
export const MAX_UNCONFIRMED_FAULT_WRITES = CONCURRENCY * (FAILURE_THRESHOLD + 1);

/**
 * What is wrong with the fault-time writes, for a test's assertion ('' when nothing): every one
 * answered ok, or at most `MAX_UNCONFIRMED_FAULT_WRITES` answered with an unknown outcome.
 */
export function faultWriteProblems(faultWrites: readonly Operation[]): string {
  const notOk = faultWrites.filter((op) => op.outcome !== 'ok');
  const refused = notOk.filter((op) => op.outcome !== 'unknown');
  if (refused.length > 0) return `refused: ${JSON.stringify(refused.slice(0, 3))}`;
  if (notOk.length > MAX_UNCONFIRMED_FAULT_WRITES) {
    return `${notOk.length} unconfirmed, more than the ${MAX_UNCONFIRMED_FAULT_WRITES} caught before the node is marked down`;
  }
  return '';
}

export interface ScenarioStartOptions {
  /** @default 3 */
  nodes?: number;
  /** Each node has a snapshot file (for the 'snapshot' fault). */
  snapshots?: boolean;
  /** Flags for every node besides the nemesis's own. */
  nodeArgs?: readonly string[];
  /** Every node's `--stall-threshold`, in ms. @default STALL_THRESHOLD_MS (nemesis.ts) */
  stallThresholdMs?: number;
}

export type ScenarioFault = 'pause' | 'partition' | 'crash' | 'snapshot';

export interface ScenarioOptions {
  /** Nodes in the cluster. @default 3 */
  nodes?: number;
  /** Flags for every node besides the nemesis's own (the CLI's defaults otherwise). */
  nodeArgs?: readonly string[];
  /** Client options for every client of the scenario. @default the client's defaults */
  client?: PlainClientOptions;
  /** Keys `k0…` written before the fault; during it, those below `overwritten` get a new value and the rest are deleted. @default 300 */
  keys?: number;
  /** @default 200 */
  overwritten?: number;
  /** Keys `u0…` written before the fault and never touched again. @default 100 */
  untouched?: number;
  /** The node that suffers the fault. @default 0 */
  node?: number;
  /**
   * The writes during the fault come from a process of its own that exits before the node returns
   * (issue #17's case c), so no client that saw them is left when it does. @default false
   */
  writerExits?: boolean;
  /** After the node is back and the settle time has passed, before the reads. */
  then?: (context: ScenarioContext) => Promise<void>;
}

export interface ScenarioContext {
  readonly nemesis: Nemesis;
  /** The client that wrote the keys before the fault (and during it, unless `writerExits`). */
  readonly writer: DistributedCacheClient;
  /** Runs `plan` with the writer, recorded in the history the checker judges. */
  apply(plan: readonly PlanStep[]): Promise<Operation[]>;
  /** A line for the failure message. */
  log(line: string): void;
}

export interface ScenarioResult {
  history: Operation[];
  report: CheckReport;
  /** The overwrites and deletes made while the node was faulted. */
  faultWrites: Operation[];
  /** Every read of the final pass, by every reader. */
  reads: Operation[];
  /** What happened, for a failing test's message: steps, tallies, the checker's findings. */
  log: string;
}

export const key = (i: number): string => `k${i}`;
export const untouchedKey = (i: number): string => `u${i}`;

/** Steps for keys [from, to): `set` with `<prefix>-<key>` values, or `delete`. */
export function writes(
  from: number,
  to: number,
  value: ((i: number) => string) | 'delete',
  name = key,
): PlanStep[] {
  return Array.from({ length: to - from }, (_, n) => {
    const k = name(from + n);
    return value === 'delete'
      ? { op: 'delete' as const, key: k }
      : { op: 'set' as const, key: k, value: value(from + n) };
  });
}

/** A scenario's cluster, clients and temp files; `cleanup()` (idempotent) undoes them all. */
export class Scenario {
  readonly nemesis: Nemesis;
  readonly dir: string;
  readonly #clients: DistributedCacheClient[] = [];

  private constructor(nemesis: Nemesis, dir: string) {
    this.nemesis = nemesis;
    this.dir = dir;
  }

  static async start(options: ScenarioStartOptions = {}): Promise<Scenario> {
    const nemesis = await Nemesis.start({
      nodes: options.nodes ?? 3,
      snapshots: options.snapshots === true,
      ...(options.stallThresholdMs === undefined
        ? {}
        : { stallThresholdMs: options.stallThresholdMs }),
      args: options.nodeArgs ?? [],
    });
    return new Scenario(nemesis, mkdtempSync(join(tmpdir(), 'dcache-scenario-')));
  }

  /** A client of the cluster, closed by `cleanup`. */
  client(options?: PlainClientOptions): DistributedCacheClient {
    const client = new DistributedCacheClient(this.nemesis.urls, options);
    this.#clients.push(client);
    return client;
  }

  /** A history file in the scenario's temp dir. */
  file(name: string): string {
    return join(this.dir, `${name}.jsonl`);
  }

  /** Runs `plan` in a client process of its own, which exits when done; resolves its history. */
  async inProcess(
    name: string,
    plan: readonly PlanStep[],
    client?: PlainClientOptions,
  ): Promise<Operation[]> {
    const file = this.file(name);
    const options: WorkloadOptions = {
      process: name,
      urls: this.nemesis.urls,
      seed: 0,
      keys: plan.length,
      operations: plan.length,
      durationMs: 25_000,
      concurrency: CONCURRENCY,
      plan,
      ...(client === undefined ? {} : { client }),
    };
    await runWorkerProcess(options, file);
    return readHistory(file);
  }

  async cleanup(): Promise<void> {
    try {
      await Promise.all(this.#clients.splice(0).map((client) => client.close()));
    } finally {
      await this.nemesis.cleanup();
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /** Issue #17's scenario with `fault` on one node; see the file's comment. */
  async run(fault: ScenarioFault, options: ScenarioOptions = {}): Promise<ScenarioResult> {
    const keys = options.keys ?? 300;
    const overwritten = options.overwritten ?? 200;
    const untouched = options.untouched ?? 100;
    const node = options.node ?? 0;
    const lines: string[] = [];
    const log = (line: string): void => void lines.push(line);
    const started = Date.now();
    const at = (): string => `${((Date.now() - started) / 1000).toFixed(1)} s`;

    const writer = this.client(options.client);
    const recorder = new HistoryRecorder('writer');
    const apply = async (plan: readonly PlanStep[]): Promise<Operation[]> => {
      const before = recorder.operations.length;
      await runPlan(writer, recorder, plan, CONCURRENCY);
      return recorder.operations.slice(before);
    };

    const initial = await apply([
      ...writes(0, keys, (i) => `v0-${key(i)}`),
      ...writes(0, untouched, (i) => `v0-${untouchedKey(i)}`, untouchedKey),
    ]);
    if (initial.some((op) => op.outcome !== 'ok')) {
      throw new Error(
        `the writes before the fault did not all succeed: ${JSON.stringify(tally(initial))}`,
      );
    }

    log(`${at()}: ${fault} node ${node}`);
    if (fault === 'pause') this.nemesis.pause(node);
    else if (fault === 'partition') this.nemesis.partition(node);
    else if (fault === 'crash') await this.nemesis.kill(node);
    else await this.nemesis.stop(node);

    const duringFault = [
      ...writes(0, overwritten, (i) => `v1-${key(i)}`),
      ...writes(overwritten, keys, 'delete'),
    ];
    let faultWrites: Operation[];
    if (options.writerExits === true) {
      faultWrites = await this.inProcess('fault-writer', duringFault, options.client);
      log(`${at()}: the fault-time writer process exited`);
    } else {
      faultWrites = await apply(duringFault);
    }
    log(`${at()}: fault-time writes: ${JSON.stringify(tally(faultWrites))}`);

    log(`${at()}: node ${node} back`);
    if (fault === 'pause') this.nemesis.resume(node);
    else if (fault === 'partition') this.nemesis.heal(node);
    else await this.nemesis.restart(node, fault === 'crash' ? 'empty' : 'snapshot');
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

    if (options.then !== undefined) {
      await options.then({
        nemesis: this.nemesis,
        writer,
        apply,
        log: (line) => log(`${at()}: ${line}`),
      });
    }

    const everyKey = [
      ...writes(0, keys, (i) => `r-${i}`),
      ...writes(0, untouched, (i) => `r-${i}`, untouchedKey),
    ];
    const readPlan: PlanStep[] = everyKey.map(({ key: k }) => ({ op: 'get', key: k }));
    log(`${at()}: reads`);
    const writerReads = await apply(readPlan);
    const otherReads = await this.inProcess('reader', readPlan, options.client);
    const reads = [...writerReads, ...otherReads];
    log(`${at()}: reads: ${JSON.stringify(tally(reads))}`);

    const history = [
      ...recorder.operations,
      ...(options.writerExits === true ? faultWrites : []),
      ...otherReads,
    ];
    const report = checkRegisters(history);
    const { stale, resurrected, lost } = report.counts;
    log(
      `checker: ${report.violations.length} violations in ${report.reads} reads (stale ${stale}, resurrected ${resurrected}, lost ${lost})`,
    );
    if (report.violations.length > 0) log(describeViolations(report, 10));
    log(await this.#doubts(writer));
    return { history, report, faultWrites, reads, log: lines.join('\n') };
  }

  /**
   * What made nodes doubt their entries (stalls, fences) and what the writer's reads did about it,
   * for the failure message: a miss is the design's answer when no replica can vouch for a key.
   */
  async #doubts(writer: DistributedCacheClient): Promise<string> {
    const reachable = this.nemesis.nodes.filter((n) => n.state === 'up' && !n.partitioned);
    try {
      const nodes = await clusterCounters(reachable.map((n) => n.url));
      const shown = nodes.map(({ url, values }) => {
        const { stalls, fences, verifications, staleReadsPrevented } = values;
        return `${url} ${JSON.stringify({ stalls, fences, verifications, staleReadsPrevented })}`;
      });
      const { verifications, staleReadsPrevented, unverifiedDropped } =
        await clientCounters(writer);
      const client = JSON.stringify({ verifications, staleReadsPrevented, unverifiedDropped });
      return `nodes: ${shown.join('; ')}\nwriter: ${client}`;
    } catch (error) {
      return `node counters not read: ${(error as Error).message}`;
    }
  }
}
