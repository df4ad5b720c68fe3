// What a nemesis leaves if its process ends without `cleanup()`: node processes, an iptables chain,
// a temp dir. Undone at exit and on signals by the process itself, and — when it was killed
// outright (SIGKILL, OOM) and ran no handler — by the next `Nemesis.start` on the machine.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listChains, removeChain } from './iptables.js';

/** A nemesis's temp dir is `dcache-nemesis-<owner pid>-XXXXXX`; its `pids` file lists its nodes. */
export const DIR_PREFIX = 'dcache-nemesis-';
export const PIDS_FILE = 'pids';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

function safe<T>(run: () => T, fallback: T): T {
  try {
    return run();
  } catch {
    return fallback;
  }
}

/**
 * Undoes what dead test processes left: their nodes, temp dirs and chains, found by the owner's pid
 * in the names. A node pid is killed only while its command line is still dcache-server's (a pid
 * can be reused).
 */
export function sweepAbandoned(): void {
  for (const name of safe(() => readdirSync(tmpdir()), [])) {
    const owner = new RegExp(`^${DIR_PREFIX}(\\d+)-`).exec(name);
    if (owner === null || alive(Number(owner[1]))) continue;
    const dir = join(tmpdir(), name);
    const pids = safe(() => readFileSync(join(dir, PIDS_FILE), 'utf8'), '').split('\n');
    for (const pid of pids.map(Number).filter((n) => n > 0)) {
      const command = safe(() => readFileSync(`/proc/${pid}/cmdline`, 'utf8'), '');
      if (!command.includes('dcache-server')) continue;
      safe(() => process.kill(pid, 'SIGCONT'), undefined);
      safe(() => process.kill(pid, 'SIGKILL'), undefined);
    }
    rmSync(dir, { recursive: true, force: true });
  }
  for (const { chain, owner } of listChains()) {
    if (!alive(owner)) removeChain(chain);
  }
}

let installed = false;

/**
 * Runs `undoAll` (synchronous) on process exit, and on a signal that would end the process; the
 * signal is re-raised when no one else handles it (a test runner may). Installed once per process.
 */
export function undoAtExit(undoAll: () => void): void {
  if (installed) return;
  installed = true;
  process.on('exit', undoAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      undoAll();
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}
