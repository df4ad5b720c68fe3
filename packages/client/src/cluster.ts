import { HybridClock } from '@dcache/core';
import { HashRing } from '@dcache/ring';
import { CacheUnavailableError } from './errors/cache-unavailable-error.js';
import { isNodeRequestError } from './errors/node-request-error.js';
import { callHook } from './hooks.js';
import type {
  BackgroundErrorContext,
  BackgroundOperation,
  ClientHooks,
  MembershipSource,
} from './hooks.js';
import { NodeClient } from './node-client.js';
import { requiredAcks } from './options.js';
import type { ResolvedNode, ResolvedOptions } from './options.js';
import { Transport } from './transport.js';
import type { LookupFunction } from 'node:net';
import type { ReplicaSet } from './write-policy.js';
import { ReplicationCounters } from './replication-stats.js';
import { addBatchingStats } from './batching-stats.js';
import type { BatchingStats } from './batching-stats.js';
import { convergenceMs } from './discovery.js';
import { nodeJoined, nodeRestarted, nodeReturned } from './node-return.js';
import { restoreAfterRemoval } from './restore.js';
import { Transition } from './transition.js';

/** Starts remembered per node (see `Cluster`'s `#starts`). */
const MAX_STARTS_KEPT = 4;

/**
 * The nodes, the ring keyed by node URL, and the work still running in the background (replica
 * writes that outlived a 'one' acknowledgement, read repairs), which `close()` lets finish.
 */
export class Cluster {
  readonly transport: Transport;
  /**
   * Stamps every write this client makes; merges the clock of every node answer, so a write
   * follows, in stamp order, everything the nodes it talked to had seen.
   */
  readonly clock = new HybridClock();
  /** What hints, verifications, repairs and restores did (`getReplicationStats`). */
  readonly counters = new ReplicationCounters();
  /** Nodes that missed a write (hinted or not): fenced when next seen up (hints.ts). */
  readonly fenceOnReturn = new Set<NodeClient>();
  /** The `keyPrefix` option: put before every key where it meets the ring or the wire. */
  readonly keyPrefix: string;
  /** The warm-transition window after a ring change (transition.ts). */
  readonly transition: Transition;
  readonly #ring: HashRing;
  readonly #options: ResolvedOptions;
  /** Replaced, never changed in place, so a loop over it is not disturbed by add/remove. */
  #nodes: readonly NodeClient[];
  readonly #byUrl = new Map<string, NodeClient>();
  /**
   * The starts each member's batch answers named (`Dcache-Start`), the newest last: a few, so an
   * old and a new process answering behind one URL for a while (kept-alive connections to a pod
   * being replaced) count as one restart, not one per answer that alternates.
   */
  readonly #starts = new Map<string, string[]>();
  readonly #background = new Set<Promise<unknown>>();
  /** Nodes removed whose issued work has not finished yet: close() waits for them too. */
  readonly #leaving = new Set<NodeClient>();
  #flushes = 0;
  /** Each node's ring weight, so the ring before a removal can be rebuilt (`ringWithout`). */
  readonly #weights = new Map<string, number>();
  #closing = false;
  /** The waits of background work (`waitUnlessClosing`), ended early when close() begins. */
  readonly #waits = new Set<() => void>();
  /**
   * Each ring point's replicas while every node is up (`route`, `replicaSet`), made on first use.
   * Replaced whenever the ring changes: point indexes and the replica count hold until then.
   */
  #routes = new Map<number, ReplicaSet>();
  readonly #onBackgroundError: ClientHooks['onBackgroundError'];

