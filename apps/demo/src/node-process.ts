import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { DemoError } from './demo-error.js';
import { answers, getJson } from './http.js';

export interface NodeProcessOptions {
  /** Path of the `dcache-server` bin script, run with this Node (`process.execPath`). */
  bin: string;
  nodeId: string;
  host: string;
  /** 0 lets the OS pick; the bound port is then read from the listening line and kept for restarts. */
  port: number;
  /** Extra CLI flags, e.g. `['--max-memory', '8mb']`. */
  args?: readonly string[];
  /** Bearer token, when `args` gives the node one (needed to read its stats). */
  token?: string;
  /** How long `start()` waits for the node to answer /healthz. @default 15000 */
  startTimeoutMs?: number;
}

export interface StopOptions {
  /** How long SIGTERM may take before SIGKILL. @default 5000 */
  graceMs?: number;
  /** How long to wait for the node to exit by itself before sending anything. @default 0 */
  selfMs?: number;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** dcache-server's "… listening on http://host:port (…)" line, printed once it is bound. */
const LISTENING_LINE = /\blistening on (https?:\/\/[^\s"',)]+)/;
const KEPT_LINES = 30;

/**
 * One `dcache-server` running as a real child process, started through the real CLI the way a user
 * runs it. It can be killed abruptly (SIGKILL, to show failover) and restarted on the same port.
 */
export class NodeProcess {
  readonly nodeId: string;
  readonly #options: NodeProcessOptions;
  #port: number;
  #child: ChildProcess | undefined;
  #exited: Promise<Exit> = Promise.resolve({ code: null, signal: null });
  /** When (performance.now()) the last process exited; undefined while it runs or before any. */
  #exitedAt: number | undefined;
  /** The child's last output lines, quoted when it fails to start. */
  readonly #output: string[] = [];
  /** Set by `retire()`: start() refuses from then on. */
  #retired = false;

  constructor(options: NodeProcessOptions) {
    this.#options = options;
    this.nodeId = options.nodeId;
    this.#port = options.port;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    const host = this.#options.host.includes(':') ? `[${this.#options.host}]` : this.#options.host;
    return `http://${host}:${this.#port}`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /**
   * The command line this node runs with, as a user would type it to start it again: every flag,
   * so that a restart by hand binds the same address and behaves the same.
   */
  get command(): string {
    const { nodeId, host, args = [] } = this.#options;
    return [
      'dcache-server',
      '--port',
      String(this.#port),
      '--node-id',
      nodeId,
      '--host',
      host,
      ...args,
    ].join(' ');
  }

  /** True from spawn until the process has exited. */
  get running(): boolean {
    return (
      this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null
    );
  }

  /** When (on the performance.now() clock) the last process was seen to exit; undefined while one runs. */
  get exitedAt(): number | undefined {
    return this.running ? undefined : this.#exitedAt;
  }

  /** Resolves when the current process has exited (at once when none runs). */
  get exited(): Promise<Exit> {
    return this.#exited;
  }

  /** The child's recent stdout/stderr lines, oldest first. */
  get output(): readonly string[] {
    return this.#output;
  }

  /**
   * Refuses every later `start()`. A stop only stops the processes running as it begins, and a
   * walkthrough step cut short by a Ctrl-C carries on in the background: the node it restarts or
   * adds next would be spawned after the stop, left running, and keep the demo alive.
   */
  retire(): void {
    this.#retired = true;
  }

  /** Spawns the node and resolves once it answers /healthz as itself; rejects (and kills it) otherwise. */
  async start(): Promise<void> {
    if (this.#retired)
      throw new DemoError(`${this.nodeId} was not started: the cluster is stopping`);
    if (this.running) throw new Error(`${this.nodeId} is already running (pid ${this.pid})`);
    const { bin, nodeId, host, args = [], startTimeoutMs = 15_000 } = this.#options;
    const child = spawn(
      process.execPath,
      [bin, '--host', host, '--port', String(this.#port), '--node-id', nodeId, ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#child = child;
    this.#output.length = 0;
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exitedAt = performance.now();
        resolve({ code, signal });
      });
    });
    // Spawn failures (e.g. ENOENT) surface as 'error' and then 'exit'; the exit path below reports them.
    child.once('error', (error) => this.#remember(`spawn error: ${error.message}`));

    let announced: string | undefined;
    for (const stream of [child.stdout, child.stderr]) {
      // Keep draining both pipes for the child's whole life, or a chatty node would block on a full pipe.
      createInterface({ input: stream! }).on('line', (line) => {
        this.#remember(line);
        announced ??= LISTENING_LINE.exec(line)?.[1];
      });
    }

    let exit: Exit | undefined;
    void this.#exited.then((value) => (exit = value));
    const deadline = Date.now() + startTimeoutMs;
    try {
      while (Date.now() < deadline) {
        if (exit !== undefined) {
          throw new Error(`${nodeId} exited (${describeExit(exit)}) before it was ready`);
        }
        if (this.#port === 0 && announced !== undefined)
          this.#port = Number(new URL(announced).port);
        // Probe only once our child says it listens: before that, whatever answers on the port is
        // someone else's — a second `pnpm demo` would otherwise take the first one's node-1 for its own.
        if (announced !== undefined && (await answers(`${this.url}/healthz`))) {
          // A stray process could hold the port; make sure the node answering is the one we spawned.
          // As long as the start may take: a node busy on a loaded machine answers late, not wrongly.
          const stats = await getJson<{ nodeId?: unknown }>(`${this.url}/v1/stats`, {
            token: this.#options.token,
            timeoutMs: Math.max(1000, deadline - Date.now()),
          });
          if (stats.nodeId !== nodeId) {
            throw new Error(
              `port ${this.#port} is answered by ${String(stats.nodeId)}, not ${nodeId}`,
            );
          }
          return;
        }
        await sleep(50);
      }
      throw new Error(`${nodeId} did not answer /healthz within ${startTimeoutMs} ms`);
    } catch (error) {
      this.killNow();
      await this.#exited;
      const tail = this.#output
        .slice(-8)
        .map((line) => `    ${line}`)
        .join('\n');
      throw new DemoError(
        `${(error as Error).message}${tail ? `\n  its last output:\n${tail}` : ''}`,
        {
          cause: error,
        },
      );
    }
  }

  /** Sends `signal` (SIGKILL by default: a crash) and resolves when the process is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<Exit> {
    if (this.running) this.#child!.kill(signal);
    return this.#exited;
  }

  /**
   * Graceful stop: SIGTERM, then SIGKILL if it has not exited within `graceMs`. With `selfMs`, first
   * give the node that long to exit on its own — after a terminal's Ctrl-C it got SIGINT too, and a
   * second signal would cut its graceful shutdown short.
   */
  async stop({ graceMs = 5000, selfMs = 0 }: StopOptions = {}): Promise<Exit> {
    if (!this.running) return this.#exited;
    const timers = [
      setTimeout(() => this.#child!.kill('SIGTERM'), selfMs),
      setTimeout(() => this.killNow(), selfMs + graceMs),
    ];
    try {
      return await this.#exited;
    } finally {
      for (const timer of timers) clearTimeout(timer);
    }
  }

  /** Synchronous SIGKILL, safe inside a process 'exit' handler. */
  killNow(): void {
    if (this.running) this.#child!.kill('SIGKILL');
  }

  #remember(line: string): void {
    this.#output.push(line);
    if (this.#output.length > KEPT_LINES) this.#output.shift();
  }
}

export function describeExit({ code, signal }: Exit): string {
  return signal === null ? `exit code ${String(code)}` : `signal ${signal}`;
}
