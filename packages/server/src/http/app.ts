import { Hono } from 'hono';
import type { AppEnv, NodeState } from './app-env.js';
import { createReplicaStore } from '../operations/cache.js';
import { epochVersion } from '../replication/version-floor.js';
import { errorHandler, notFoundHandler } from './error-handler.js';
import { InflightBudget } from './inflight-budget.js';
import { createLogger } from '../observability/logger.js';
import { RequestMetrics } from '../observability/metrics.js';
import { refuseBrowserChanges } from './middleware/browser-guard.js';
import { refuseForeignHosts } from './middleware/host-guard.js';
import { ServedHosts } from './served-hosts.js';
import { bearerAuth, bearerChecker } from './middleware/auth.js';
import { NodeSnapshot } from '../snapshot/node-snapshot.js';
import type { ResolvedOptions, ServerOptions } from '../options.js';
import { resolveOptions } from '../options.js';
import { batchRoutes } from './routes/batch.js';
import { batchRunner } from './routes/batch-ops.js';
import type { RunBatch } from './routes/batch-ops.js';
import { flushRoutes } from './routes/flush.js';
import { keyRoutes } from './routes/keys.js';
import { snapshotRoutes } from './routes/snapshot.js';
import { statsRoutes } from './routes/stats.js';
import type { ReplicaStore } from '../replication/replica-store.js';
import { fenceRoutes } from './routes/fence.js';
import { listingRoutes } from './routes/listing.js';
import { HintStore, MAX_FENCE_TARGETS } from '../replication/hints.js';
import { RestoreClaim } from '../replication/restore-claim.js';
import type { FenceReason } from '../replication/hints.js';
import { throttledWarning } from '../observability/throttled-warning.js';

/** What the routes of one node share (CacheServer's batch fast path shares it too). */
/** Why hints became a fence, as the `hints_overflowed` line says it. */
const FENCE_REASONS: Readonly<Record<FenceReason, string>> = {
  overflow: 'maxHints reached',
  age: 'older than maxHintAge',
  lost: 'a hinted key is no longer held here to hand over',
};

export function createNodeState(options: ResolvedOptions, replicas: ReplicaStore): NodeState {
  const cache = replicas.cache;
  const now = options.now ?? Date.now;
  const logger = createLogger({
    level: options.logLevel,
    format: options.logFormat,
    node: options.nodeId,
  });
  const file = options.snapshotFile;
  // The cases the mechanism cannot guarantee (never-stale.md §4): never silent, never a flood.
  let earlyFloor = 0;
  const earlyEviction = throttledWarning(
    logger,
    'tombstone_evicted_early',
    (count, key) =>
      `${count} tombstone(s) evicted before tombstoneGrace for lack of memory (latest ${JSON.stringify(key)}): absences stamped at or below ${earlyFloor} are no longer vouched for (tombstonesEvictedEarly); raise maxMemory`,
  );
  replicas.onEarlyEviction = (key, stamp) => {
    earlyFloor = stamp;
    earlyEviction(key);
  };
  replicas.onUnvouchedRead = throttledWarning(
    logger,
    'unvouched_reads',
    (count, key) =>
      `${count} hit(s) served to reads that failed over here from a key's primary that did not answer, by clients whose writeConsistency does not wait for this replica (latest ${JSON.stringify(key)}): possibly stale (unvouchedReads); 'all' closes this`,
  );
  const flush = replicas.flush;
  const checker = options.token === undefined ? undefined : bearerChecker(options.token);
  return {
    options,
    cache,
    replicas,
    authorized: (authorization) => checker === undefined || checker(authorization),
    hosts: new ServedHosts(options.allowedHosts),
    restoreClaim: new RestoreClaim(options.restoreClaimLease),
    hints: new HintStore({
      maxHints: options.maxHints,
      maxHintAge: options.maxHintAge,
      now: () => performance.now(),
      onFence: (target, dropped, why) =>
        logger.warn(
          'hints_overflowed',
          `${dropped} hints for ${target} dropped (${FENCE_REASONS[why]}): it will be fenced instead when it answers`,
        ),
      onFenceForgotten: (target) =>
        logger.warn(
          'hint_fence_forgotten',
          `the fence due for ${target} is forgotten: it has not answered since, and ${MAX_FENCE_TARGETS} nodes fenced later are still due one (a node gone for good, most likely; if it comes back, fence it with POST /v1/fence)`,
        ),
      // The plain delete a delivered hint's stand-in copy gets (hint-replayer.ts): no tombstone,
      // as this node never held the key's delete either. Only the copy the hint was for: a write
      // taken since (as a natural replica, after a ring change) stays.
      dropStandIn: (key, stamp, reach) => replicas.dropCopy(key, stamp, reach),
    }),
    flush,
    bodyBudget: new InflightBudget(options.maxInflightBodyBytes, options.requestTimeout),
    metrics: new RequestMetrics(),
    logger,
    startedAt: performance.now(),
    snapshot:
      file === undefined
        ? undefined
        : new NodeSnapshot(file, replicas, now, logger, options.trustSnapshot),
  };
}

