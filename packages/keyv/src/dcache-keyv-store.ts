import { EventEmitter } from 'node:events';
import { isDcacheError, isOperationRejectedError } from '@dcache/client';
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

  async getMany<Value>(keys: string[]): Promise<Array<StoredData<Value | undefined>>> {
    return this.#guard(
      keys.map(() => undefined),
      async () => {
        const token = await this.#token();
        let found: Map<string, StoredData<Value>>;
        try {
          found = await this.client.getMany<StoredData<Value>>(
            keys.map((key) => storedKey(token, key)),
          );
        } catch (error) {
          // A key the nodes refuse (too long) fails the client's whole getMany: the keys are asked
          // one by one, so the others are still found, as Keyv's own fallback over get finds them.
          if (!isOperationRejectedError(error) || this.#options.throwOnErrors) throw error;
          return Promise.all(keys.map((key) => this.get<Value>(key)));
        }
        return keys.map((key) => found.get(storedKey(token, key)));
      },
    );
  }

  async has(key: string): Promise<boolean> {
    return this.#guard(false, async () => this.client.has(await this.#stored(key)));
  }

  /**
   * One `has` per key, issued together so that the client batches them per node; without it Keyv
   * asks them one after another, a round trip each.
   */
  async hasMany(keys: string[]): Promise<boolean[]> {
    return this.#guard(
      keys.map(() => false),
      async () => {
        const token = await this.#token();
        return Promise.all(
          keys.map((key) => this.#guard(false, () => this.client.has(storedKey(token, key)))),
        );
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
   * refuses (too large) is `false` alone, and emitted on `'error'`.
   */
  async setMany(entries: Array<{ key: string; value: unknown; ttl?: number }>): Promise<boolean[]> {
    return this.#guard(
      entries.map(() => false),
      async () => {
        const token = await this.#token();
        return Promise.all(
          entries.map(({ key, value, ttl }) =>
            this.#guard(false, () => this.client.set(storedKey(token, key), value, ttlOf(ttl))),
          ),
        );
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
      const deleted = await this.client.deleteMany(unique);
      return unique.size === keys.length && deleted === unique.size;
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
