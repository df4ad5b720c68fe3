import type { TransitionStats } from '@dcache/client';
import { getJson } from '../http.js';
import { ringShare } from './ring-share.js';

/** The subset of a node's GET /v1/stats the dashboard shows (the server sends more). */
interface NodeStats {
  nodeId: string;
  hits: number;
  misses: number;
  sets: number;
  deletes: number;
  evictions: number;
  items: number;
  memoryUsed: number;
  maxMemory: number;
  uptime: number;
}

export interface NodeView {
  url: string;
  /** The node's own id from its stats; the URL until it has answered once. */
  nodeId: string;
  up: boolean;
  /** Why the last poll failed, when down. */
  error?: string;
  items: number;
  memoryUsed: number;
  maxMemory: number;
  hits: number;
  misses: number;
  evictions: number;
  /** hits / (hits + misses) since the node started; 0 before any read. */
  hitRate: number;
  /** Cache operations (gets, sets, deletes) per second between the last two polls. */
  opsPerSecond: number;
  /** Fraction of keys the ring assigns to this node. */
  ringShare: number;
}

export interface ClusterView {
  /** When the view was taken, ms since the epoch. */
  time: number;
  /** One per node of the ring, in the order the nodes joined. */
  nodes: NodeView[];
  /** The watched client's transition window (`getTransitionStats()`), or null when none is watched. */
  transition: TransitionStats | null;
}

export interface ClusterPollerOptions {
  urls: readonly string[];
  token?: string;
  /** @default 1000 */
  intervalMs?: number;
  /** Per-request timeout; a node that does not answer in time is shown down. @default 800 */
  timeoutMs?: number;
  /** Clock in ms, injected by tests so rates are exact. @default Date.now */
  now?: () => number;
  /** The transition window of the client whose ring changes (polled with the nodes). */
  transition?: () => TransitionStats | undefined;
}

interface Sample {
  ops: number;
  time: number;
}

/** The system or undici error code behind a failed fetch, if any. */
function code(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

/**
 * Failures of a connection, not of the node: a kept-alive connection the node had closed, or one
 * reset under a request in flight (what a SIGKILLed node's sockets do). Asking again on a fresh
 * connection tells which: a live node answers, a dead one refuses.
 */
const CONNECTION_LOST = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

/** "connection refused" reads better than fetch's generic "fetch failed". */
function reason(error: unknown): string {
  const cause = code(error);
  if (cause === 'ECONNREFUSED') return 'connection refused';
  if (cause === 'ECONNRESET') return 'connection reset';
  if (cause !== undefined) return cause;
  if (error instanceof Error && error.name === 'TimeoutError') return 'no answer in time';
  return error instanceof Error ? error.message : String(error);
}

const operations = (stats: NodeStats): number =>
  stats.hits + stats.misses + stats.sets + stats.deletes;

/** Polls every node's /v1/stats on an interval and keeps the latest view, with rates derived from counter deltas. */
export class ClusterPoller {
  #urls: readonly string[];
  readonly #token: string | undefined;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  #shares: Map<string, number>;
  readonly #transition: (() => TransitionStats | undefined) | undefined;
  readonly #previous = new Map<string, Sample>();
  readonly #lastKnown = new Map<string, NodeView>();
  #view: ClusterView;
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<ClusterView> | undefined;

  constructor(options: ClusterPollerOptions) {
    this.#urls = [...options.urls];
    this.#token = options.token;
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#timeoutMs = options.timeoutMs ?? 800;
    this.#now = options.now ?? Date.now;
    this.#shares = ringShare(this.#urls);
    this.#transition = options.transition;
    this.#view = {
      time: this.#now(),
      nodes: this.#urls.map((url) => this.#down(url, 'not polled yet')),
      transition: this.#transition?.() ?? null,
    };
  }

  get view(): ClusterView {
    return this.#view;
  }

  /** The ring's nodes changed (a node joined or left): poll these from the next round on. */
  setUrls(urls: readonly string[]): void {
    this.#urls = [...urls];
    this.#shares = ringShare(this.#urls);
    for (const url of this.#previous.keys()) if (!urls.includes(url)) this.#previous.delete(url);
  }

  /** Polls now, then every interval until `stop()`. */
  start(): void {
    if (this.#timer !== undefined) return;
    void this.poll();
    this.#timer = setInterval(() => void this.poll(), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One round over every node; overlapping calls share the round in flight. */
  poll(): Promise<ClusterView> {
    this.#polling ??= this.#round().finally(() => (this.#polling = undefined));
    return this.#polling;
  }

  async #round(): Promise<ClusterView> {
    const nodes = await Promise.all(this.#urls.map((url) => this.#pollNode(url)));
    this.#view = { time: this.#now(), nodes, transition: this.#transition?.() ?? null };
    return this.#view;
  }

  async #pollNode(url: string): Promise<NodeView> {
    let stats: NodeStats;
    const fetchStats = (): Promise<NodeStats> =>
      getJson<NodeStats>(`${url}/v1/stats`, { token: this.#token, timeoutMs: this.#timeoutMs });
    try {
      stats = await fetchStats().catch((error: unknown) => {
        if (CONNECTION_LOST.has(code(error) ?? '')) return fetchStats();
        throw error;
      });
    } catch (error) {
      this.#previous.delete(url);
      return this.#down(url, reason(error));
    }
    const time = this.#now();
    const ops = operations(stats);
    const before = this.#previous.get(url);
    this.#previous.set(url, { ops, time });
    // A restarted node's counters start again from zero: no rate until the next poll.
    const opsPerSecond =
      before === undefined || ops < before.ops || time <= before.time
        ? 0
        : ((ops - before.ops) * 1000) / (time - before.time);
    const reads = stats.hits + stats.misses;
    const view: NodeView = {
      url,
      nodeId: String(stats.nodeId),
      up: true,
      items: stats.items,
      memoryUsed: stats.memoryUsed,
      maxMemory: stats.maxMemory,
      hits: stats.hits,
      misses: stats.misses,
      evictions: stats.evictions,
      hitRate: reads === 0 ? 0 : stats.hits / reads,
      opsPerSecond: Math.round(opsPerSecond * 10) / 10,
      ringShare: this.#shares.get(url) ?? 0,
    };
    this.#lastKnown.set(url, view);
    return view;
  }

  /** A down node keeps its id and limit from the last answer, so the page can still label it. */
  #down(url: string, error: string): NodeView {
    const known = this.#lastKnown.get(url);
    return {
      url,
      nodeId: known?.nodeId ?? url,
      up: false,
      error,
      items: 0,
      memoryUsed: 0,
      maxMemory: known?.maxMemory ?? 0,
      hits: 0,
      misses: 0,
      evictions: 0,
      hitRate: 0,
      opsPerSecond: 0,
      ringShare: this.#shares.get(url) ?? 0,
    };
  }
}
