// A load worker (load-worker.ts) as a process of its own: its events as they come, its history at
// the end. `stop()` asks it to finish (SIGTERM); `kill()` is for cleanup after a failure.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { readHistory } from '../faults/history.js';
import type { Operation } from '../faults/history.js';
import { spawnTs } from '../faults/run-ts.js';
import type { LoadEvent, LoadOptions } from './load-worker.js';

const WORKER = fileURLToPath(new URL('./load-worker.ts', import.meta.url));

export class LoadProcess {
  readonly name: string;
  readonly events: LoadEvent[] = [];
  readonly #child: ChildProcess;
  readonly #file: string;
  readonly #exited: Promise<unknown>;
  #stderr = '';
  #waiters: (() => void)[] = [];

  constructor(options: LoadOptions, historyFile: string) {
    this.name = options.process;
    this.#file = historyFile;
    this.#child = spawnTs(WORKER, [JSON.stringify(options), historyFile]);
    this.#exited = once(this.#child, 'exit');
    this.#child.stderr!.on('data', (chunk: Buffer) => (this.#stderr += chunk.toString()));
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      this.events.push(JSON.parse(line) as LoadEvent);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.#child.once('exit', () => {
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** The first event `match` accepts (one already printed counts), or a rejection after `timeoutMs`. */
  async waitFor<E extends LoadEvent>(
    match: (event: LoadEvent) => event is E,
    what: string,
    timeoutMs: number,
  ): Promise<E> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(match);
      if (found !== undefined) return found;
      if (!this.running) throw new Error(`${this.name} exited before ${what}:\n${this.#stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: no ${what} in ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Asks the worker to finish its calls in flight and exit; resolves its history. */
  async stop(timeoutMs = 20_000): Promise<Operation[]> {
    if (this.running) {
      this.#child.kill('SIGTERM');
      const timer = setTimeout(() => this.kill(), timeoutMs);
      await this.#exited;
      clearTimeout(timer);
    }
    if (this.#child.exitCode !== 0) {
      throw new Error(
        `${this.name} exited with ${String(this.#child.exitCode ?? this.#child.signalCode)}:\n${this.#stderr}`,
      );
    }
    return readHistory(this.#file);
  }

  kill(): void {
    if (this.running) this.#child.kill('SIGKILL');
  }

  async killed(): Promise<void> {
    this.kill();
    if (this.#child.exitCode === null && this.#child.signalCode === null) await this.#exited;
  }
}

/** Type guards for `waitFor`. */
export const isEvent =
  <K extends LoadEvent['event']>(
    kind: K,
    also: (event: Extract<LoadEvent, { event: K }>) => boolean = () => true,
  ) =>
  (event: LoadEvent): event is Extract<LoadEvent, { event: K }> =>
    event.event === kind && also(event as Extract<LoadEvent, { event: K }>);