  /**
   * `lookup`: where the connection pool finds node hosts (DNS discovery's addresses); the system
   * resolver when not given.
   */
  constructor(options: ResolvedOptions, lookup?: LookupFunction) {
    // The ring first: should it refuse a node, no connection pool has been made.
    this.#ring = new HashRing([], { vnodes: options.vnodes });
    for (const { url, weight } of options.nodes) {
      this.#ring.add(url, weight);
      this.#weights.set(url, weight);
    }
    this.transport = new Transport({
      ...options,
      lookup,
      observeClock: (stamp) => this.clock.observe(stamp),
      observeStart: (url, start) => this.#nodeStarted(url, start),
    });
    this.#options = options;
    this.keyPrefix = options.keyPrefix;
    this.#onBackgroundError = options.onBackgroundError;
    this.#nodes = options.nodes.map(({ url }) => this.#nodeClient(url));
    this.transport.ringNodes(this.#nodes.length);
    this.transition = new Transition({
      options: options.transition,
      onTransition: options.onTransition,
      member: (url) => this.#byUrl.get(url),
      // By then every client following the same records has changed its ring too.
      minWindowMs: options.discovery === undefined ? 0 : convergenceMs(options.discovery),
    });
  }

  get nodes(): readonly NodeClient[] {
    return this.#nodes;
  }

  /** The start the node's batch answers named last, if any has. */
  lastStartOf(url: string): string | undefined {
    return this.#starts.get(url)?.at(-1);
  }

  /**
   * A member's batch answer named its start. One not seen before, after another: the node
   * restarted (empty, or from a snapshot with every entry unverified), perhaps too fast for the
   * failure detector to see it down, which is what otherwise restores a node. So it is taken as
   * back: fenced if this client owes it a fence, and restored from the other replicas (claimed
   * by one client of many at a time, on a lease). Not while closing: a restore claimed then
   * would copy nothing, and no other client could claim it.
   */
  #nodeStarted(url: string, start: string): void {
    const seen = this.#starts.get(url);
    if (seen !== undefined && seen[seen.length - 1] === start) return;
    if (seen?.includes(start) === true || this.#closing) return;
    const node = this.#byUrl.get(url);
    if (node === undefined) return;
    if (seen === undefined) {
      this.#starts.set(url, [start]);
      return;
    }
    seen.push(start);
    if (seen.length > MAX_STARTS_KEPT) seen.shift();
    // With one copy per key there is nothing to restore from.
    if (this.replicas >= 2) nodeRestarted(this, node);
  }

  /** The batching counters of the nodes in the cluster now, summed. */
  batchingStats(): BatchingStats {
    const total: BatchingStats = { batches: 0, operations: 0, inFlightMs: 0 };
    for (const node of this.#nodes) addBatchingStats(total, node.batchingStats());
    return total;
  }

  /** Copies per key: the `replicas` option, capped at the nodes there are now. */
  get replicas(): number {
    return Math.min(this.#options.replicas, this.#nodes.length);
  }

  /** The `restoreRate` option: keys a second a restore copies at most. */
  get restoreRate(): number {
    return this.#options.restoreRate;
  }

  /** The `probeInterval` option: ms between tries to reach a node that did not answer. */
  get probeInterval(): number {
    return this.#options.probeInterval;
  }

  /** Acknowledgements a write waits for, by `writeConsistency` of the copies there are now. */
  get required(): number {
    return requiredAcks(this.#options.writeConsistency, this.replicas);
  }

  /**
   * Whether a replica read after the key's primary did not answer may lack a completed write: true
   * unless every write waits for every replica (`writeConsistency` 'all', or 'quorum' of 2).
   */
  get failoverUnvouched(): boolean {
    return this.required < this.replicas;
  }

  /** The key's primary — the ring's first node for it — is marked down (reads skip it). */
  primaryDown(key: string): boolean {
    if (this.#allUp()) return false;
    const url = this.#ring.get(this.storedKey(key));
    return url !== undefined && this.#byUrl.get(url)?.up === false;
  }

  /**
   * The one place membership changes (addNode, removeNode and DNS discovery all come here): the
   * ring takes every node `added` (normalised URLs not in the cluster) and drops every one
   * `removed` at once, then `onMembershipChange` hears of it. No request is sent to a removed node
   * any more, also by operations already running (a read falling back, copies after a primary
   * decided — see `isMember`), except the transition window's fallback reads and invalidations
   * (transition.ts), which keep it until the window closes; what was already queued for it or on
   * the wire finishes, then (without a window) its probe stops: the promise resolves then, to the
   * nodes removed (those in `removed` that were members).
   */
  async change(
    added: readonly ResolvedNode[],
    removed: readonly string[],
    source: MembershipSource,
  ): Promise<NodeClient[]> {
    // The ring before: which keys the removed nodes were replicas of (restore.ts), and where a
    // key was before the change (the transition window's fallback reads). The first membership
    // (a client's first DNS lookup) moves no key: there is nothing to fall back to, no window.
    const hadNodes = this.#nodes.length > 0;
    const warm = this.transition.enabled && hadNodes;
    const before = removed.length > 0 || (warm && added.length > 0) ? this.ringNow() : undefined;
    const replicasBefore = this.replicas;
    const leaving: NodeClient[] = [];
    for (const url of removed) {
      const node = this.#byUrl.get(url);
      if (node === undefined) continue;
      this.#ring.remove(url);
      this.#weights.delete(url);
      this.#byUrl.delete(url);
      this.#starts.delete(url);
      // Only members are fenced (hints.ts): one that left is owed nothing, and kept it would
      // pile up with every pod that crashed and left the records.
      this.fenceOnReturn.delete(node);
      leaving.push(node);
    }
    for (const { url, weight } of added) {
      this.#ring.add(url, weight);
      this.#weights.set(url, weight);
    }
    if (leaving.length > 0 || added.length > 0) this.#routes = new Map();
    this.#nodes = [
      ...this.#nodes.filter((node) => !leaving.includes(node)),
      ...added.map(({ url }) => this.#nodeClient(url)),
    ];
    if (leaving.length > 0 || added.length > 0) {
      this.transport.ringNodes(this.#nodes.length);
      if (warm) this.transition.changed(before!, replicasBefore, urlsOf(added), leaving);
      callHook('onMembershipChange', this.#options.onMembershipChange, {
        added: added.map(({ url }) => url),
        removed: leaving.map((node) => node.url),
        nodes: this.#nodes.map((node) => node.url).sort(),
        source,
      });
    }
    // Each key a removed node was a replica of has a new replica: it gets a copy from the rest.
    for (const node of leaving) {
      this.track(restoreAfterRemoval(this, before!, replicasBefore, node.url));
    }
    // A node that joins may be one that left and came back — a pod restarted behind a headless
    // Service whose records drop it meanwhile — holding what it had then (a snapshot, unverified):
    // it gets the restore a node seen up again gets (one client of many claims it at a time), whose
    // copies verify what still stands and bring what it missed; and a fence first, since another
    // client may have restored it already, before this client's last writes without it
    // (node-return.ts). Nothing to copy or vouch with one replica.
    if (hadNodes && this.replicas >= 2) {
      for (const node of this.#nodes) {
        if (added.some(({ url }) => url === node.url)) nodeJoined(this, node);
      }
    }
    for (const node of leaving) this.#leaving.add(node);
    try {
      await this.#drain(() => leaving);
    } finally {
      for (const node of leaving) {
        this.#leaving.delete(node);
        // A fallback source until the window closes, which closes it then.
        if (!this.transition.keeps(node)) node.close();
      }
    }
    return leaving;
  }

  /**
   * Is `node` (this very client, not one for the same URL added again) still in the cluster?
   * Operations check it before each request they send after an await.
   */
  isMember(node: NodeClient): boolean {
    return this.#byUrl.get(node.url) === node;
  }

  /** `nodes` without those removed since the list was made (the same array when none was). */
  members(nodes: readonly NodeClient[]): readonly NodeClient[] {
    for (const node of nodes) {
      if (!this.isMember(node)) return nodes.filter((other) => this.isMember(other));
    }
    return nodes;
  }

  /**
   * Flushes started so far. A read repair compares it with its read's start: a value read before a
   * flush must not be written back after it (the repair would queue behind the flush and undo it).
   */
  get flushes(): number {
    return this.#flushes;
  }

  flushStarted(): void {
    this.#flushes++;
    // Every copy a fallback could find predates the flush: nothing is left to keep warm.
    this.transition.close('flush');
  }

  has(url: string): boolean {
    return this.#byUrl.has(url);
  }

  #nodeClient(url: string): NodeClient {
    const { onNodeDown, onNodeUp } = this.#options;
    // A node being removed is no longer the caller's concern: the requests and the probe still
    // running until removeNode resolves must not report it down or up.
    const node: NodeClient = new NodeClient(url, {
      ...this.#options,
      transport: this.transport,
      onNodeDown:
        onNodeDown && ((at, error) => (this.isMember(node) ? onNodeDown(at, error) : undefined)),
      onNodeUp: (at) => {
        if (!this.isMember(node)) return undefined;
        nodeReturned(this, node);
        return onNodeUp?.(at);
      },
    });
    this.#byUrl.set(url, node);
    return node;
  }

  /**
   * The key as the nodes store it. Everything else in the client speaks the caller's key (errors,
   * hooks, getMany's Map, getOrSet's loads); only operations on the wire and the ring see this.
   * With no prefix it is the same string (no allocation).
   */
  storedKey(key: string): string {
    return this.keyPrefix + key;
  }

  /** The caller's key of an operation's stored key (for reports about an operation). */
  callerKey(storedKey: string): string {
    return storedKey.slice(this.keyPrefix.length);
  }

  /**
   * The (caller's) key's replicas in preference order, skipping nodes marked down: their share goes
   * to the next nodes on the ring. Empty when every node is down. The ring hashes the stored key,
   * so clients with different prefixes spread the same names differently. `count` asks for more
   * (or fewer) than `replicas` (a verification looks one node further).
   */
  preference(key: string, count = this.replicas): NodeClient[] {
    const allUp = this.#allUp();
    const replicas = Math.min(count, this.#nodes.length);
    const urls = this.#ring.getN(this.storedKey(key), allUp ? replicas : this.#nodes.length);
    const result: NodeClient[] = [];
    for (const url of urls) {
      const node = this.#byUrl.get(url)!;
      if (node.up) result.push(node);
      if (result.length === replicas) break;
    }
    return result;
  }

  /**
   * `preference(key)` for the hot path: read-only, and without allocating while every node is up
   * (the list is kept per ring point).
   */
  route(key: string): readonly NodeClient[] {
    return this.#allUp()
      ? (this.#routeOf(key)?.live ?? this.preference(key))
      : this.preference(key);
  }

  /**
   * The key's replicas for a write: the live ones (`preference`) and the ring's natural ones, up or
   * down, so that the write can hint those it skipped. With every node up they are the same array
   * (kept per ring point: nothing is allocated).
   */
  replicaSet(key: string): ReplicaSet {
    const replicas = this.replicas;
    if (this.#allUp()) {
      const route = this.#routeOf(key);
      if (route !== undefined) return route;
    }
    const urls = this.#ring.getN(this.storedKey(key), this.#nodes.length);
    const natural: NodeClient[] = [];
    const live: NodeClient[] = [];
    for (const url of urls) {
      const node = this.#byUrl.get(url)!;
      if (natural.length < replicas) natural.push(node);
      if (node.up && live.length < replicas) live.push(node);
    }
    return { natural, live };
  }

  /** Every node is up (a loop: `every` would allocate a closure per operation). */
  #allUp(): boolean {
    const nodes = this.#nodes;
    for (let i = 0; i < nodes.length; i++) if (!nodes[i]!.up) return false;
    return true;
  }

  /** The replicas of the ring point owning `key`; undefined on an empty ring. */
  #routeOf(key: string): ReplicaSet | undefined {
    const point = this.#ring.pointOf(this.storedKey(key));
    if (point === -1) return undefined;
    let route = this.#routes.get(point);
    if (route === undefined) {
      const live = this.#ring.getNAt(point, this.replicas).map((url) => this.#byUrl.get(url)!);
      route = { natural: live, live };
      this.#routes.set(point, route);
    }
    return route;
  }

  /** The natural replicas' URLs of a key as stored (with its prefix, any client's). */
  replicasOfStored(storedKey: string): string[] {
    return this.#ring.getN(storedKey, this.replicas);
  }

  /** A copy of the ring as it is now, for comparing owners before and after a change. */
  ringNow(): HashRing {
    const ring = new HashRing([], { vnodes: this.#options.vnodes });
    for (const [url, weight] of this.#weights) ring.add(url, weight);
    return ring;
  }

  /** close() has begun: long background work (a restore) stops at its next step. */
  get closing(): boolean {
    return this.#closing;
  }

  /**
   * Resolves after `ms`, or as soon as close() begins: background work waiting to try again must
   * not hold a close up. The timer does not keep the process alive either.
   */
  waitUnlessClosing(ms: number): Promise<void> {
    if (this.#closing) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#waits.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.#waits.add(done);
    });
  }

  /** The error for "no replica answered": names the key's full replica list when all are down. */
  unavailable(key: string, tried: readonly NodeClient[], errors: readonly Error[]): Error {
    // Every node answered with a 4xx (a wrong token, say): the nodes are up, the request is wrong.
    const refusal = errors[0];
    if (refusal !== undefined && errors.every(isClientError)) return refusal;
    const nodes =
      tried.length > 0
        ? tried.map((node) => node.url)
        : this.#ring.getN(this.storedKey(key), this.replicas);
    return new CacheUnavailableError(key, nodes, errors);
  }

  /** Keeps a background promise (already handled: it must not reject) until it settles. */
  track(work: Promise<unknown>): void {
    this.#background.add(work);
    const forget = (): boolean => this.#background.delete(work);
    void work.then(forget, forget);
  }

  /** A failure of background work, which no caller will see: to the `onBackgroundError` hook. */
  reportBackgroundError(error: Error, context: BackgroundErrorContext): void {
    callHook('onBackgroundError', this.#onBackgroundError, error, context);
  }

  /** As `reportBackgroundError`, naming the node the error itself names (a NodeRequestError's). */
  reportFailure(error: Error, operation: BackgroundOperation, key: string): void {
    const node = (error as { node?: unknown }).node;
    const context = typeof node === 'string' ? { operation, key, node } : { operation, key };
    this.reportBackgroundError(error, context);
  }

  /**
   * Lets everything already started finish — operations still queued (they leave on the next
   * tick), requests on the wire, and the work their answers start (a replica after a miss, a
   * repair, replica writes) — until a whole turn passes with none, then closes the connections.
   */
  async close(): Promise<void> {
    this.#closing = true;
    for (const wake of [...this.#waits]) wake();
    await this.#drain(() => [...this.#nodes, ...this.#leaving, ...this.transition.keptNodes], true);
    this.transition.stop();
    for (const node of this.nodes) node.close();
    await this.transport.close();
  }

  /**
   * Waits until a whole turn passes with none of `nodes()` busy (and, with `background`, no
   * background work running): answers beget more work, so it re-checks after each wait.
   */
  async #drain(nodes: () => NodeClient[], background = false): Promise<void> {
    for (;;) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const busy = nodes().filter((node) => node.busy);
      const work = background ? [...this.#background] : [];
      if (busy.length === 0 && work.length === 0) return;
      await Promise.allSettled([...work, ...busy.map((node) => node.whenIdle())]);
    }
  }
}

function urlsOf(nodes: readonly ResolvedNode[]): string[] {
  return nodes.map(({ url }) => url);
}

function isClientError(error: Error): boolean {
  return isNodeRequestError(error) && error.refused;
}
