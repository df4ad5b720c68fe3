import ky, { isTimeoutError } from 'ky';
import type { KyInstance, Options } from 'ky';
import type { LookupFunction } from 'node:net';
import { Agent } from 'undici';
import { exchange, newWire } from './batch-exchange.js';
import { bodyOf, dispatcherFetch } from './dispatcher-fetch.js';
import { isNodeRequestError, NodeRequestError } from './errors/node-request-error.js';
import { NodeTimeoutError } from './errors/node-timeout-error.js';
import { MAX_BATCHES_IN_FLIGHT } from './options.js';
import type { TlsOptions } from './tls-options.js';
import { decodeBatch, encodeBatch } from './wire.js';
import type { BatchOp, BatchResult } from './wire.js';
import type { RawAnswer, Wire } from './batch-exchange.js';

const utf8 = new TextDecoder();

export interface TransportOptions {
  timeout: number;
  token: string | undefined;
  /** For `https:` nodes: handed to `tls.connect` with the connect timeout. */
  tls: TlsOptions | undefined;
  /** Told the node's clock (`Dcache-Clock`) of every batch answer that carries one. */
  observeClock?: (stamp: number) => void;
  /** Told each node's start (`Dcache-Start`) of every batch answer that carries one. */
  observeStart?: (node: string, start: string) => void;
  /** Where node hosts are found (DNS discovery's addresses); the system resolver when undefined. */
  lookup?: LookupFunction | undefined;
}

/**
 * Tells each node how many nodes this client spreads keys over, on every batch: from two, a node
 * fences itself after an event-loop stall, since another node may have stood in for it meanwhile;
 * a node only ever used alone keeps what it holds (the server's ReplicaStore.noteRingNodes).
 */
const RING_NODES_HEADER = 'dcache-ring-nodes';

/** Where a node's batches go, worked out once per node. */
interface BatchTarget {
  origin: string;
  path: string;
  timedOut: (waitedForConnection: boolean) => NodeTimeoutError;
  wire: Wire;
}

/** Nodes whose batch target is kept (a client talks to a handful; DNS churn must not grow it). */
const MAX_BATCH_TARGETS = 1024;

/**
 * The batches' Agent: at most as many connections per node as batches may be in flight to it
 * (`maxBatchesInFlight`'s ceiling, and the one of hint hand-offs). With `batch: false` every
 * operation is a batch of its own, and a burst of thousands would otherwise open as many sockets,
 * whose setting up alone can outlast `timeout` and get healthy nodes marked down; past the limit
 * they wait for a connection, as memjs's and ioredis's commands wait for their one.
 */
function batchAgent(options: Agent.Options): Agent {
  return new Agent({ ...options, connections: BATCH_CONNECTIONS });
}

/** The batches' connections per node (see `batchAgent`). */
const BATCH_CONNECTIONS = MAX_BATCHES_IN_FLIGHT + 1;

/**
 * The HTTP layer over two private keep-alive undici Agents. The batched data path (`batch`) talks
 * to its Agent's dispatcher directly (batch-exchange.ts): a WHATWG Request built by ky and
 * answered from its hook cost more per batch than the rest of the exchange. Every other request
 * (stats, fence, health) goes through one ky instance (created once, not per request) answered by
 * the other Agent (see dispatcher-fetch.ts), so batch connections carry only batches. No retries (failover is the cluster's job, not the
 * request's); HTTP errors become NodeRequestError here rather than through ky's HTTPError. The
 * timeout bounds the whole exchange: the body is read before the answer resolves.
 */
export class Transport {
  #agent: Agent;
  /**
   * Batches' own connections: a node's batch lane answers a connection that carries only batches
   * without Node's HTTP server, and hands one to that server for good at its first other request
   * (a stats call, a health probe), so those go through `#agent`.
   */
  #batchAgent: Agent;
  readonly #agentOptions: Agent.Options;
  /** Agents replaced by `reconnect`, closing once what was sent on them is answered. */
  readonly #retiring = new Set<Promise<void>>();
  readonly #http: KyInstance;
  readonly #timeout: number;
  readonly #observeClock: ((stamp: number) => void) | undefined;
  readonly #observeStart: ((node: string, start: string) => void) | undefined;
  /** A batch's headers without the ring's node count. */
  readonly #batchBase: Record<string, string>;
  /** `#batchBase` and the ring's node count: replaced, never changed, when the ring changes. */
  #batchHeaders: Record<string, string>;
  readonly #batchTargets = new Map<string, BatchTarget>();
  /** The batches' Agent now: a batch waiting for a connection goes out on the one current then. */
  readonly #currentBatchAgent = (): Agent => this.#batchAgent;

