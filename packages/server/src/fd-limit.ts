import { readFileSync } from 'node:fs';

/**
 * Descriptors a node keeps for itself before any connection limit is granted: stdio, the
 * listening sockets, libuv's epoll and signal pipes, the snapshot file and its directory, DNS,
 * and headroom for whatever else Node opens. memcached reserves 20; Node opens more.
 */
export const RESERVED_FDS = 64;

/** Assumed when the limit cannot be read (not Linux): the usual soft limit. */
export const FALLBACK_OPEN_FILE_LIMIT = 1024;

/** The most any default connection limit allows: memcached's own default `-c 1024`. */
export const MAX_DEFAULT_CONNECTIONS = 1024;

const MAX_OPEN_FILES = /^Max open files\s+(\d+|unlimited)\s/m;

/**
 * The process's soft RLIMIT_NOFILE (Node has no getrlimit): read from `/proc/self/limits` (or the
 * text given, for tests), so undefined where there is none (not Linux) or it cannot be parsed.
 * Node raises its soft limit to the hard one at start-up, so this is what the process can open.
 */
export function openFileLimit(limits?: string): number | undefined {
  let text = limits;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'latin1');
    } catch {
      return undefined;
    }
  }
  const match = MAX_OPEN_FILES.exec(text);
  if (match === null) return undefined;
  return match[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(match[1]);
}

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

/**
 * The memcached port's default connection limit: its half of the descriptors, the HTTP door having
 * the other (`connectionsFitting(limit, 2)`). With `ulimit -n 1024` each door gets 480.
 */
export function defaultMaxConnections(
  limit: number = openFileLimit() ?? FALLBACK_OPEN_FILE_LIMIT,
): number {
  return connectionsFitting(limit, 2);
}
