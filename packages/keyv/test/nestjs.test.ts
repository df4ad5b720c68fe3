// NestJS's CacheModule with both stores, against dcache nodes started through the CLI.
import 'reflect-metadata';
import { DistributedCacheClient } from '@dcache/client';
import { CACHE_MANAGER, CacheModule } from '@nestjs/cache-manager';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Cache } from 'cache-manager';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DcacheKeyvStore, DcacheMemoryStore } from '../src/index.js';
import { startNodes, stopNodes } from './cluster.js';
import { keyOnTheNodes } from './stored.js';

let nodes: string[];
let app: INestApplicationContext | undefined;
let reader: DistributedCacheClient;

beforeAll(async () => {
  nodes = await startNodes(2);
  reader = new DistributedCacheClient(nodes);
});

afterEach(async () => {
  await app?.close();
  app = undefined;
});

afterAll(async () => {
  await reader?.close();
  await stopNodes();
});

describe('CacheModule.register({ stores })', () => {
  it('caches through both tiers, and app.close() closes the client the store made', async () => {
    const remote = new DcacheKeyvStore({ nodes });
    app = await NestFactory.createApplicationContext(
      CacheModule.register({
        stores: [new DcacheMemoryStore({ maxMemory: 1024 * 1024 }), remote],
        namespace: 'nest',
        ttl: 60_000,
      }),
      { logger: false },
    );
    const cache = app.get<Cache>(CACHE_MANAGER);
    let loads = 0;
    const load = async () => {
      loads += 1;
      return { id: 7 };
    };
    expect(await cache.wrap('order:7', load)).toEqual({ id: 7 });
    expect(await cache.wrap('order:7', load)).toEqual({ id: 7 });
    expect(loads).toBe(1);
    // On the nodes, under the module's namespace, with the module's TTL.
    const entry = await reader.getVersioned(await keyOnTheNodes(reader, 'nest', 'order:7'));
    expect(entry?.ttl).toBeGreaterThan(50_000);
    expect(entry?.ttl).toBeLessThanOrEqual(60_000);

    await app.close();
    app = undefined;
    await expect(remote.client.get('anything')).rejects.toThrow('the client is closed');
  });
});
