import { spawn } from 'node:child_process';
import type { SpawnOptions } from 'node:child_process';

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  pid: number;
  /** Everything written to stdout so far. */
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves with the first stdout line matching `pattern`, rejects if the process exits first or after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  kill(signal?: NodeJS.Signals): void;
  /**
   * Signals the whole process group, as a terminal's Ctrl-C does; needs `detached: true`. For
   * wrappers such as npx, which do not pass signals on to the program they run.
   */
  killGroup(signal?: NodeJS.Signals): void;
  /** Stops reading its stdout, as a closed terminal does: its later writes fail (EPIPE). */
  closeStdout(): void;
  finished: Promise<Finished>;
}

/** Spawns a process, collects its output and lets a test wait for a line; the test must end it. */
export function start(
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): Running {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const finished = new Promise<Finished>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return {
    pid: child.pid!,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const match = pattern.exec(stdout);
          if (match === null) return false;
          cleanup();
          resolve(match);
          return true;
        };
        const onExit = (): void => {
          if (check()) return;
          cleanup();
          reject(
            new Error(
              `process exited before printing ${pattern}\nstdout:\n${stdout}\nstderr:\n${stderr}`,
            ),
          );
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `no ${pattern} within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`,
            ),
          );
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          child.stdout!.off('data', check);
          child.off('exit', onExit);
        };
        if (check()) return;
        child.stdout!.on('data', check);
        child.once('exit', onExit);
      });
    },
    kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    killGroup(signal = 'SIGTERM') {
      try {
        process.kill(-child.pid!, signal);
      } catch (error) {
        // ESRCH: the group is already gone.
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    },
    closeStdout() {
      child.stdout!.destroy();
    },
    finished,
  };
}
