import { DistributedCacheClient } from '@dcache/client';
import { HashRing } from '@dcache/ring';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from '../src/cluster.js';
import { getJson } from '../src/http.js';
import { startNodes } from './helpers/nodes.js';
import { EVENTUALLY } from './helpers/eventually.js';

const SEEDED = 2000;
const WORKERS = 8;
const BEFORE_KILL = 200;
const AFTER_KILL = 400;

/** Waits (bounded) until `condition` holds; the load runs meanwhile. */
async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

let cluster: Cluster;
let client: DistributedCacheClient;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  cluster = await startNodes(3);
  client = new DistributedCacheClient(cluster.urls, {
    replicas: 2,
    // SIGKILL makes connections fail at once; the long timeout only keeps a loaded CI machine from
    // turning slowness into errors.
    timeout: 5000,
    probeInterval: 200,
  });
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await client?.close();
  await cluster?.stop();
});

interface Load {
  /** Operations completed, and how many of them after the kill. */
  done: number;
  doneAfterKill: number;
  errors: unknown[];
  /** Reads that returned something other than what was written. */
  wrong: string[];
  /** Every key whose write was acknowledged, with its value. */
  written: Map<string, number>;
}

/**
 * A closed-loop load: WORKERS callers, each issuing its next operation when the previous one
 * settles (9 reads of seeded keys to 1 new write), so the load is steady and bounded by WORKERS.
 */
function runLoad(load: Load, killed: () => boolean, stop: () => boolean): Promise<void[]> {
  return Promise.all(
    Array.from({ length: WORKERS }, async (_, worker) => {
      for (let i = 0; !stop(); i++) {
        try {
          if (i % 10 === 9) {
            const key = `load:${worker}:${i}`;
            if (await client.set(key, i)) load.written.set(key, i);
          } else {
            const n = (worker * 7919 + i * 104_729) % SEEDED;
            const value = await client.get(`seed:${n}`);
            if (value !== n) load.wrong.push(`seed:${n} -> ${JSON.stringify(value)}`);
          }
        } catch (error) {
          load.errors.push(error);
        }
        load.done += 1;
        if (killed()) load.doneAfterKill += 1;
      }
    }),
  );
}

describe('a node killed under load (3 nodes, replicas = 2)', () => {
  it('loses no key, fails no operation, and serves again once restarted', async () => {
    const seeded = new Map(Array.from({ length: SEEDED }, (_, n) => [`seed:${n}`, n] as const));
    expect(await client.setMany(seeded)).toBe(true);

    const load: Load = { done: 0, doneAfterKill: 0, errors: [], wrong: [], written: new Map() };
    let killed = false;
    let stopped = false;
    const running = runLoad(
      load,
      () => killed,
      () => stopped,
    );
    // Phases are counted in operations, not seconds, so a busy CI machine slows the test, not fails it.
    await until(() => load.done >= BEFORE_KILL, 'the load to warm up');
    const victim = cluster.nodes[1]!;
    const exit = await victim.kill('SIGKILL');
    killed = true;
    expect(exit.signal).toBe('SIGKILL');
    await until(() => load.doneAfterKill >= AFTER_KILL, `${AFTER_KILL} operations after the kill`);
    stopped = true;
    await running;

    expect(load.errors).toEqual([]);
    expect(load.wrong).toEqual([]);
    expect(unhandled).toEqual([]);

    const expected = new Map<string, number>([...seeded, ...load.written]);
    const found = await client.getMany<number>(expected.keys());
    const lost = [...expected]
      .filter(([key, value]) => found.get(key) !== value)
      .map(([key]) => key);
    expect(lost).toEqual([]);

    // Restarted on the same port it is empty; the client's probe notices it and routes to it again.
    await victim.start();
    const ring = new HashRing(cluster.urls);
    const ownKey = Array.from({ length: 100 }, (_, i) => `after-restart:${i}`).find(
      (key) => ring.get(key) === victim.url,
    )!;
    await expect.poll(() => client.nodesFor(ownKey)[0], { timeout: 10_000 }).toBe(victim.url);
    const fresh = Array.from({ length: 300 }, (_, i) => [`after-restart:${i}`, i] as const);
    expect(await client.setMany(fresh)).toBe(true);
    const stats = await getJson<{ items: number; sets: number }>(`${victim.url}/v1/stats`, {
      timeoutMs: EVENTUALLY.timeout,
    });
    expect(stats.items).toBeGreaterThan(100);
    expect(await client.get(ownKey)).toBe(Number(ownKey.split(':')[1]));
    expect(load.errors).toEqual([]);
  });
});
