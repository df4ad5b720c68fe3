import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { LruCache } from '@dcache/core';
import type { Hono } from 'hono';
import type { AppEnv, NodeState } from './http/app-env.js';
import { buildApp, createNodeState, nodeStore } from './http/app.js';
import { ConnectionTurns } from './http/connection-turns.js';
import { writeErrorJson } from './http/responses.js';
import { hasSeveralHosts, refuseSeveralHosts } from './http/host-header.js';
import { whenConnectionCloses } from './sockets/connection-close.js';
import { batchFastPath } from './http/routes/batch-fast-path.js';
import type { BatchFastPath, FastPath } from './http/routes/batch-fast-path.js';
import { batchRunner } from './http/routes/batch-ops.js';
import { batchAnswerer } from './http/routes/batch-answer.js';
import { BatchLane } from './http/batch-lane/batch-lane.js';
import { getFastPath } from './http/routes/get-fast-path.js';
import type { Logger } from './observability/logger.js';
import type { ResolvedOptions, ServerOptions } from './options.js';
import { resolveOptions } from './options.js';
import type { MemcachedAddress, MemcachedListener } from './memcached/index.js';
import { listenerSharingFlush } from './memcached/listener.js';
import { exposureWarning, httpExposureWarning } from './memcached/exposure.js';
import type { StoredValue } from './operations/stored-value.js';
import type { ReplicaStore } from './replication/replica-store.js';
import { StallDetector } from './replication/stall-detector.js';
import { HintReplayer } from './replication/hint-replayer.js';
import { clientErrorResponder, requestErrorHandler } from './http/transport-errors.js';
import { observeNode } from './observability/telemetry-metrics.js';
import { traceRequest } from './observability/telemetry-spans.js';

/**
 * Node's own slowloris guards, from the options. Node checks for expired requests only every
 * `connectionsCheckingInterval` (30 s by default), so that is tied to the shortest timeout: a
 * stalled request is dropped, and its body's bytes released, within a quarter of it.
 */
function httpServerLimits(options: ResolvedOptions): {
  headersTimeout: number;
  requestTimeout: number;
  connectionsCheckingInterval: number;
  requireHostHeader: boolean;
} {
  const { headersTimeout, requestTimeout } = options;
  const interval = Math.min(1000, Math.max(10, Math.floor(headersTimeout / 4)));
  // A request without Host still gets its 400, from the adapter, with the JSON error body every
  // other refusal has (Node's own 400 has an empty body).
  return {
    headersTimeout,
    requestTimeout,
    connectionsCheckingInterval: interval,
    requireHostHeader: false,
  };
}

/** Logs failed accepts at most once a second: under an fd flood they come by the thousand. */
function acceptErrorLogger(logger: Logger): (error: Error) => void {
  let last = -Infinity;
  return function onServerError(error) {
    const now = performance.now();
    if (now - last < 1000) return;
    last = now;
    logger.warn(
      'accept_failed',
      `cannot accept connections: ${error.message} (see maxConnections and ulimit -n)`,
    );
  };
}

export interface ListenOptions {
  /** @default "127.0.0.1" (loopback only; pass "0.0.0.0" or "::" to serve other hosts) */
  host?: string;
  /** 0 picks a free port. @default 0 */
  port?: number;
}

/** Where a listening node is reachable. */
export interface ServerAddress {
  host: string;
  port: number;
  /** e.g. `http://127.0.0.1:8001` (https with TLS). */
  url: string;
  /** The memcached protocol listener's address, when `memcachedPort` is set. */
  memcached?: MemcachedAddress;
}

/** One dcache node: the cache, its HTTP app, and a Node (or HTTPS) server around them. */
export class CacheServer {
  readonly #options: ResolvedOptions;
  readonly #cache: LruCache<StoredValue>;
  readonly #replicas: ReplicaStore;
  #stall: StallDetector | undefined;
  readonly #replayer: HintReplayer;
  readonly #app: Hono<AppEnv>;
  readonly #batchFastPath: BatchFastPath;
  readonly #getFastPath: FastPath;
  /** Answers plain-HTTP batches before Node's server sees them (http/batch-lane/). */
  readonly #lane: BatchLane;
  readonly #node: NodeState;
  #server: Server | undefined;
  #memcached: MemcachedListener | undefined;
  #address: ServerAddress | undefined;
  #closing: Promise<void> | undefined;
  /** Settles when the latest listen() has (whether it bound or failed). */
  #starting: Promise<void> | undefined;
  /** A listen() has not settled yet: a second one would bind a second server. */
  #binding = false;
  /** The snapshot file is read once, by the first listen(); a later one keeps the cache as it is. */
  #restored = false;
  /** Responses in progress, so close() can let them finish and then drop their connections. */
  readonly #inFlight = new Set<ServerResponse>();
  /** Stops publishing /metrics through OpenTelemetry (telemetry-metrics.ts); set while listening. */
  #stopMetrics: (() => void) | undefined;

