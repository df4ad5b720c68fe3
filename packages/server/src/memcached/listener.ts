import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { SecureContext } from 'node:tls';
import { MemcachedConnection } from './connection.js';
import type { ConnectionLimits } from './connection.js';
import { MemcachedCounters } from './counters.js';
import { FlushScheduler } from './flush-scheduler.js';
import { InputBudget } from './input-budget.js';
import type { MemcachedStats } from './counters.js';
import type { NodeFlush } from '../operations/node-flush.js';
import { resolveOptions } from './options.js';
import type { MemcachedListenerOptions } from './options.js';
import type { ProtocolShared } from './session.js';
import { adoptWithSharedReadBuffer } from '../sockets/shared-buffer-reads.js';
import { ProtocolStore } from './store.js';
import { UnsentBudget } from './unsent-budget.js';
import { StallDetector } from '../replication/stall-detector.js';

/** One read buffer for all of a listener's connections (see adoptWithSharedReadBuffer). */
const READ_BUFFER_BYTES = 64 * 1024;

export interface MemcachedAddress {
  host: string;
  port: number;
}

export interface MemcachedListener {
  /** Starts accepting connections; port 0 picks a free port. Resolves with the bound address. */
  listen(options?: { host?: string; port?: number }): Promise<MemcachedAddress>;
  /** Stops accepting, flushes and closes every connection, and resolves once all are closed. */
  close(): Promise<void>;
  /** Live counters (curr_connections, total_connections, cmd_get, cmd_set, …). */
  readonly stats: MemcachedStats;
  /** The bound address, once listening. */
  readonly address: MemcachedAddress | undefined;
  /** Reply bytes the connections hold unsent, as last reported (see UnsentBudget). */
  readonly unsentBytes: number;
  /** Input bytes the connections hold across reads (see InputBudget). */
  readonly inputBytes: number;
}

/**
 * A memcached text + meta protocol front door over a dcache node's cache. The same cache can be
 * served over HTTP at the same time; values keep their bytes and 32-bit client flags either way.
 */
export function createMemcachedListener(options: MemcachedListenerOptions): MemcachedListener {
  return listenerSharingFlush(options, undefined);
}

/**
 * {@link createMemcachedListener} whose `flush_all` sets `nodeFlush`, the flush time the node's
 * HTTP side shares (CacheServer), so the latest flush request of either protocol wins; its owner
 * cancels it. Without one, the listener keeps its own and cancels it when closed.
 */
