// Test helpers: real @dcache/server nodes on 127.0.0.1 port 0, a node that never answers, and
// bounded polling instead of sleeps.
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { CacheServer } from '@dcache/server';
import type { ServerOptions } from '@dcache/server';
import { DistributedCacheClient } from '../src/index.js';
import type { ClientOptions, NodeSpec } from '../src/index.js';

/**
 * In-process nodes share the test's event loop, whose pauses (GC, module transforms, a loaded
 * machine) are not the node's stalls: they would fence every node at once and turn reads into
 * misses. Stalls are tested on CLI nodes (the fault helper), which pause for real.
 */
const QUIET: ServerOptions = { logLevel: 'silent', closeTimeout: 200, stallThreshold: 0 };

export class TestNode {
  server: CacheServer;
  readonly url: string;
  readonly port: number;
  readonly #options: ServerOptions;

  private constructor(server: CacheServer, url: string, port: number, options: ServerOptions) {
    this.server = server;
    this.url = url;
    this.port = port;
    this.#options = options;
  }

  static async start(options: ServerOptions = {}, port = 0): Promise<TestNode> {
    const merged = { ...QUIET, ...options };
    const server = new CacheServer(merged);
    const address = await server.listen({ host: '127.0.0.1', port });
    return new TestNode(server, address.url, address.port, merged);
  }

  /** Stops the node; its data is gone, as when a process dies. */
  kill(): Promise<void> {
    return this.server.close();
  }

