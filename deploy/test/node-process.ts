import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The CLI as the repository builds it (`packages/server/bin`, importing `dist/`). */
export const REPO_CLI = fileURLToPath(
  new URL('../../packages/server/bin/dcache-server.js', import.meta.url),
);

export interface NodeProcess {
  child: ChildProcess;
  /** The HTTP base URL from the listening line, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** stdout and stderr so far. */
  output(): string;
  /** Sends `signal` (default SIGTERM) and resolves with the exit code once the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const running = new Set<NodeProcess>();

/** The listening line's text, plain or the `msg` of a JSON line (`--log-format json`). */
function listeningUrl(line: string): string | undefined {
  const text = line.startsWith('{') ? String((JSON.parse(line) as { msg?: unknown }).msg) : line;
  return /listening on (\S+)/.exec(text)?.[1];
}

/**
 * Starts `node <bin> ...args` with exactly `env` (plus PATH), as a container would, and resolves
 * once it prints its listening line. Pair with `stopNodes()` in `afterEach`.
 */
export async function startNode(options: {
  bin?: string;
  args?: readonly string[];
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
}): Promise<NodeProcess> {
  const { bin = REPO_CLI, args = [], env = {}, cwd, timeoutMs = 20_000 } = options;
  const child = spawn(process.execPath, [bin, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(cwd === undefined ? {} : { cwd }),
  });
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit');
  const node: NodeProcess = {
    child,
    url: '',
    output: () => output,
    async stop(signal = 'SIGTERM') {
      running.delete(node);
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
  running.add(node);
  try {
    node.url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no listening line in ${timeoutMs} ms:\n${output}`)),
        timeoutMs,
      );
      createInterface({ input: child.stdout! }).on('line', (line) => {
        output += `${line}\n`;
        const url = listeningUrl(line);
        if (url !== undefined) {
          clearTimeout(timer);
          resolve(url);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`exited with ${String(code)} before listening:\n${output}`));
      });
    });
    return node;
  } catch (error) {
    await node.stop('SIGKILL');
    throw error;
  }
}

/** Kills every node `startNode` started that is still running. */
export async function stopNodes(): Promise<void> {
  await Promise.all([...running].map((node) => node.stop('SIGKILL')));
}