export function listenerSharingFlush(
  options: MemcachedListenerOptions,
  nodeFlush: NodeFlush | undefined,
): MemcachedListener {
  const o = resolveOptions(options);
  const counters = new MemcachedCounters();
  const store = new ProtocolStore(o.cache, o.now, nodeFlush);
  const shared: ProtocolShared = {
    store,
    counters,
    cache: store.cache,
    maxKeyBytes: o.maxKeyBytes,
    maxValueBytes: o.maxValueBytes,
    maxConnections: o.maxConnections,
    version: o.version,
    now: o.now,
    startedAt: performance.now(),
  };
  const connections = new Set<MemcachedConnection>();
  let server: Server | undefined;
  let address: MemcachedAddress | undefined;
  let closing: Promise<void> | undefined;

  const readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  const flushes = new FlushScheduler();
  const budget = new UnsentBudget(o.maxUnsentBytes);
  const input = new InputBudget(o.maxInputBytes);
  const limits: ConnectionLimits = {
    budget,
    input,
    inputTimeoutMs: o.inputTimeoutMs,
    ...(o.credentials ? { credentials: o.credentials } : {}),
  };
  const secureContext = o.secureContext;
  // A connection is idle when it took nothing over a period the node ran through. While the node's
  // own event loop stood still (GC, a CPU-starved machine, SIGSTOP) the client had nothing to take,
  // and the first look after such a stall comes before the I/O that shows it reading again: a look
  // within one idle period of a stall of half the timeout or more waits one period more.
  let lastStallAt = Number.NEGATIVE_INFINITY;
  const stalls =
    o.idleTimeoutMs > 0
      ? new StallDetector({
          thresholdMs: o.idleTimeoutMs / 2,
          intervalMs: Math.max(1, Math.min(100, Math.floor(o.idleTimeoutMs / 4))),
          onStall: () => (lastStallAt = performance.now()),
        })
      : undefined;
  const stalledLately = (): boolean => {
    stalls?.check();
    return performance.now() - lastStallAt < o.idleTimeoutMs;
  };

  const accept = (accepted: Socket): void => {
    if (closing !== undefined || counters.curr_connections >= o.maxConnections) {
      counters.rejected_connections++;
      accepted.on('error', () => {});
      // Accepted paused: read (and drop) input so the peer's FIN is seen and the socket closes;
      // a peer that never closes its side is cut off after closeTimeoutMs. In plain text even on
      // a TLS port, before any handshake, as memcached does: refusing costs no TLS work.
      accepted.resume();
      accepted.end('ERROR Too many open connections\r\n');
      const cutOff = setTimeout(() => accepted.destroy(), o.closeTimeoutMs);
      cutOff.unref();
      accepted.once('close', () => clearTimeout(cutOff));
      return;
    }
    counters.curr_connections++;
    counters.total_connections++;
    // Reads start only on a later tick, after `connection` below exists.
    const receive = (chunk: Buffer): void => connection.receive(chunk);
    let socket: Socket;
    let adopted: Socket | undefined;
    if (secureContext !== undefined) {
      socket = secureSocket(accepted, secureContext, o.tlsHandshakeTimeoutMs);
    } else {
      adopted = o.sharedReadBuffer
        ? adoptWithSharedReadBuffer(accepted, readBuffer, receive)
        : undefined;
      socket = adopted ?? accepted;
    }
    // A socket read through the shared buffer is written straight to its handle too.
    const connection = new MemcachedConnection(
      socket,
      shared,
      flushes,
      limits,
      adopted !== undefined,
    );
    if (adopted === undefined) {
      socket.on('data', receive);
      socket.resume();
    }
    connections.add(connection);
    if (o.idleTimeoutMs > 0) {
      // Node runs a timeout callback once: re-armed with it while a long reply is still moving.
      const onIdle = (): void => {
        const moving = connection.sending(); // always asked: it starts the next period's count
        if (moving || stalledLately()) {
          socket.setTimeout(o.idleTimeoutMs, onIdle);
          return;
        }
        counters.idle_kicks++;
        socket.destroy();
      };
      socket.setTimeout(o.idleTimeoutMs, onIdle);
    }
    socket.once('close', () => {
      connections.delete(connection);
      counters.curr_connections--;
    });
  };

  const closeAll = async (): Promise<void> => {
    const srv = server;
    const serverClosed = new Promise<void>((resolve) => {
      if (srv === undefined || !srv.listening) resolve();
      else srv.close(() => resolve());
    });
    const open = [...connections];
    const socketsClosed = open.map(
      (conn) => new Promise<void>((resolve) => conn.socket.once('close', () => resolve())),
    );
    for (const conn of open) conn.end();
    const timer = setTimeout(() => {
      for (const conn of open) conn.socket.destroy();
    }, o.closeTimeoutMs);
    timer.unref();
    await Promise.all([serverClosed, ...socketsClosed]);
    clearTimeout(timer);
    // No flush after close, and no timer holding on to the cache.
    store.close();
    stalls?.stop();
  };

  return {
    listen({ host = '127.0.0.1', port = 0 } = {}) {
      if (server !== undefined)
        return Promise.reject(new Error('memcached listener: already listening'));
      // Paused, so that a connection can be re-wrapped before its first read.
      const srv = createServer({ pauseOnConnect: true }, accept);
      server = srv;
      return new Promise<MemcachedAddress>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(port, host, () => {
          srv.off('error', reject);
          const info = srv.address() as AddressInfo;
          address = { host: info.address, port: info.port };
          stalls?.start();
          resolve(address);
        });
      });
    },
    close() {
      closing ??= closeAll();
      return closing;
    },
    get stats() {
      return counters;
    },
    get address() {
      return address;
    },
    get unsentBytes() {
      return budget.total;
    },
    get inputBytes() {
      return input.total;
    },
  };
}

/**
 * Wraps an accepted connection in a server-side TLS session. A client that has not finished its
 * handshake in `timeoutMs` is cut off: it holds a connection slot.
 */
function secureSocket(
  accepted: Socket,
  secureContext: SecureContext,
  timeoutMs: number,
): TLSSocket {
  const socket = new TLSSocket(accepted, { isServer: true, secureContext });
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  timer.unref();
  socket.once('secure', () => clearTimeout(timer));
  socket.once('close', () => clearTimeout(timer));
  // Handshake failures (a plain-text client, a bad certificate) end the socket; 'close' cleans up.
  socket.on('error', () => {});
  return socket;
}