  /** A fresh, empty node on the same port (a restarted process). */
  async restart(): Promise<void> {
    const server = new CacheServer(this.#options);
    await server.listen({ host: '127.0.0.1', port: this.port });
    this.server = server;
  }

  /** `POST /v1/batch` requests this node has served so far (from its `/v1/stats`). */
  async batchRequests(): Promise<number> {
    const headers: Record<string, string> = {};
    if (this.#options.token !== undefined) headers.authorization = `Bearer ${this.#options.token}`;
    const response = await fetch(`${this.url}/v1/stats`, { headers });
    const stats = (await response.json()) as { requests: Record<string, number> };
    return stats.requests.batch ?? 0;
  }

  /**
   * A key's entry on this node only, read straight from its cache (no LRU or stats effect);
   * undefined for a tombstone (a delete's record), which every read answers as a miss.
   */
  entry(key: string) {
    const entry = this.server.cache.peekEntry(key);
    return entry?.value.tombstone === true ? undefined : entry;
  }
}

export interface TestCluster {
  nodes: TestNode[];
  urls: string[];
  close(): Promise<void>;
}

/** `count` nodes; `close()` stops every one still running. */
export async function startCluster(count = 3, options: ServerOptions = {}): Promise<TestCluster> {
  const nodes = await Promise.all(Array.from({ length: count }, () => TestNode.start(options)));
  return {
    nodes,
    urls: nodes.map((node) => node.url),
    close: async () => {
      await Promise.all(nodes.map((node) => node.kill()));
    },
  };
}

/** Binds `server` (net or http) to 127.0.0.1 on an ephemeral port; resolves to its base URL. */
export async function listenOnLoopback(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/**
 * A TCP server that accepts connections and never answers: the worst kind of dead node.
 *
 * It counts what it has taken in, which lives in this process's event loop: a connection or a
 * request the client sent is counted only when the loop next polls for I/O. A loop held up past
 * the client's timeout runs that timer first, so the caller learns of the timeout before the
 * count moves; `settled()` lets the loop poll first. After a request times out, undici may open a
 * fresh connection in place of the one it gave up, on its own schedule: that one carries no
 * request, so "was the node tried" is `requests()`, not `connections()`.
 */
export async function startBlackHole(): Promise<{
  url: string;
  /** Connections accepted, including idle ones that never carried a request. */
  connections: () => number;
  /**
   * Requests that arrived (one per connection: nothing is answered, so nothing follows it) whose
   * request line starts with `prefix` (`'POST /v1/batch'`); every request without one.
   */
  requests: (prefix?: string) => number;
  /** Connections the client has closed. */
  closed: () => number;
  /** Connections a request arrived on that are still open. */
  openRequests: () => number;
  /** Resolves once the loop has polled for I/O: what the client sent before now is counted. */
  settled: () => Promise<void>;
  close: () => Promise<void>;
}> {
  const sockets = new Set<Socket>();
  const carrying = new Set<Socket>();
  let accepted = 0;
  const requestLines: string[] = [];
  const server: Server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.once('data', (chunk: Buffer) => {
      const end = chunk.indexOf('\r\n');
      requestLines.push(chunk.toString('latin1', 0, end === -1 ? chunk.length : end));
      carrying.add(socket);
    });
    socket.on('close', () => {
      sockets.delete(socket);
      carrying.delete(socket);
    });
    socket.on('error', () => undefined);
  });
  const url = await listenOnLoopback(server);
  return {
    url,
    connections: () => accepted,
    requests: (prefix = '') => requestLines.filter((line) => line.startsWith(prefix)).length,
    closed: () => accepted - sockets.size,
    openRequests: () => carrying.size,
    // Two turns: the first may start in a poll phase whose events were gathered before now.
    settled: async () => {
      for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Polls `condition` every `intervalMs` until it holds; fails after `timeoutMs`. No fixed sleeps. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  { timeoutMs = 5000, intervalMs = 10 } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Where each key landed: which test nodes hold it right now. */
export function holders(nodes: readonly TestNode[], key: string): string[] {
  return nodes.filter((node) => node.entry(key) !== undefined).map((node) => node.url);
}

/**
 * A client for tests that are not about timeouts: a generous timeout so that a loaded CI machine
 * (nodes share the event loop with the test) cannot turn into a spurious failover.
 */
export function connect(
  nodes: readonly NodeSpec[],
  options: ClientOptions = {},
): DistributedCacheClient {
  return new DistributedCacheClient(nodes, { timeout: 10_000, ...options });
}

/**
 * An HTTP proxy in front of `target` that, while holding, keeps every answer back until
 * `release()`: a replica that is reachable but slower than the others, on the test's command. It
 * starts holding. `target` may be a function, for a node restarted on a new port; answers keep the
 * node's content type and its `Dcache-*` headers (clock, start).
 */
export async function startHoldingProxy(target: string | (() => string)): Promise<{
  url: string;
  /** Answers kept back right now. */
  held: () => number;
  /** Sends the oldest answer kept back; later ones are still held. */
  releaseOne: () => void;
  /** Sends the answers kept back, and every later one at once. */
  release: () => void;
  /**
   * Drops the connection of the next request whose path starts with `path` once the node has
   * answered it: a request the node carried out whose answer the client never gets.
   */
  loseNextAnswer: (path: string) => void;
  /** The status the node answered each request whose path starts with `path`, in order. */
  statuses: (path: string) => number[];
  close: () => Promise<void>;
}> {
  let waiting: (() => void)[] | undefined = [];
  let losing: string | undefined;
  const answered: { path: string; status: number }[] = [];
  const server = createHttpServer((request, response) => {
    const path = request.url ?? '/';
    const lose = losing !== undefined && path.startsWith(losing);
    if (lose) losing = undefined;
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const base = typeof target === 'string' ? target : target();
      fetch(`${base}${path}`, {
        method: request.method,
        headers: request.headers as Record<string, string>,
        body: chunks.length === 0 ? undefined : Buffer.concat(chunks),
      })
        .then(async (answer) => {
          const body = Buffer.from(await answer.arrayBuffer());
          answered.push({ path, status: answer.status });
          if (lose) {
            request.socket.destroy();
            return;
          }
          const headers: Record<string, string> = {
            'content-type': answer.headers.get('content-type') ?? '',
          };
          for (const [name, value] of answer.headers) {
            if (name.startsWith('dcache-') || name === 'retry-after') headers[name] = value;
          }
          const send = (): void => {
            response.writeHead(answer.status, headers);
            response.end(body);
          };
          if (waiting === undefined) send();
          else waiting.push(send);
        })
        // The node is gone (killed by the test): the client sees its connection drop.
        .catch(() => request.socket.destroy());
    });
  });
  const url = await listenOnLoopback(server);
  return {
    url,
    held: () => waiting?.length ?? 0,
    releaseOne: () => waiting?.shift()?.(),
    release: () => {
      const sends = waiting ?? [];
      waiting = undefined;
      for (const send of sends) send();
    },
    loseNextAnswer: (prefix) => {
      losing = prefix;
    },
    statuses: (prefix) =>
      answered.filter((entry) => entry.path.startsWith(prefix)).map((entry) => entry.status),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
