import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The CLI as users run it (`npx @dcache/server` runs this shim, which imports `dist/cli.js`). */
export const CLI_BIN = fileURLToPath(new URL('../bin/dcache-server.js', import.meta.url));

/** A node started through the CLI, with what its listening line says. */
export interface CliNode {
  child: ChildProcess;
  /** The HTTP API's base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** The memcached port's address, when `--memcached-port` was given. */
  memcached?: { host: string; port: number };
  /** Everything the node wrote to stdout and stderr so far. */
  output(): string;
  /** The process's resident set size now, in bytes (VmRSS in /proc/<pid>/status). */
  rss(): number;
  /** Sends `signal` (default SIGTERM) and resolves with the exit code once the process has gone. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const running = new Set<CliNode>();

const LISTENING = /listening on (\S+) \(.*?(?:, memcached protocol on (\S+):(\d+))?\)\s*$/;

/** The listening line's text: as printed, or the `msg` of its JSON line (`--log-format json`). */
function listeningText(line: string): string {
  if (!line.startsWith('{')) return line;
  const parsed = JSON.parse(line) as { msg?: unknown };
  return typeof parsed.msg === 'string' ? parsed.msg : line;
}

/**
 * Starts `dcache-server` with `args` (ports default to 0, i.e. ephemeral, on 127.0.0.1) and resolves
 * once it prints its listening line. Pair with `stopCliNodes()` in `afterEach`.
 *
 * The stall detector is off unless `args` set `--stall-threshold`: on a loaded CI box a node starved
 * of CPU past the default 500 ms fences itself, and every value it held then reads as a miss
 * (gaps of 557–899 ms in five files of one suite run beside busy loops). Tests about stalls
 * (fence.test.ts) pass the threshold they test.
 */
export async function startCliNode(
  args: readonly string[] = [],
  options: {
    env?: NodeJS.ProcessEnv;
    timeoutMs?: number;
    /** Run the node under `prlimit --nofile=N:N` (Linux). */
    openFileLimit?: number;
    /**
     * The node's `/etc/hosts`: this file, bind-mounted in a mount namespace of the node's own
     * (Linux, root), so the node resolves names only a test's DNS knows — as a pod resolves its
     * peers' names through the cluster's DNS. Rewritten in place, it is read at each lookup.
     */
    hostsFile?: string;
  } = {},
): Promise<CliNode> {
  const withPort = args.includes('--port') || args.includes('-p') ? args : ['--port', '0', ...args];
  const withStall = args.includes('--stall-threshold')
    ? withPort
    : ['--stall-threshold', '0', ...withPort];
  const command = [process.execPath, CLI_BIN, ...withStall];
  // prlimit execs the node in place: child.pid stays the node's.
  const limit = options.openFileLimit;
  if (limit !== undefined) command.unshift('prlimit', `--nofile=${limit}:${limit}`, '--');
  // unshare and sh exec in place too; unshare makes the new namespace's mounts private, so the
  // bind mount is the node's alone and goes with it.
  if (options.hostsFile !== undefined) {
    if (process.getuid?.() !== 0) {
      throw new Error('startCliNode: hostsFile needs root (a mount namespace per node)');
    }
    command.unshift(
      'unshare',
      '--mount',
      '--',
      'sh',
      '-c',
      'mount --bind "$0" /etc/hosts && exec "$@"',
      options.hostsFile,
    );
  }
  const child = spawn(command[0]!, command.slice(1), {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit');
  const node: CliNode = {
    child,
    url: '',
    output: () => output,
    rss() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'latin1');
      const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
      if (kb === undefined) throw new Error(`no VmRSS for pid ${child.pid}`);
      return Number(kb) * 1024;
    },
    async stop(signal = 'SIGTERM') {
      running.delete(node);
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
  running.add(node);
  const lines = createInterface({ input: child.stdout! });
  const timeoutMs = options.timeoutMs ?? 15_000;
  try {
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`dcache-server printed no listening line in ${timeoutMs} ms:\n${output}`),
          ),
        timeoutMs,
      );
      lines.on('line', (text) => {
        output += `${text}\n`;
        if (text.includes('listening on')) {
          clearTimeout(timer);
          resolve(text);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`dcache-server exited with ${String(code)} before listening:\n${output}`));
      });
    });
    const match = LISTENING.exec(listeningText(line));
    if (!match) throw new Error(`unexpected listening line: ${line}`);
    node.url = match[1]!;
    if (match[2] !== undefined) node.memcached = { host: match[2], port: Number(match[3]) };
    return node;
  } catch (error) {
    await node.stop('SIGKILL');
    throw error;
  }
}

/** Stops every node `startCliNode` started that is still running (SIGKILL: tests never wait on a save). */
export async function stopCliNodes(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  await Promise.all([...running].map((node) => node.stop(signal)));
}

/**
 * Starts a node on `port` again after its process there was stopped, retrying while a closing
 * connection still holds the port (EADDRINUSE) for up to ~5 s.
 */
export async function restartCliNodeOnPort(
  port: number,
  args: readonly string[] = [],
): Promise<CliNode> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startCliNode(['--port', String(port), ...args]);
    } catch (error) {
      if (attempt === 20 || !/EADDRINUSE/.test(String(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
