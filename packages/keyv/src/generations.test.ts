import type { DistributedCacheClient } from '@dcache/client';
import { describe, expect, it } from 'vitest';
import { Generations, generationKey } from './generations.js';

/** The three calls Generations makes, on a Map, with each `get` held until released. */
function fakeClient() {
  const data = new Map<string, unknown>();
  const held: (() => void)[] = [];
  let gets = 0;
  const fake = {
    /** Runs as an add begins: where another process can slip its own add in. */
    onAdd: undefined as (() => void) | undefined,
    /** Keys present but read as misses (every copy unverified, as after its nodes stalled). */
    unreadable: new Set<string>(),
  };
  const client = {
    async get(key: string) {
      gets += 1;
      // The value as the node read it; the answer travels back later.
      const value = fake.unreadable.has(key) ? undefined : data.get(key);
      await new Promise<void>((resolve) => held.push(resolve));
      return value;
    },
    async add(key: string, value: unknown) {
      fake.onAdd?.();
      if (data.has(key)) return false;
      data.set(key, value);
      return true;
    },
    async set(key: string, value: unknown) {
      data.set(key, value);
      fake.unreadable.delete(key);
      return true;
    },
  };
  return Object.assign(fake, {
    client: client as unknown as DistributedCacheClient,
    data,
    gets: () => gets,
    /** Lets every get waiting so far answer. */
    release() {
      for (const resolve of held.splice(0)) resolve();
    },
  });
}

async function settle<T>(fake: ReturnType<typeof fakeClient>, pending: Promise<T>): Promise<T> {
  // Release gets until `pending` settles (a read may issue a second get after a lost add).
  let done = false;
  void pending.finally(() => (done = true));
  while (!done) {
    fake.release();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return pending;
}

describe('Generations', () => {
  it('shares one read among concurrent callers, and draws a token once', async () => {
    const fake = fakeClient();
    const generations = new Generations(fake.client);
    const all = Promise.all([1, 2, 3].map(() => generations.current('ns', 1000)));
    const tokens = await settle(fake, all);
    expect(new Set(tokens).size).toBe(1);
    expect(fake.gets()).toBe(1);
    expect(fake.data.get(generationKey('ns'))).toBe(tokens[0]);
  });

  it('reuses a token for maxAgeMs, and reads it again after (0 = every time)', async () => {
    const fake = fakeClient();
    const generations = new Generations(fake.client);
    await settle(fake, generations.current('ns', 60_000));
    await generations.current('ns', 60_000);
    expect(fake.gets()).toBe(1);
    await settle(fake, generations.current('ns', 0));
    expect(fake.gets()).toBe(2);
  });

  it('takes the token another process stored first when its own add loses', async () => {
    const fake = fakeClient();
    const generations = new Generations(fake.client);
    fake.onAdd = () => fake.data.set(generationKey('ns'), 'theirs00');
    expect(await settle(fake, generations.current('ns', 1000))).toBe('theirs00');
    expect(fake.gets()).toBe(2);
  });

  it('stores a new token when the one there cannot be read, and keeps using it', async () => {
    const fake = fakeClient();
    const generations = new Generations(fake.client);
    fake.data.set(generationKey('ns'), 'stale000');
    fake.unreadable.add(generationKey('ns'));
    const token = await settle(fake, generations.current('ns', 0));
    expect(token).not.toBe('stale000');
    expect(fake.data.get(generationKey('ns'))).toBe(token);
    // Read back as stored: every later read agrees, so writes under it stay readable.
    expect(await settle(fake, generations.current('ns', 0))).toBe(token);
  });

  it('does not bring back the old token when a renew happens during a read', async () => {
    const fake = fakeClient();
    const generations = new Generations(fake.client);
    fake.data.set(generationKey('ns'), 'old00000');
    const reading = generations.current('ns', 60_000);
    await generations.renew('ns');
    const renewed = fake.data.get(generationKey('ns'));
    expect(renewed).not.toBe('old00000');
    expect(await settle(fake, reading)).toBe(renewed);
    expect(await generations.current('ns', 60_000)).toBe(renewed);
  });
});
