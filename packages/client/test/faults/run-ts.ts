// Runs a TypeScript file of these tests as its own Node process (a second client, a test process
// that dies mid-fault), through tsx, the repository's TypeScript loader.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root: `--import tsx` resolves from there (tsx is a root devDependency). */
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** Spawns `node --import tsx <file> ...args`; stdout piped, stderr piped. */
export function spawnTs(file: string, args: readonly string[] = []): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** The first line `child` prints on stdout, or a rejection with what it printed on stderr. */
export function firstLine(child: ChildProcess, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(
      () => reject(new Error(`no output in ${timeoutMs} ms:\n${err}`)),
      timeoutMs,
    );
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const end = out.indexOf('\n');
      if (end >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, end));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${String(code)} before a line:\n${err}`));
    });
  });
}