/** Builds a node's app around an existing cache (CacheServer shares that cache with memcached). */
export function buildApp(
  options: ResolvedOptions,
  replicas: ReplicaStore,
  node: NodeState = createNodeState(options, replicas),
  runBatch: RunBatch = batchRunner(node),
): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // First, token or not: a node without one would otherwise answer any web page.
  app.use('*', refuseForeignHosts(node.hosts));
  app.use('*', refuseBrowserChanges());
  if (options.token !== undefined) app.use('*', bearerAuth(node.authorized, ['/healthz']));
  app.route('/v1', listingRoutes(node));
  app.route('/v1/keys', keyRoutes(node));
  app.route('/v1/batch', batchRoutes(node, runBatch));
  app.route('/v1/flush', flushRoutes(node));
  app.route('/v1/snapshot', snapshotRoutes(node));
  app.route('/v1/fence', fenceRoutes(node));
  app.route('/', statsRoutes(node));
  app.notFound(notFoundHandler(node));
  app.onError(errorHandler(node));
  return app;
}

/**
 * A dcache node as a hono app with its own cache: serve it with any fetch-based runtime, or call
 * `app.request()` in tests. Throws a TypeError/RangeError naming a bad option.
 */
export function createApp(options: ServerOptions = {}): Hono<AppEnv> {
  const resolved = resolveOptions(options);
  if (resolved.snapshotFile !== undefined) {
    // Silently never saving would lose the data the option was set to keep.
    throw new TypeError(
      'snapshotFile needs a CacheServer: an app alone has no start or shutdown to load or save it at',
    );
  }
  if (resolved.tls !== undefined) {
    // An app does not listen: a pair taken silently would leave the runtime serving it in plain
    // HTTP, the traffic the option was set to protect in the clear.
    throw new TypeError(
      "tls needs a CacheServer: an app alone does not listen; serve the app over HTTPS with its runtime's own TLS",
    );
  }
  return buildApp(resolved, nodeStore(resolved));
}

/** The node's ReplicaStore for its options (CacheServer shares it with the memcached port). */
export function nodeStore(options: ResolvedOptions): ReplicaStore {
  const replicas = createReplicaStore(options, {
    tombstoneGrace: options.tombstoneGrace,
    maxClockSkew: options.maxClockSkew,
  });
  // Versions (ETags, cas) above every one an earlier run of this node can have handed out, as a
  // snapshot's restore sets them: a version from before a restart never matches again, so a CAS
  // holding one fails and a conditional GET holding one is answered the value, not a 304.
  if (options.snapshotFile === undefined) {
    replicas.cache.load([], { minVersion: epochVersion((options.now ?? Date.now)()) });
  }
  return replicas;
}
