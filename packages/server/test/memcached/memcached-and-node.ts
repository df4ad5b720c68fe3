import { afterAll, beforeAll } from 'vitest';
import { startCliNode, stopCliNodes } from '../cli-node.js';
import { RawClient } from './helpers.js';
import { startRealMemcached } from './real-memcached.js';
import type { RealMemcached } from './real-memcached.js';

/** A raw client of each side of a differential test. */
export interface MemcachedAndNode {
  /** Of a real memcached (`-m 64`). */
  memcached: RawClient;
  /** Of a node started through the CLI, its defaults but for `--memcached-port 0`. */
  node: RawClient;
}

/**
 * Starts a real memcached and a CLI node before the file's tests and stops both after; the
 * clients are set once started (read them inside tests, not at import).
 */
export function memcachedAndNode(): MemcachedAndNode {
  const sides = {} as MemcachedAndNode;
  let real: RealMemcached | undefined;
  beforeAll(async () => {
    // One after the other: if the second fails to start, afterAll still stops the first.
    real = await startRealMemcached(['-m', '64']);
    const node = await startCliNode(['--memcached-port', '0', '--log-level', 'silent']);
    sides.memcached = new RawClient(real.port);
    sides.node = new RawClient(node.memcached!.port);
    await Promise.all([sides.memcached.ready(), sides.node.ready()]);
  }, 30_000);
  afterAll(async () => {
    sides.memcached?.close();
    sides.node?.close();
    await stopCliNodes();
    await real?.stop();
  });
  return sides;
}
