import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LruCache } from '@dcache/core';
import type { Context } from 'hono';
import type { InflightBudget } from './inflight-budget.js';
import type { ServedHosts } from './served-hosts.js';
import type { Logger } from '../observability/logger.js';
import type { NodeFlush } from '../operations/node-flush.js';
import type { NodeSnapshot } from '../snapshot/node-snapshot.js';
import type { RequestMetrics } from '../observability/metrics.js';
import type { ResolvedOptions } from '../options.js';
import type { ReplicaStore } from '../replication/replica-store.js';
import type { HintStore } from '../replication/hints.js';
import type { RestoreClaim } from '../replication/restore-claim.js';
import type { StoredValue } from '../operations/stored-value.js';

/** What @hono/node-server passes as `c.env`; absent under other runtimes and `app.request()`. */
export interface AppEnv {
  Bindings: { incoming?: IncomingMessage; outgoing?: ServerResponse };
}

/** Everything the routes share: one per node. */
export interface NodeState {
  readonly options: ResolvedOptions;
  /** The core cache behind `replicas`: for stats and snapshots; doors read and write `replicas`. */
  readonly cache: LruCache<StoredValue>;
  /** The one implementation of every read and write (newest wins, tombstones, fence). */
  readonly replicas: ReplicaStore;
  /**
   * The node's one auth check: whether an `Authorization` header carries the `token` (always true
   * without one). The middleware and the raw fast paths all ask it.
   */
  authorized(authorization: string | undefined): boolean;
  /** Which `Host` names the node answers (DNS rebinding); every HTTP door asks it. */
  readonly hosts: ServedHosts;
  /** Who restores this node start's share: one client at a time, on a lease (restore-claim.ts). */
  readonly restoreClaim: RestoreClaim;
  /** Writes other nodes missed, to replay to them (CacheServer runs the replayer). */
  readonly hints: HintStore;
  /** The node's one flush time, shared with the memcached listener; settled before each request. */
  readonly flush: NodeFlush;
  /**
   * Bytes the node holds for clients (`maxInflightBodyBytes` each): request bodies being received
   * (body.ts reserves them) and answers not yet taken by their sockets.
   */
  readonly bodyBudget: InflightBudget;
  readonly metrics: RequestMetrics;
  readonly logger: Logger;
  /** `performance.now()` at start, for `uptime`. */
  readonly startedAt: number;
  /** The `snapshotFile`, when set. */
  readonly snapshot: NodeSnapshot | undefined;
}

/**
 * A request header. Under Node it reads the already-parsed `incoming.headers` instead of making
 * hono build a web `Headers` object per request — a measurable cost on the GET path.
 */
export function header(c: Context<AppEnv>, name: string): string | undefined {
  const incoming = c.env?.incoming;
  if (incoming) {
    const value = incoming.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  }
  return c.req.raw.headers.get(name) ?? undefined;
}
