import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { requireBinary } from './binaries.js';

/** A real memcached on a free loopback port, for differential tests and the benchmark. */
export interface RealMemcached {
  port: number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
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

export async function startRealMemcached(extraArgs: string[] = []): Promise<RealMemcached> {
  const binary = requireBinary('memcached');
  const port = await freePort();
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
    if (exited) throw new Error(`memcached exited at start (args: ${extraArgs.join(' ')})`);
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