  constructor(options: TransportOptions) {
    this.#timeout = options.timeout;
    this.#observeClock = options.observeClock;
    this.#observeStart = options.observeStart;
    // Connecting is bounded by the same timeout as the exchange (see dispatcher-fetch.ts). The
    // TLS fields go to tls.connect for https: nodes (undici ignores them for http: ones).
    const agentOptions: Agent.Options = {
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 600_000,
      connect: {
        ...options.tls,
        timeout: options.timeout,
        ...(options.lookup && { lookup: options.lookup }),
      },
    };
    this.#agentOptions = agentOptions;
    this.#agent = new Agent(agentOptions);
    this.#batchAgent = batchAgent(agentOptions);
    // Set once on the instance: per-request headers cost ky a merge on every call. Batches carry
    // no Accept (a batch is answered in msgpack whatever it says): undici checks every header of
    // every request, and the ring's node count takes its place.
    const batchHeaders: Record<string, string> = { 'content-type': 'application/msgpack' };
    if (options.token !== undefined) batchHeaders.authorization = `Bearer ${options.token}`;
    this.#batchBase = batchHeaders;
    this.#batchHeaders = batchHeaders;
    const headers = { ...batchHeaders, accept: 'application/msgpack, application/json' };
    const exchange = dispatcherFetch(() => this.#agent, options.timeout);
    this.#http = ky.create({
      retry: 0,
      // The adapter bounds the whole exchange itself, with ky's TimeoutError (dispatcher-fetch.ts).
      timeout: false,
      throwHttpErrors: false,
      headers,
      // The exchange runs from ky's (only) beforeRequest hook, which ky documents as the way to
      // answer a request with a Response of one's own, rather than from its `fetch` option: on the
      // way to `fetch`, ky clones the Request for retries — which are off — and that clone (a new
      // AbortController tied to the original's signal) was a third of ky's cost per request on
      // Node 20 (~130 → ~90 µs with an exchange that answers at once; `node bench/request-cost.js`).
      // Everything else stays ky's: the URL, method and headers of the Request it built, and the
      // answer's path back through it.
      hooks: { beforeRequest: [(request, init) => exchange(request, init)] },
    });
  }

  /** How many nodes the client's ring holds now (told to nodes on every batch). */
  ringNodes(count: number): void {
    this.#batchHeaders =
      count >= 2 ? { ...this.#batchBase, [RING_NODES_HEADER]: `${count}` } : this.#batchBase;
  }

  /**
   * Sends one `POST /v1/batch`; resolves to one result per op, in order. `timeout` (ms) bounds it
   * when less than the client's is left (its operations waited in a queue).
   */
  async batch(
    node: string,
    ops: readonly BatchOp[],
    timeout = this.#timeout,
  ): Promise<BatchResult[]> {
    const target = this.#batchTarget(node);
    let answer: RawAnswer;
    try {
      answer = await exchange(this.#currentBatchAgent, {
        origin: target.origin,
        path: target.path,
        method: 'POST',
        headers: this.#batchHeaders,
        body: encodeBatch(ops),
        timeout,
        timedOut: target.timedOut,
        wire: target.wire,
      });
    } catch (cause) {
      if (isNodeRequestError(cause)) throw cause;
      throw new NodeRequestError(node, `request failed: ${describe(cause)}`, { cause });
    }
    if (answer.status < 200 || answer.status > 299) {
      throw httpError(node, answer.status, answer.body, answer.retryAfter);
    }
    if (answer.clock !== undefined && this.#observeClock !== undefined) {
      this.#observeClock(answer.clock);
    }
    if (answer.start !== undefined && this.#observeStart !== undefined) {
      try {
        this.#observeStart(node, answer.start);
      } catch {
        // The batch was applied: what the client does about a restart must not fail its answer.
      }
    }
    let results: BatchResult[] | undefined;
    try {
      results = decodeBatch(answer.body, ops.length);
    } catch (cause) {
      throw new NodeRequestError(node, 'unreadable batch response', { cause });
    }
    if (results === undefined) {
      throw new NodeRequestError(node, `batch response does not hold ${ops.length} results`);
    }
    return results;
  }

  #batchTarget(node: string): BatchTarget {
    let target = this.#batchTargets.get(node);
    if (target === undefined) {
      const url = new URL(`${node}/v1/batch`);
      const timedOut = (waitedForConnection: boolean): NodeTimeoutError =>
        new NodeTimeoutError(node, this.#timeout, { waitedForConnection });
      target = {
        origin: url.origin,
        path: url.pathname + url.search,
        timedOut,
        wire: newWire(BATCH_CONNECTIONS),
      };
      if (this.#batchTargets.size < MAX_BATCH_TARGETS) this.#batchTargets.set(node, target);
    }
    return target;
  }

  /** `GET <path>` as JSON (used for /v1/stats). */
  async json(node: string, path: string): Promise<unknown> {
    const response = await this.#request(node, `${node}${path}`, { method: 'get' });
    try {
      return JSON.parse(utf8.decode(await bodyOf(response))) as unknown;
    } catch (cause) {
      throw new NodeRequestError(node, `${path} did not answer JSON`, { cause });
    }
  }

  /**
   * `POST <path>` with no body (admin routes: fence, restore claim); resolves to the answer's
   * headers, rejects unless 2xx.
   */
  async post(node: string, path: string): Promise<Headers> {
    const response = await this.#request(node, `${node}${path}`, { method: 'post' });
    await bodyOf(response);
    return response.headers;
  }

  /** True when `GET /healthz` answers 2xx within the timeout. */
  async healthy(node: string): Promise<boolean> {
    try {
      await this.#request(node, `${node}/healthz`, { method: 'get' });
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Gives up every kept-alive connection: the next requests connect anew, asking `lookup` where
   * each node is. For a node found at a new address (a pod restarted elsewhere) while its old
   * process still answers at the old one: a connection kept open to it would go on carrying writes
   * there, which the node at the new address — the one everybody else now reads — never sees.
   * What was already sent finishes on the old connections, which then close.
   */
  reconnect(): void {
    const retired = [this.#agent, this.#batchAgent];
    this.#agent = new Agent(this.#agentOptions);
    this.#batchAgent = batchAgent(this.#agentOptions);
    const closing = Promise.all(retired.map((agent) => agent.close())).then(
      () => undefined,
      () => undefined,
    );
    this.#retiring.add(closing);
    void closing.then(() => this.#retiring.delete(closing));
  }

  async close(): Promise<void> {
    await Promise.all([this.#agent.close(), this.#batchAgent.close(), ...this.#retiring]);
  }

  async #request(node: string, url: string, init: Options): Promise<Response> {
    let response: Response;
    try {
      response = await this.#http(url, init);
    } catch (cause) {
      if (isTimeoutError(cause)) throw new NodeTimeoutError(node, this.#timeout, { cause });
      throw new NodeRequestError(node, `request failed: ${describe(cause)}`, { cause });
    }
    if (response.ok) return response;
    const retryAfter = response.headers.get('retry-after') ?? undefined;
    throw httpError(node, response.status, await bodyOf(response), retryAfter);
  }
}

/** undici puts the useful part (ECONNREFUSED, …) in `cause`. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && !error.message.includes(code)
    ? `${error.message} (${code})`
    : error.message;
}

function httpError(
  node: string,
  status: number,
  body: Uint8Array,
  retryAfter?: string,
): NodeRequestError {
  let code: string | undefined;
  let message = `HTTP ${status}`;
  try {
    const parsed = JSON.parse(utf8.decode(body)) as {
      error?: { code?: unknown; message?: unknown };
    };
    if (typeof parsed.error?.code === 'string') code = parsed.error.code;
    if (typeof parsed.error?.message === 'string') message += ` ${code}: ${parsed.error.message}`;
  } catch {
    // Not the JSON error shape (a proxy's page, say): the status alone must do.
  }
  return new NodeRequestError(node, message, {
    status,
    code,
    retryAfter: retryAfterSeconds(retryAfter),
  });
}

/** `Retry-After` as a number of seconds; an HTTP date or anything else reads as absent. */
function retryAfterSeconds(header: string | undefined): number | undefined {
  return header !== undefined && /^\d{1,9}$/.test(header) ? Number(header) : undefined;
}
