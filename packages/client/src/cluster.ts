import { HashRing } from '@dcache/ring';
import { CacheUnavailableError } from './errors/cache-unavailable-error.js';
import { isNodeRequestError } from './errors/node-request-error.js';
import { callHook } from './hooks.js';
import type { BackgroundErrorContext, ClientHooks } from './hooks.js';
import { NodeClient } from './node-client.js';
import { requiredAcks } from './options.js';
import type { ResolvedOptions } from './options.js';
import { Transport } from './transport.js';

/**
 * The nodes, the ring keyed by node URL, and the work still running in the background (replica
 * writes that outlived a 'one' acknowledgement, read repairs), which `close()` lets finish.
 */
export class Cluster {
  readonly transport: Transport;
  /** The `keyPrefix` option: put before every key where it meets the ring or the wire. */
  readonly keyPrefix: string;
  readonly #ring: HashRing;
  readonly #options: ResolvedOptions;
  /** Replaced, never changed in place, so a loop over it is not disturbed by add/remove. */
  #nodes: readonly NodeClient[];
  readonly #byUrl = new Map<string, NodeClient>();
  readonly #background = new Set<Promise<unknown>>();
  #flushes = 0;
  readonly #onBackgroundError: ClientHooks['onBackgroundError'];

  constructor(options: ResolvedOptions) {
    this.transport = new Transport(options);
    this.#options = options;
    this.keyPrefix = options.keyPrefix;
    this.#onBackgroundError = options.onBackgroundError;
    this.#ring = new HashRing(
      options.nodes,
      options.vnodes === undefined ? undefined : { vnodes: options.vnodes },
    );
    this.#nodes = options.nodes.map((url) => this.#nodeClient(url));
  }

  get nodes(): readonly NodeClient[] {
    return this.#nodes;
  }

  /** Copies per key: the `replicas` option, capped at the nodes there are now. */
  get replicas(): number {
    return Math.min(this.#options.wantedReplicas, this.#nodes.length);
  }

  /** Acknowledgements a write waits for, by `writeConsistency` of the copies there are now. */
  get required(): number {
    return requiredAcks(this.#options.writeConsistency, this.replicas);
  }

  /** Adds a node (a normalised URL not in the cluster): the ring gives it its share of keys. */
  add(url: string): void {
    this.#nodes = [...this.#nodes, this.#nodeClient(url)];
    this.#ring.add(url);
  }

  /**
   * Takes a node out of the ring at once, so no new operation goes to it; what was already
   * issued to it (queued, on the wire, background copies) finishes, then its probe stops.
   */
  async remove(url: string): Promise<boolean> {
    const node = this.#byUrl.get(url);
    if (node === undefined) return false;
    this.#ring.remove(url);
    this.#byUrl.delete(url);
    this.#nodes = this.#nodes.filter((other) => other !== node);
    for (;;) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (!node.busy) break;
      await node.whenIdle();
    }
    node.close();
    return true;
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
  }

  has(url: string): boolean {
    return this.#byUrl.has(url);
  }

  #nodeClient(url: string): NodeClient {
    const node = new NodeClient(url, { ...this.#options, transport: this.transport });
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
   * so clients with different prefixes spread the same names differently.
   */
  preference(key: string): NodeClient[] {
    const allUp = this.nodes.every((node) => node.up);
    const urls = this.#ring.getN(this.storedKey(key), allUp ? this.replicas : this.nodes.length);
    const result: NodeClient[] = [];
    for (const url of urls) {
      const node = this.#byUrl.get(url)!;
      if (node.up) result.push(node);
      if (result.length === this.replicas) break;
    }
    return result;
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

  /**
   * Lets everything already started finish — operations still queued (they leave on the next
   * tick), requests on the wire, and the work their answers start (a replica after a miss, a
   * repair, replica writes) — until a whole turn passes with none, then closes the connections.
   */
  async close(): Promise<void> {
    for (;;) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const busy = this.nodes.filter((node) => node.busy);
      if (busy.length === 0 && this.#background.size === 0) break;
      await Promise.allSettled([...this.#background, ...busy.map((node) => node.whenIdle())]);
    }
    for (const node of this.nodes) node.close();
    await this.transport.close();
  }
}

function isClientError(error: Error): boolean {
  return isNodeRequestError(error) && error.refused;
}
