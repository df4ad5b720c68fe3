// dcache-server processes started through the CLI, as users run them, on chosen loopback
// addresses (127.0.0.2–127.0.0.6), for the discovery tests.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

/** The installed @dcache/server's bin (a shim importing its dist/cli.js). */
const CLI_BIN = join(
  dirname(createRequire(import.meta.url).resolve('@dcache/server/package.json')),
  'bin/dcache-server.js',
);

export interface CliNode {
  host: string;
  port: number;
  /** The base URL it printed, e.g. `http://127.0.0.2:40123`. */
  url: string;
  /** `GET /v1/stats` `items`: how many keys this node holds. */
  items(): Promise<number>;
  /** Whether this node holds `key` (a plain `GET` of the HTTP API). */
  holds(key: string): Promise<boolean>;
  stop(): Promise<void>;
}

const running = new Set<CliNode>();

/** Kills every node started here that is still running: for afterAll/afterEach. */
export async function stopCliNodes(): Promise<void> {
  await Promise.all([...running].map((node) => node.stop()));
}

/**
 * `dcache-server --host <host> --port <port>` (port 0 = ephemeral) with the CLI's defaults
 * otherwise; resolves once it prints its listening line. `extra` adds flags (TLS files).
 */
export async function startCliNode(
  host: string,
  port = 0,
  extra: readonly string[] = [],
): Promise<CliNode> {
  const child: ChildProcess = spawn(
    process.execPath,
    [CLI_BIN, '--host', host, '--port', String(port), '--log-level', 'warn', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit');
  const stop = async (): Promise<void> => {
    running.delete(node);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await exited;
  };
  const node: CliNode = {
    host,
    port: 0,
    url: '',
    async items() {
      const stats = (await (await fetch(`${node.url}/v1/stats`)).json()) as { items: number };
      return stats.items;
    },
    async holds(key) {
      const response = await fetch(`${node.url}/v1/keys/${encodeURIComponent(key)}`);
      await response.arrayBuffer();
      return response.status === 200;
    },
    stop,
  };
  running.add(node);
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`dcache-server printed no listening line in 15 s:\n${output}`)),
        15_000,
      );
      createInterface({ input: child.stdout! }).on('line', (line) => {
        output += `${line}\n`;
        const match = /listening on (\S+)/.exec(line);
        if (match !== null) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`dcache-server exited with ${String(code)} before listening:\n${output}`));
      });
    });
    node.url = url;
    node.port = Number(new URL(url).port);
    return node;
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * `count` CLI nodes on 127.0.0.1 with their defaults but one, for the ring-change tests: a node
 * whose event loop stalls past `--stall-threshold` fences itself (never-stale), and with
 * `replicas: 1` no peer can vouch for its entries, so they read as misses. This shared 2-core
 * machine stalls nodes past the default 1000 ms under load (load average above 10 seen), which
 * would turn hits into misses that have nothing to do with ring changes; fences are tested in
 * test/faults/.
 */
export async function startRingChangeNodes(count: number): Promise<CliNode[]> {
  return Promise.all(
    Array.from({ length: count }, () =>
      startCliNode('127.0.0.1', 0, ['--stall-threshold', '10000']),
    ),
  );
}

/** A TCP port free on every one of `hosts` a moment ago: `dns://` nodes all listen on one port. */
export async function commonFreePort(hosts: readonly string[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, hosts[0], resolve));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const free = await Promise.all(hosts.slice(1).map((host) => isFree(host, port)));
    if (free.every(Boolean)) return port;
  }
  throw new Error(`no port free on all of ${hosts.join(', ')}`);
}

function isFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}
