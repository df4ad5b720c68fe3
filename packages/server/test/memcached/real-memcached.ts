import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { requireBinary } from './binaries.js';

/** A real memcached on a free loopback port, for differential tests and the benchmark. */
export interface RealMemcached {
  port: number;
  stop(): Promise<void>;
}

/**
 * A port for memcached, drawn below Linux's ephemeral range (32768 and up by default): a port
 * `listen(0)` hands out is one the outgoing connections of the suites running alongside may take
 * as theirs between its release and memcached binding it. A port taken anyway makes memcached
 * exit at start, and the start is tried again on another.
 */
function candidatePort(): number {
  return 16_384 + Math.floor(Math.random() * 16_384);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Ports tried, each one free or taken, before memcached not starting is an error. */
const START_ATTEMPTS = 5;

export async function startRealMemcached(extraArgs: string[] = []): Promise<RealMemcached> {
  const binary = requireBinary('memcached');
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const port = candidatePort();
    // Something listens there already: memcached could not bind it, and a connect would reach that.
    if (await canConnect(port)) continue;
    const started = await startOn(binary, port, extraArgs);
    if (started !== undefined) return started;
  }
  throw new Error(
    `memcached did not start on any of ${START_ATTEMPTS} ports (args: ${extraArgs.join(' ')})`,
  );
}

/** memcached listening on `port`, or undefined when it exited at start (the port was taken). */
async function startOn(
  binary: string,
  port: number,
  extraArgs: string[],
): Promise<RealMemcached | undefined> {
  // memcached refuses to run as root unless told which user to become.
  const asRoot = process.getuid?.() === 0 ? ['-u', 'memcache'] : [];
  const child: ChildProcess = spawn(
    binary,
    [...asRoot, '-l', '127.0.0.1', '-p', String(port), '-U', '0', ...extraArgs],
    { stdio: 'ignore' },
  );
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  for (let i = 0; i < 100; i++) {
    if (exited) return undefined;
    if (await canConnect(port)) {
      return {
        port,
        stop: () =>
          new Promise<void>((resolve) => {
            if (exited) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error('memcached did not start listening');
}
