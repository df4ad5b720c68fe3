// A history of operations on keys, as each client process saw them: what it asked, when it began
// and ended, and what it was told. Every process appends to its own JSON-lines file; a test merges
// them and hands the whole to `checkRegisters` (checker.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { isOperationRejectedError } from '../../src/index.js';

export type OperationKind = 'write' | 'delete' | 'read';

/**
 * - `ok`: the call answered. For a write, the client reported every acknowledgement it asks for.
 * - `unknown`: it may or may not have taken effect, on some replicas or all (a timeout, an
 *   unavailable cluster, a write with fewer acknowledgements than asked).
 * - `failed`: refused outright (a bad key, a value too large). The checker still treats a failed
 *   write as possibly applied: on a replicated store one replica may have taken it.
 * A read that did not answer (`unknown`/`failed`) tells nothing and is not checked.
 */
export type Outcome = 'ok' | 'unknown' | 'failed';

export interface Operation {
  /** Which client process (or logical client) ran it. */
  process: string;
  key: string;
  kind: OperationKind;
  /**
   * write: the value written — unique per key across the whole history, so a read names the write
   * it saw. read: the value returned, `null` for a miss. Absent for deletes and unanswered reads.
   */
  value?: string | null;
  /** When the call began and when its answer came, in ms of `now()` (shared by all processes). */
  start: number;
  end: number;
  outcome: Outcome;
  /** The error's name and message, when the call threw. */
  error?: string;
}

/**
 * The machine's monotonic clock (CLOCK_MONOTONIC, which every process on it shares) in fractional
 * milliseconds: comparable across client processes, and never stepped by NTP as wall time can be.
 */
export function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** The outcome of a call that threw: refused by a node, or anything else (which may have landed). */
function outcomeOf(error: unknown): Outcome {
  return isOperationRejectedError(error) ? 'failed' : 'unknown';
}

const describe = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/** Records one client process's operations; `run*` call the client and note start, end, result. */
export class HistoryRecorder {
  readonly process: string;
  readonly operations: Operation[] = [];

  constructor(processName: string) {
    this.process = processName;
  }

  /** `set` resolves true when every acknowledgement asked for came; false means some but fewer. */
  async write(key: string, value: string, set: () => Promise<boolean>): Promise<void> {
    const start = now();
    try {
      const acknowledged = await set();
      this.#add({
        key,
        kind: 'write',
        value,
        start,
        end: now(),
        outcome: acknowledged ? 'ok' : 'unknown',
      });
    } catch (error) {
      this.#add({
        key,
        kind: 'write',
        value,
        start,
        end: now(),
        outcome: outcomeOf(error),
        error: describe(error),
      });
    }
  }

  /** Whether the key was there does not matter: any answer means the delete was applied. */
  async delete(key: string, remove: () => Promise<unknown>): Promise<void> {
    const start = now();
    try {
      await remove();
      this.#add({ key, kind: 'delete', start, end: now(), outcome: 'ok' });
    } catch (error) {
      this.#add({
        key,
        kind: 'delete',
        start,
        end: now(),
        outcome: outcomeOf(error),
        error: describe(error),
      });
    }
  }

  /** `get` resolves the string stored, or undefined for a miss. */
  async read(key: string, get: () => Promise<string | undefined>): Promise<string | undefined> {
    const start = now();
    try {
      const value = await get();
      this.#add({ key, kind: 'read', value: value ?? null, start, end: now(), outcome: 'ok' });
      return value;
    } catch (error) {
      this.#add({
        key,
        kind: 'read',
        start,
        end: now(),
        outcome: outcomeOf(error),
        error: describe(error),
      });
      return undefined;
    }
  }

  #add(operation: Omit<Operation, 'process'>): void {
    this.operations.push({ process: this.process, ...operation });
  }
}

/** Writes `operations` to `file` as JSON lines (one operation a line). */
export function writeHistory(file: string, operations: readonly Operation[]): void {
  writeFileSync(file, operations.map((operation) => `${JSON.stringify(operation)}\n`).join(''));
}

/** Reads and merges the JSON-lines histories of several processes. */
export function readHistory(...files: string[]): Operation[] {
  const merged: Operation[] = [];
  for (const file of files) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line.trim() !== '') merged.push(JSON.parse(line) as Operation);
    }
  }
  return merged;
}
