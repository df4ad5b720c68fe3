import { EventEmitter } from 'node:events';
import {
  isCacheUnavailableError,
  isDcacheError,
  isNodeRequestError,
  isOperationRejectedError,
} from '@dcache/client';
import type { DistributedCacheClient } from '@dcache/client';
import type { KeyvStoreAdapter, StoredData } from 'keyv';
import { generationsOf, storedKey } from './generations.js';
import type { Generations } from './generations.js';
import { resolveStoreOptions } from './options.js';
import { ttlOf } from './ttl.js';
import type { DcacheKeyvStoreOptions, ResolvedStoreOptions } from './options.js';

/** What Keyv and the test suite read from `store.opts`. */
export interface DcacheKeyvStoreOpts {
  /** Keyv asks stores for their dialect; this one is not among those Keyv iterates. */
  dialect: 'dcache';
  throwOnErrors: boolean;
  generationCacheMs: number;
}

/**
 * A Keyv store over a dcache cluster: `new Keyv({ store: new DcacheKeyvStore({ nodes }) })`.
 * Keyv puts `namespace:` before every key; the store adds the namespace's generation (see
 * `generations.ts`), which is what lets `clear()` empty one namespace only. Cluster failures are
 * emitted on `'error'` and read as misses unless `throwOnErrors` (see the option).
 */
// Keyv's type says setMany resolves to void, but Keyv returns what it resolves to as its own
// setMany's boolean[]: this store keeps that promise.
export class DcacheKeyvStore extends EventEmitter implements Omit<KeyvStoreAdapter, 'setMany'> {
  readonly opts: DcacheKeyvStoreOpts;
  /** Set by Keyv to its namespace; keys Keyv hands over already start with `namespace:`. */
  namespace: string | undefined;
  readonly #options: ResolvedStoreOptions;
  readonly #generations: Generations;

  constructor(options: DcacheKeyvStoreOptions) {
    super();
    this.#options = resolveStoreOptions(options, (error) => this.#report(error));
    this.#generations = generationsOf(this.#options.client);
    this.opts = {
      dialect: 'dcache',
      throwOnErrors: this.#options.throwOnErrors,
      generationCacheMs: this.#options.generationCacheMs,
    };
  }

  /** The client the store talks through. */
  get client(): DistributedCacheClient {
    return this.#options.client;
  }

