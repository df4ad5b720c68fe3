import { randomBytes } from 'node:crypto';
import type { DistributedCacheClient } from '@dcache/client';

/*
 * Namespace generations: how a namespaced clear() works without a key listing over the wire.
 * Every key of a namespace is stored under the namespace's current generation token; clear()
 * writes a new token, so the old keys are unreachable at once and leave by LRU eviction or TTL.
 * The token is random, not a counter: if the generation key itself is evicted, the next reader
 * draws a new token (the namespace reads as cleared), never an old one that would revive keys.
 */

/** Where a namespace's token lives. Its first segment is longer than a token, so no data key matches. */
export function generationKey(namespace: string): string {
  return `keyv-generation:${namespace}`;
}

/** 8 characters of base64url: 48 random bits. */
function newToken(): string {
  return randomBytes(6).toString('base64url');
}

/** The key a Keyv key is stored under in a generation. */
export function storedKey(token: string, key: string): string {
  return `${token}:${key}`;
}

interface Known {
  token: string;
  readAt: number;
}

/** The tokens one client's stores use, shared so that stores over one client agree at once. */
export class Generations {
  readonly #client: DistributedCacheClient;
  readonly #known = new Map<string, Known>();
  readonly #reading = new Map<string, Promise<string>>();
  /** Bumped by every renew, so that a read begun before it does not bring the old token back. */
  readonly #renewals = new Map<string, number>();
  /** The renew being stored, which calls made meanwhile wait for (see `current`). */
  readonly #renewing = new Map<string, Promise<void>>();

  constructor(client: DistributedCacheClient) {
    this.#client = client;
  }

  /** The namespace's token, read from the cluster when older than `maxAgeMs`. */
  async current(namespace: string, maxAgeMs: number): Promise<string> {
    // A call made after clear() was called belongs to the new generation, as with Keyv's Map
    // store: `keyv.clear(); await keyv.set(k, v)` keeps v (cache-manager's nonBlocking clear()
    // does not wait either). With the token still known, it would be written under the old one.
    const renewing = this.#renewing.get(namespace);
    if (renewing !== undefined) await renewing.catch(() => undefined);
    const known = this.#known.get(namespace);
    if (known !== undefined && performance.now() - known.readAt < maxAgeMs) return known.token;
    let reading = this.#reading.get(namespace);
    if (reading === undefined) {
      reading = this.#read(namespace).finally(() => this.#reading.delete(namespace));
      this.#reading.set(namespace, reading);
    }
    return reading;
  }

  /** Starts a new generation: every key stored before is unreachable from now on. */
  async renew(namespace: string): Promise<void> {
    this.#renewals.set(namespace, (this.#renewals.get(namespace) ?? 0) + 1);
    const token = newToken();
    const renewing = this.#client
      .set(generationKey(namespace), token, { ttl: 0 })
      .then(() => void this.#known.set(namespace, { token, readAt: performance.now() }));
    this.#renewing.set(namespace, renewing);
    try {
      await renewing;
    } finally {
      if (this.#renewing.get(namespace) === renewing) this.#renewing.delete(namespace);
    }
  }

  async #read(namespace: string): Promise<string> {
    const renewals = this.#renewals.get(namespace);
    const key = generationKey(namespace);
    let token = await this.#client.get<unknown>(key);
    if (typeof token !== 'string') {
      const drawn = newToken();
      // Another process may draw one at the same time: the first add wins and everyone uses it.
      token = (await this.#client.add(key, drawn, { ttl: 0 }))
        ? drawn
        : await this.#client.get<unknown>(key);
      if (typeof token !== 'string') {
        // There, yet unreadable: every copy unverified (its nodes stalled or restarted, so a
        // newer token may have been written meanwhile) or not a token at all. It stays so until
        // overwritten, so a token drawn and not stored would change with every read and lose
        // every write: a new generation is stored instead, as clear() stores one.
        token = drawn;
        await this.#client.set(key, drawn, { ttl: 0 });
      }
    }
    const known = this.#known.get(namespace);
    if (this.#renewals.get(namespace) !== renewals && known !== undefined) return known.token;
    this.#known.set(namespace, { token: String(token), readAt: performance.now() });
    return String(token);
  }
}

const byClient = new WeakMap<DistributedCacheClient, Generations>();

/** The one `Generations` of `client`. */
export function generationsOf(client: DistributedCacheClient): Generations {
  let generations = byClient.get(client);
  if (generations === undefined) {
    generations = new Generations(client);
    byClient.set(client, generations);
  }
  return generations;
}
