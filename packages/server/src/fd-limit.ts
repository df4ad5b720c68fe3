import { readFileSync } from 'node:fs';

/**
 * Descriptors a node keeps for itself before any connection limit is granted: stdio, the
 * listening sockets, libuv's epoll and signal pipes, the snapshot file and its directory, DNS,
 * and headroom for whatever else Node opens. memcached reserves 20; Node opens more.
 */
export const RESERVED_FDS = 64;

/** Assumed when the limit cannot be read (not Linux): the usual soft limit. */
export const FALLBACK_OPEN_FILE_LIMIT = 1024;

/** The ceiling of a default connection limit, memcached's own default `-c 1024`. */
const DEFAULT_CONNECTIONS_CEILING = 1024;

const MAX_OPEN_FILES = /^Max open files\s+(\d+|unlimited)\s/m;

/**
 * The process's soft RLIMIT_NOFILE (Node has no getrlimit): read from `/proc/self/limits`, so
 * undefined where there is none (not Linux) or it cannot be parsed. Node raises its soft limit to
 * the hard one at start-up, so this is what the process can actually open.
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
 * The default connection limit of one front door (HTTP, or the memcached port): half of the
 * descriptors left after {@link RESERVED_FDS}, so that both doors full together still fit the
 * file limit, capped at 1024 and at least 1. With `ulimit -n 1024` each door gets 480.
 */
export function defaultMaxConnections(
  limit: number = openFileLimit() ?? FALLBACK_OPEN_FILE_LIMIT,
): number {
  const share = Math.floor((limit - RESERVED_FDS) / 2);
  return Math.max(1, Math.min(DEFAULT_CONNECTIONS_CEILING, share));
}
