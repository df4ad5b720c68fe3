import { readFileSync } from 'node:fs';

/**
 * The process's soft limit on open file descriptors (`ulimit -n`), from /proc/self/limits; undefined
 * where that file does not exist (not Linux) or says "unlimited".
 */
export function openFileLimit(): number | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/self/limits', 'latin1');
  } catch {
    return undefined;
  }
  const soft = /^Max open files\s+(\S+)/m.exec(text)?.[1];
  const limit = Number(soft);
  return Number.isSafeInteger(limit) && limit > 0 ? limit : undefined;
}

/**
 * Descriptors kept for everything but client connections: stdio, libuv's epoll and signal pipes,
 * the listening sockets, the snapshot file and its directory, DNS and worker-pool handles.
 */
export const RESERVED_FDS = 64;

/** The connection limit used when no fd limit is known, and the most any default allows. */
export const MAX_DEFAULT_CONNECTIONS = 1024;

/**
 * Connections per front door that fit `fdLimit` descriptors: what is left after RESERVED_FDS,
 * shared equally by the `doors` (HTTP, and the memcached port when it is on), at most
 * MAX_DEFAULT_CONNECTIONS and at least 1. Accepting past the fd limit fails with EMFILE, and
 * then every new client waits, the good ones included.
 */
export function connectionsFitting(fdLimit: number | undefined, doors: number): number {
  if (fdLimit === undefined) return MAX_DEFAULT_CONNECTIONS;
  const share = Math.floor((fdLimit - RESERVED_FDS) / doors);
  return Math.max(1, Math.min(MAX_DEFAULT_CONNECTIONS, share));
}
