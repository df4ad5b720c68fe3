/* global setTimeout */
// What the benchmarks share about the processes they run: starting them so that none outlives the
// benchmark (normal end, error or Ctrl-C), free loopback ports, waiting for a port to accept
// connections, and memcached's command line.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createConnection, createServer } from 'node:net';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * Starts processes (stdout and stderr piped unless `stdio` says otherwise). Those still running
 * get `signal` when this process exits or is sent SIGINT or SIGTERM, and `cleanup` runs then.
 * `started` lists every process started, in order (a benchmark takes the pids of one contender's
 * from it).
 */
export function processTracker(signal, cleanup = () => {}) {
  const started = [];
  const stopAll = () => {
    for (const child of started) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    }
    cleanup();
  };
  process.on('exit', stopAll);
  for (const name of ['SIGINT', 'SIGTERM']) {
    process.on(name, () => {
      stopAll();
      process.exit(130);
    });
  }
  const start = (command, args, stdio = ['ignore', 'pipe', 'pipe']) => {
    const child = spawn(command, args, { stdio });
    started.push(child);
    return child;
  };
  return { start, started, stopAll };
}

/** Sends `signal` and resolves once the process has exited. */
export async function stop(child, signal = 'SIGTERM') {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

export function hasBinary(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

/** A TCP port free on 127.0.0.1 a moment ago. */
export async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`; throws after 10 s. */
export async function waitForPort(port, what = 'a server') {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const socket = createConnection({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not start on port ${port} in 10 s`);
    await sleep(50);
  }
}

/** memcached on 127.0.0.1:`port`, TCP only, 256 MiB (as root it needs `-u`). */
export function memcachedArgs(port) {
  return ['-u', 'memcache', '-l', '127.0.0.1', '-p', String(port), '-U', '0', '-m', '256'];
}
