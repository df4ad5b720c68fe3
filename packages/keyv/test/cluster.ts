import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

/** The CLI as users run it: @dcache/server's bin shim, which imports its built `dist/cli.js`. */
export const CLI_BIN = join(
  dirname(createRequire(import.meta.url).resolve('@dcache/server/package.json')),
  'bin',
  'dcache-server.js',
);

export interface CliNode {
  child: ChildProcess;
  /** The HTTP API's base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
}

const running = new Set<ChildProcess>();

/** Starts `dcache-server --port 0 --log-level silent …` and resolves once it prints where it listens. */
export async function startNode(args: readonly string[] = []): Promise<CliNode> {
  const child = spawn(
    process.execPath,
    [CLI_BIN, '--port', '0', '--log-level', 'silent', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const lines = createInterface({ input: child.stdout! });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`dcache-server printed no listening line in 15 s:\n${output}`)),
        15_000,
      );
      lines.on('line', (text) => {
        output += `${text}\n`;
        const match = /listening on (\S+) \(/.exec(text);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`dcache-server exited with ${String(code)} before listening:\n${output}`));
      });
    });
    return { child, url };
  } catch (error) {
    await stopNode(child);
    throw error;
  }
}

async function stopNode(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

/** Starts `count` nodes through the CLI. */
export async function startNodes(count: number, args: readonly string[] = []): Promise<string[]> {
  const nodes = await Promise.all(Array.from({ length: count }, () => startNode(args)));
  return nodes.map((node) => node.url);
}

/** Kills every node this file started that still runs: call it in afterAll/afterEach. */
export async function stopNodes(): Promise<void> {
  await Promise.all([...running].map(stopNode));
}