  async get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    return this.#guard(undefined, async () =>
      this.client.get<StoredData<Value>>(await this.#stored(key)),
    );
  }

  /**
   * One `get` per key, issued together so that the client batches them per node. A key the nodes
   * refuse (too long) is a miss alone, emitted. A key with no replica reachable is a miss; unless
   * its replicas were already known to be down, the call reports that once (`'error'`, or rejects
   * with `throwOnErrors`) — the client's own getMany leaves such keys out silently, which hid an
   * outage found by a getMany.
   */
  async getMany<Value>(keys: string[]): Promise<Array<StoredData<Value | undefined>>> {
    return this.#guard(
      keys.map(() => undefined),
      async () => {
        const token = await this.#token();
        const outage = new Outage();
        const values = await Promise.all(
          keys.map(async (key) => {
            const stored = storedKey(token, key);
            const reachable = this.#reachable(stored);
            try {
              return await this.client.get<StoredData<Value>>(stored);
            } catch (error) {
              if (isOperationRejectedError(error) && !this.#options.throwOnErrors) {
                this.#report(error);
                return undefined;
              }
              outage.note(error, reachable);
              return undefined;
            }
          }),
        );
        this.#outage(outage);
        return values;
      },
    );
  }

  async has(key: string): Promise<boolean> {
    return this.#guard(false, async () => this.client.has(await this.#stored(key)));
  }

  /**
   * One `has` per key, issued together so that the client batches them per node; without it Keyv
   * asks them one after another, a round trip each. An outage is reported once per call, as by
   * getMany, not once per key.
   */
  async hasMany(keys: string[]): Promise<boolean[]> {
    return this.#guard(
      keys.map(() => false),
      async () => {
        const token = await this.#token();
        const outage = new Outage();
        const found = await Promise.all(
          keys.map((key) =>
            this.#each(outage, storedKey(token, key), false, (stored) => this.client.has(stored)),
          ),
        );
        this.#outage(outage);
        return found;
      },
    );
  }

  /** True once the client's `writeConsistency` replicas acknowledged. */
  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    return this.#guard(false, async () =>
      this.client.set(await this.#stored(key), value, ttlOf(ttl)),
    );
  }

  /**
   * Keyv hands over entries already serialized; they travel in the client's per-node batches.
   * Resolves to one boolean per entry, which Keyv's `setMany` returns: an entry the cluster
   * refuses (too large) is `false` alone, and emitted on `'error'`; an outage is reported once per
   * call, as by getMany, not once per entry.
   */
  async setMany(entries: Array<{ key: string; value: unknown; ttl?: number }>): Promise<boolean[]> {
    return this.#guard(
      entries.map(() => false),
      async () => {
        const token = await this.#token();
        const outage = new Outage();
        const stored = await Promise.all(
          entries.map(({ key, value, ttl }) =>
            this.#each(outage, storedKey(token, key), false, (at) =>
              this.client.set(at, value, ttlOf(ttl)),
            ),
          ),
        );
        this.#outage(outage);
        return stored;
      },
    );
  }

  async delete(key: string): Promise<boolean> {
    return this.#guard(false, async () => this.client.delete(await this.#stored(key)));
  }

  /**
   * As Keyv's own fallback over `delete` answers: true when every delete found its key — so for
   * no keys, and not when a key is given twice (its second delete finds nothing).
   */
  async deleteMany(keys: string[]): Promise<boolean> {
    if (keys.length === 0) return true;
    return this.#guard(false, async () => {
      const token = await this.#token();
      const unique = new Set(keys.map((key) => storedKey(token, key)));
      const outage = new Outage();
      // One delete per key, issued together (per-node batches), so that a key none of whose
      // replicas answered is told apart from one that was not there: see getMany.
      const deleted = await Promise.all(
        [...unique].map(async (stored) => {
          const reachable = this.#reachable(stored);
          try {
            return await this.client.delete(stored);
          } catch (error) {
            outage.note(error, reachable);
            return false;
          }
        }),
      );
      this.#outage(outage);
      return unique.size === keys.length && deleted.every(Boolean);
    });
  }

  /**
   * Empties the namespace (`this.namespace`, or the keys stored without one): starts a new
   * generation, so every key stored before is unreachable at once and leaves the nodes by LRU
   * eviction or its TTL. Other namespaces, and keys not written through Keyv, are left alone.
   */
  async clear(): Promise<void> {
    await this.#guard(undefined, async () => this.#generations.renew(this.namespace ?? ''));
  }

  /** Closes the client if the store made it (from `nodes`); a client you passed stays open. */
  async disconnect(): Promise<void> {
    if (this.#options.ownsClient) await this.client.close();
  }

  /**
   * One key's operation in a bulk call: a key none of whose replicas answered goes to `outage`
   * (reported once for the call, by `#outage`) and answers `fallback`; any other cluster failure is
   * emitted for this key alone, as `#guard` does.
   */
  async #each<T>(
    outage: Outage,
    stored: string,
    fallback: T,
    operation: (stored: string) => Promise<T>,
  ): Promise<T> {
    const reachable = this.#reachable(stored);
    try {
      return await operation(stored);
    } catch (error) {
      if (!Outage.unanswered(error)) return this.#guard(fallback, () => Promise.reject(error));
      outage.note(error, reachable);
      return fallback;
    }
  }

  /** Has the (stored) key a replica the client does not know to be down? */
  #reachable(stored: string): boolean {
    return this.client.nodesFor(stored).length > 0;
  }

  /** Reports a bulk call's outage once: emitted (then a miss) or, with throwOnErrors, thrown. */
  #outage(outage: Outage): void {
    const error = outage.error;
    if (error === undefined) return;
    if (this.#options.throwOnErrors) throw error;
    this.#report(error);
  }

  async #token(): Promise<string> {
    return this.#generations.current(this.namespace ?? '', this.#options.generationCacheMs);
  }

  async #stored(key: string): Promise<string> {
    return storedKey(await this.#token(), key);
  }

  /** Runs `operation`; a cluster failure becomes `fallback` plus an `'error'` event, or rejects. */
  async #guard<T>(fallback: T, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (this.#options.throwOnErrors || !isDcacheError(error)) throw error;
      this.#report(error);
      return fallback;
    }
  }

  #report(error: Error): void {
    // With nobody listening (the store used without Keyv), an 'error' event would throw.
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}

/**
 * The unreachable keys of one bulk call: no replica answered (CacheUnavailableError), or a delete's
 * primary did not (a NodeRequestError that is not a refusal). The first one whose replicas were
 * not already known to be down is the call's outage; any other error is rethrown.
 */
class Outage {
  error: Error | undefined;

  /** No replica answered, rather than one refusing. */
  static unanswered(error: unknown): error is Error {
    return isCacheUnavailableError(error) || (isNodeRequestError(error) && !error.refused);
  }

  note(error: unknown, reachable: boolean): void {
    if (!Outage.unanswered(error)) throw error;
    if (reachable) this.error ??= error;
  }
}
