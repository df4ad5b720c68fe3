import { isIPv4 } from 'node:net';
import type { MemcachedAddress } from './listener.js';

/** Whether a bound address is reachable only from this host (127.0.0.0/8, ::1, ::ffff:127.x.y.z). */
export function isLoopback(address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIPv4(v4)) return v4.startsWith('127.');
  return address === '::1' || address === '0:0:0:0:0:0:0:1';
}

/**
 * The start-up warning for a memcached port anyone on the network can use: bound beyond loopback
 * without authentication. undefined when there is nothing to warn about.
 */
export function exposureWarning(
  bound: MemcachedAddress,
  authenticated: boolean,
): string | undefined {
  if (authenticated || isLoopback(bound.host)) return undefined;
  return `the memcached port listens on ${bound.host}:${bound.port}, beyond loopback, without authentication: anyone who can reach it reads, writes and flushes the cache (set --memcached-auth-file, or --memcached-host 127.0.0.1)`;
}

/**
 * The start-up warning for an HTTP API anyone on the network can use: bound beyond loopback
 * without a token (the CLI's default has none). undefined when there is nothing to warn about.
 */
export function httpExposureWarning(
  url: string,
  host: string,
  hasToken: boolean,
): string | undefined {
  if (hasToken || isLoopback(host)) return undefined;
  return `the HTTP API listens on ${url}, beyond loopback, without a token: anyone who can reach it reads, writes and flushes the cache (set --token, or --host 127.0.0.1)`;
}