  /** Throws a TypeError/RangeError naming a bad option. */
  constructor(options: ServerOptions = {}) {
    this.#options = resolveOptions(options);
    this.#replicas = nodeStore(this.#options);
    this.#cache = this.#replicas.cache;
    const node = createNodeState(this.#options, this.#replicas);
    this.#node = node;
    const runBatch = batchRunner(node);
    this.#app = buildApp(this.#options, this.#replicas, node, runBatch);
    const answerer = batchAnswerer(node, runBatch);
    this.#batchFastPath = batchFastPath(node, answerer);
    this.#lane = new BatchLane(node, answerer);
    this.#getFastPath = getFastPath(node);
    this.#replayer = new HintReplayer({
      replicas: this.#replicas,
      hints: node.hints,
      logger: node.logger,
      token: this.#options.token,
      intervalMs: this.#options.hintReplayInterval,
      maxBatchOps: this.#options.maxBatchOps,
      maxBatchBytes: this.#options.maxBatchBytes,
    });
  }

  /** The node's one store of replicated writes (over `cache`); the memcached port writes through it. */
  get replicas(): ReplicaStore {
    return this.#replicas;
  }

  /** The node's cache; the memcached listener serves the same one. */
  get cache(): LruCache<StoredValue> {
    return this.#cache;
  }

  get app(): Hono<AppEnv> {
    return this.#app;
  }

  get options(): ResolvedOptions {
    return this.#options;
  }

  /** The bound address while listening. */
  get address(): ServerAddress | undefined {
    return this.#address;
  }

  /** Requests received and not yet answered. */
  get activeRequests(): number {
    return this.#inFlight.size + this.#lane.active;
  }

  /**
   * Starts serving; resolves with the bound address (port 0 → an ephemeral port). Rejects while
   * already listening, or while another listen() is still in progress (never two servers bound).
   */
  listen(options: ListenOptions = {}): Promise<ServerAddress> {
    if (this.#binding) {
      return Promise.reject(
        new Error('CacheServer.listen() is already in progress; await it before listening again'),
      );
    }
    this.#binding = true;
    const starting = this.#listen(options).finally(() => {
      this.#binding = false;
    });
    // close() waits for this: a port bound after it returned would stay bound.
    const settled = starting.then(
      () => undefined,
      () => undefined,
    );
    this.#starting = settled;
    return starting;
  }

  async #listen({ host = '127.0.0.1', port = 0 }: ListenOptions): Promise<ServerAddress> {
    if (this.#server) throw new Error('CacheServer is already listening; close() it first');
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(`port must be an integer from 0 to 65535, got ${port}`);
    }
    if (!this.#restored) {
      this.#restored = true;
      await this.#node.snapshot?.restore();
    }
    const tls = this.#options.tls;
    // What @hono/node-server's createAdaptorServer does, with the GET and batch fast paths in front.
    const hono = getRequestListener(this.#app.fetch, {
      errorHandler: requestErrorHandler(this.#node),
    });
    const getFast = this.#getFastPath;
    const batchFast = this.#batchFastPath;
    const nodeId = this.#options.nodeId;
    const budget = this.#node.bodyBudget;
    const turns = new ConnectionTurns((error) => {
      this.#node.logger.error(
        'request_error',
        `serving a request failed: ${error instanceof Error ? (error.stack ?? '') : String(error)}`,
      );
    });
    /** Connections answered with a closing refusal: what was pipelined behind it is not run. */
    const refused = new WeakSet<object>();
    /** Serves one request; a promise when it finishes later (see ConnectionTurns). */
    const serve = (req: IncomingMessage, res: ServerResponse): PromiseLike<unknown> | undefined => {
      // Its client left while it waited its turn: nobody to answer, and a body reader started now
      // would wait for events that have already passed.
      if (req.socket.destroyed || res.closed || refused.has(req.socket)) return undefined;
      if (hasSeveralHosts(req.rawHeaders)) {
        refused.add(req.socket);
        refuseSeveralHosts(this.#node, req, res);
        return undefined;
      }
      if (getFast(req, res)) return undefined;
      const batch = batchFast(req, res);
      if (batch !== false) return batch;
      // Whatever a route's answer left unsent (a listing page, /metrics, an error; GETs of values
      // and batches hold theirs already) is held in the budget, or a client pipelining such
      // requests without reading would make the node hold their answers past it.
      return hono(req, res).then(() => budget.holdUnflushed(res));
    };
    const listener = (req: IncomingMessage, res: ServerResponse): void => {
      // Tracked first: the fast paths (and synchronous routes) send their headers right away.
      this.#track(res);
      traceRequest(req, res, nodeId);
      turns.take(req.socket, () => serve(req, res));
    };
    const limits = httpServerLimits(this.#options);
    const server: Server = tls
      ? (createHttpsServer(
          // HTTP's timeouts start once the TLS handshake is done: before, only this one counts
          // (Node's default is 120 s), so a connection that never finishes it is a slowloris too.
          { cert: tls.cert, key: tls.key, handshakeTimeout: limits.headersTimeout, ...limits },
          listener,
        ) as unknown as Server)
      : createHttpServer(limits, listener);
    // Over TLS, Node's server reads every request: the lane's gain is small beside TLS's cost.
    if (!tls) this.#lane.install(server);
    server.keepAliveTimeout = this.#options.keepAliveTimeout;
    // Every header field reaches the routes (the head stays within maxHeaderSize): by default
    // Node drops those past about a thousand, and a second Host there would go unseen.
    server.maxHeadersCount = 0;
    server.maxConnections = this.#options.maxConnections;
    server.on('clientError', clientErrorResponder(this.#node));
    // Any Expect but 100-continue: Node's own 417 has an empty body.
    server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
      this.#track(res);
      this.#node.metrics.recordError(417);
      writeErrorJson(res, 417, 'expectation_failed', 'only Expect: 100-continue is supported');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // After listening, an 'error' is a failed accept that libuv could not absorb (it closes what it
    // has no descriptor for, EMFILE, by itself): without a listener it would crash the node.
    server.on('error', acceptErrorLogger(this.#node.logger));
    this.#server = server;
    this.#closing = undefined;
    const bound = server.address() as AddressInfo;
    this.#node.hosts.listeningOn(bound.address);
    const shownHost = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
    const address: ServerAddress = {
      host: bound.address,
      port: bound.port,
      url: `${tls ? 'https' : 'http'}://${shownHost}:${bound.port}`,
    };
    const open = httpExposureWarning(address.url, address.host, this.#options.token !== undefined);
    if (open !== undefined) this.#node.logger.warn('http_no_token', open);
    const { tombstoneGrace, maxHintAge } = this.#options;
    if (tombstoneGrace <= maxHintAge) {
      // A hint may be replayed after the tombstone of a later delete of its key is gone here and
      // on the target: the older value it carries would then come back. Said once, not refused:
      // a short grace is a deliberate choice in tests and single-node set-ups.
      this.#node.logger.warn(
        'tombstone_grace_short',
        `--tombstone-grace (${tombstoneGrace} ms) should outlast --max-hint-age (${maxHintAge} ms): a hint replayed after a delete's tombstone expired can bring the deleted value back`,
      );
    }
    const memcachedPort = this.#options.memcachedPort;
    if (memcachedPort !== undefined) {
      const credentials = this.#options.memcachedCredentials;
      if (this.#options.token !== undefined && credentials === undefined) {
        // memcached's protocol has no place for the token: say so, once.
        this.#node.logger.warn(
          'memcached_no_auth',
          'the memcached port does not check --token (it has --memcached-auth-file): anyone who can reach it reads and writes the cache',
        );
      }
      const listener = listenerSharingFlush(
        {
          cache: this.#replicas,
          maxKeyBytes: this.#options.maxKeyBytes,
          maxValueBytes: this.#options.maxValueBytes,
          maxConnections: this.#options.memcachedMaxConnections,
          maxUnsentBytes: this.#options.memcachedMaxUnsentBytes,
          // What bounds HTTP bodies in flight bounds the port's input, in a pool of its own.
          maxInputBytes: this.#options.maxInflightBodyBytes,
          inputTimeoutMs: this.#options.requestTimeout,
          ...(credentials ? { credentials } : {}),
          ...(this.#options.memcachedTls && tls ? { tls } : {}),
          idleTimeoutMs: this.#options.idleTimeout,
          ...(this.#options.now ? { now: this.#options.now } : {}),
        },
        // One flush time for both front doors: the latest flush request of either protocol wins.
        this.#node.flush,
      );
      try {
        address.memcached = await listener.listen({
          host: this.#options.memcachedHost,
          port: memcachedPort,
        });
      } catch (error) {
        // Both front doors or neither: a node half up would confuse its operator.
        await new Promise<void>((resolve) => server.close(() => resolve()));
        this.#server = undefined;
        throw error;
      }
      this.#memcached = listener;
      const exposed = exposureWarning(address.memcached, credentials !== undefined);
      if (exposed !== undefined) this.#node.logger.warn('memcached_exposed', exposed);
    }
    this.#address = address;
    this.#stopMetrics ??= observeNode(this.#node);
    this.#startStallDetector();
    this.#replayer.start();
    return address;
  }

  /**
   * Fences the node after an event-loop stall (SIGSTOP, a frozen VM) once it is part of a cluster
   * (ReplicaStore.stalled): another node may have taken writes it missed.
   */
  #startStallDetector(): void {
    const threshold = this.#options.stallThreshold;
    if (threshold === 0 || this.#stall !== undefined) return;
    const replicas = this.#replicas;
    const logger = this.#node.logger;
    const stall = new StallDetector({
      thresholdMs: threshold,
      onStall: (gap) => {
        const stopped = `the event loop stopped for ${Math.round(gap)} ms (SIGSTOP, a frozen VM?)`;
        if (replicas.stalled()) {
          logger.warn(
            'stalled',
            `${stopped}: entries held now are unverified until a peer replica vouches for them`,
          );
        } else {
          logger.warn(
            'stalled',
            `${stopped}: no client has spread keys over this node and others, so no other node took its writes meanwhile; nothing fenced`,
          );
        }
      },
    });
    stall.start();
    replicas.beforeRead = () => stall.check();
    this.#stall = stall;
  }

  /** The memcached listener's live counters, when `memcachedPort` is set and listening. */
  get memcached(): MemcachedListener | undefined {
    return this.#memcached;
  }

  #track(res: ServerResponse): void {
    // A request arriving while closing gets its answer, then its connection is closed.
    // Headers already sent cannot change: throwing here would crash the process.
    if (this.#closing && !res.headersSent) res.setHeader('connection', 'close');
    this.#inFlight.add(res);
    const done = (): void => {
      if (!this.#inFlight.delete(res)) return;
      res.off('close', done);
      stopWaiting();
      if (this.#closing) this.#server?.closeIdleConnections();
    };
    res.once('close', done);
    // A response queued behind another one (pipelining) never closes if its connection goes first.
    const stopWaiting = whenConnectionCloses(res.req.socket, done);
  }

  /**
   * A flush already due is applied (a request now would have seen it; the snapshot saved next must
   * not hold what it wiped); one still pending is dropped: a stopped node is never flushed later,
   * and no timer outlives it (memcached's pending flush likewise ends with its process).
   */
  #stopFlush(): void {
    this.#node.flush.settle();
    this.#node.flush.cancel();
  }

  /**
   * Graceful stop: refuses new connections, lets in-flight requests finish (up to `closeTimeout`
   * ms, then cuts them), closes idle keep-alive connections, then — with `snapshotFile` — saves
   * the snapshot, once nothing can write any more. Safe to call twice. Rejects with a
   * SnapshotError when the snapshot cannot be saved (the node is closed all the same, and the
   * previous file intact).
   */
  close(): Promise<void> {
    const starting = this.#starting;
    if (starting !== undefined) {
      return starting.then(() => {
        if (this.#starting === starting) this.#starting = undefined;
        return this.close();
      });
    }
    const server = this.#server;
    if (!server) {
      this.#stopFlush();
      return Promise.resolve();
    }
    const memcached = this.#memcached;
    this.#memcached = undefined;
    const memcachedClosed = memcached ? memcached.close() : Promise.resolve();
    this.#closing ??= new Promise<void>((resolve) => {
      this.#lane.closing = true;
      const timer = setTimeout(() => {
        server.closeAllConnections();
        this.#lane.closeAll();
      }, this.#options.closeTimeout);
      timer.unref();
      server.close(() => {
        clearTimeout(timer);
        this.#lane.closing = false;
        this.#server = undefined;
        this.#address = undefined;
        void memcachedClosed.then(() => {
          this.#stopMetrics?.();
          this.#stopMetrics = undefined;
          // Last, once no request can set it again.
          this.#stopFlush();
          this.#stall?.stop();
          this.#replayer.stop();
          this.#stall = undefined;
          resolve();
        });
      });
      for (const res of this.#inFlight) {
        if (!res.headersSent) res.setHeader('connection', 'close');
      }
      server.closeIdleConnections();
      this.#lane.closeIdle();
    }).then(() => this.#node.snapshot?.save().then(() => undefined));
    return this.#closing;
  }
}
