import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenersOn } from './helpers/ports.js';
import { start } from './helpers/run.js';
import type { Running } from './helpers/run.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PACKAGES = ['core', 'ring', 'server', 'client', 'keyv'] as const;
const PNPM = 'pnpm@10.34.8';

/**
 * The environment of a user's shell: without the npm_* / pnpm_* variables a `pnpm test` run
 * exports, which would otherwise leak workspace settings into the fresh install.
 */
const userEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([name]) => !/^(npm_|pnpm_|INIT_CWD$|NODE_OPTIONS$|VITEST)/i.test(name),
  ),
);

let tmp: string;
let app: string;
const tarballs = new Map<string, string>();
let server: Running | undefined;

beforeAll(async () => {
  for (const name of PACKAGES) {
    const entry = join(ROOT, 'packages', name, 'dist', 'index.js');
    if (!existsSync(entry))
      throw new Error(`${entry} is missing: build the packages first (pnpm build)`);
  }
  const started = performance.now();
  tmp = await mkdtemp(join(tmpdir(), 'dcache-packaging-'));
  const packed = join(tmp, 'tarballs');
  // `pnpm pack` (not npm pack) rewrites workspace:* ranges to real versions, as publishing does.
  await run(
    'npx',
    [
      '--yes',
      PNPM,
      '--recursive',
      ...PACKAGES.flatMap((name) => ['--filter', `@dcache/${name}`]),
      'pack',
      '--pack-destination',
      packed,
    ],
    { cwd: ROOT, env: userEnv },
  );
  for (const file of await readdir(packed)) {
    const name = /^dcache-(\w+)-\d+\.\d+\.\d+.*\.tgz$/.exec(file)?.[1];
    if (name !== undefined) tarballs.set(name, join(packed, file));
  }
  console.log(
    `packaging: pnpm pack x${PACKAGES.length} took ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  app = join(tmp, 'app');
  await run('mkdir', ['-p', app]);
  await writeFile(
    join(app, 'package.json'),
    JSON.stringify({ name: 'dcache-user-app', private: true, type: 'module' }),
  );
}, 120_000);

afterAll(async () => {
  if (server !== undefined) {
    // Only reached when the test failed midway: make sure npx and the node it ran are gone.
    server.killGroup('SIGKILL');
    await server.finished;
  }
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

async function packedFile(name: string, path: string): Promise<string> {
  const { stdout } = await run('tar', ['-xzOf', tarballs.get(name)!, `package/${path}`]);
  return stdout;
}

describe('the packages as users install them from npm', () => {
  it('packs five tarballs outside the workspace, with workspace:* rewritten to real versions', async () => {
    expect(tmp.startsWith(ROOT)).toBe(false);
    expect([...tarballs.keys()].sort()).toEqual([...PACKAGES].sort());
    for (const name of PACKAGES) {
      const manifest = JSON.parse(await packedFile(name, 'package.json')) as Record<
        string,
        Record<string, string> | undefined
      >;
      const ranges = {
        ...manifest.dependencies,
        ...manifest.peerDependencies,
        ...manifest.optionalDependencies,
      };
      expect(Object.values(ranges).filter((range) => range.startsWith('workspace:'))).toEqual([]);
      for (const [dependency, range] of Object.entries(ranges)) {
        if (dependency.startsWith('@dcache/')) expect(range).toMatch(/^\^?\d+\.\d+\.\d+/);
      }
      const { stdout: listing } = await run('tar', ['-tzf', tarballs.get(name)!]);
      expect(listing).toContain('package/dist/index.js');
      expect(listing).toContain('package/dist/index.d.ts');
      // src/ ships so the source maps resolve; tests and benchmarks never ship.
      expect(listing).toContain('package/src/index.ts');
      expect(listing).not.toMatch(/package\/(test|bench)\//);
      expect(listing).not.toMatch(/\.test\.(js|ts)$/m);
      // Nor do the tests' helpers kept beside the source (core's src/test-clock.ts, …).
      expect(listing).not.toMatch(/package\/src\/test-/);
    }
    const serverManifest = JSON.parse(await packedFile('server', 'package.json')) as {
      bin?: Record<string, string>;
    };
    expect(serverManifest.bin).toEqual({ 'dcache-server': './bin/dcache-server.js' });
    // The server README sends memcached users to MEMCACHED.md, beside it.
    const { stdout: serverListing } = await run('tar', ['-tzf', tarballs.get('server')!]);
    expect(serverListing).toContain('package/MEMCACHED.md');
    // Keyv stays a peer: the application, cache-manager and NestJS must share one Keyv.
    const keyvManifest = JSON.parse(await packedFile('keyv', 'package.json')) as {
      peerDependencies?: Record<string, string>;
      dependencies?: Record<string, string>;
    };
    expect(keyvManifest.peerDependencies).toEqual({ keyv: expect.stringMatching(/^\^5\./) });
    expect(Object.keys(keyvManifest.dependencies ?? {}).sort()).toEqual([
      '@dcache/client',
      '@dcache/core',
    ]);
  });

  it('installs with plain npm, runs `npx dcache-server`, and a script using @dcache/client, @dcache/core and @dcache/keyv works against it', async () => {
    const installing = performance.now();
    await run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        ...PACKAGES.map((name) => tarballs.get(name)!),
      ],
      {
        cwd: app,
        env: userEnv,
        timeout: 150_000,
      },
    );

    console.log(
      `packaging: npm install took ${((performance.now() - installing) / 1000).toFixed(1)} s`,
    );
    server = start(
      'npx',
      ['dcache-server', '--port', '0', '--node-id', 'packaged', '--max-memory', '16mb'],
      {
        cwd: app,
        env: userEnv,
        // Its own process group, so the test can signal npx and the node it started together.
        detached: true,
      },
    );
    const [, url] = await server.waitFor(/listening on (https?:\/\/\S+)/, 30_000);
    expect(server.stdout).toMatch(/node packaged/);

    const script = `
      import { DistributedCacheClient } from '@dcache/client';
      import { LruCache } from '@dcache/core';
      import { DcacheKeyvStore, DcacheMemoryStore } from '@dcache/keyv';
      import Keyv from 'keyv';
      const client = new DistributedCacheClient([process.argv[2]], { replicas: 1 });
      const profile = { name: 'Ada', langs: ['en', 'fr'], since: new Date('2020-02-02T00:00:00Z'), visits: 3 };
      await client.set('user:1', profile, { ttl: 60_000 });
      const back = await client.get('user:1');
      await client.setMany([['a', 1], ['b', 2], ['c', 3]]);
      const many = await client.getMany(['a', 'b', 'c', 'missing']);
      const deleted = await client.delete('b');
      const stats = await client.getStats();
      await client.close();
      const local = new LruCache({ maxMemory: 1024 * 1024 });
      local.set('user:1', back);
      // keyv came in as @dcache/keyv's peer dependency: npm installs peers.
      const keyv = new Keyv({ store: new DcacheKeyvStore({ nodes: [process.argv[2]] }), namespace: 'app' });
      await keyv.set('page:1', { title: 'Home' }, 60_000);
      const page = await keyv.get('page:1');
      await keyv.clear();
      const afterClear = await keyv.get('page:1');
      await keyv.disconnect();
      const memoryKeyv = new Keyv({ store: new DcacheMemoryStore({ maxItems: 10 }) });
      await memoryKeyv.set('x', 1);
      console.log(JSON.stringify({
        name: back.name,
        sinceIsDate: back.since instanceof Date,
        many: [...many],
        deleted,
        items: stats.totals.items,
        local: local.get('user:1')?.name,
        localItems: local.stats.items,
        page: page?.title,
        afterClear: afterClear === undefined,
        memoryKeyv: await memoryKeyv.get('x'),
      }));
    `;
    await writeFile(join(app, 'check.mjs'), script);
    const { stdout } = await run(process.execPath, ['check.mjs', url!], {
      cwd: app,
      env: userEnv,
      timeout: 30_000,
    });
    expect(JSON.parse(stdout.trim())).toEqual({
      name: 'Ada',
      sinceIsDate: true,
      many: [
        ['a', 1],
        ['b', 2],
        ['c', 3],
      ],
      deleted: true,
      items: 3,
      local: 'Ada',
      localItems: 1,
      page: 'Home',
      afterClear: true,
      memoryKeyv: 1,
    });

    // CommonJS too: Node ≥ 20.19 require()s an ES module, given an exports condition it may take.
    const commonJs = `
      const { DistributedCacheClient } = require('@dcache/client');
      const { LruCache } = require('@dcache/core');
      const { HashRing } = require('@dcache/ring');
      const { CacheServer } = require('@dcache/server');
      const { DcacheMemoryStore } = require('@dcache/keyv');
      (async () => {
        const client = new DistributedCacheClient([process.argv[2]], { replicas: 1 });
        await client.set('from-cjs', { via: 'require' });
        const back = await client.get('from-cjs');
        await client.close();
        const local = new LruCache({ maxItems: 2 });
        local.set('k', 'v');
        console.log(JSON.stringify({
          via: back.via,
          local: local.get('k'),
          owner: new HashRing(['http://a', 'http://b']).get('k').startsWith('http://'),
          server: typeof CacheServer,
          keyvStore: typeof DcacheMemoryStore,
        }));
      })();
    `;
    await writeFile(join(app, 'check.cjs'), commonJs);
    const { stdout: fromCommonJs } = await run(process.execPath, ['check.cjs', url!], {
      cwd: app,
      env: userEnv,
      timeout: 30_000,
    });
    expect(JSON.parse(fromCommonJs.trim())).toEqual({
      via: 'require',
      local: 'v',
      owner: true,
      server: 'function',
      keyvStore: 'function',
    });

    // What the script wrote is really on the node: a plain HTTP read sees it as JSON.
    const response = await fetch(`${url}/v1/keys/a`, { headers: { accept: 'application/json' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toBe(1);

    // npx itself dies of the signal; what matters is that the node it ran shut down with it. Its
    // port, freed in the ephemeral range, may be another test's by now: only a listener in the
    // group npx leads (its pid) is a leftover — and the node is one now.
    const group = server.pid;
    const port = Number(new URL(url!).port);
    const inGroup = () => listenersOn(port).filter((listener) => listener.pgid === group);
    expect(inGroup()).toHaveLength(1);
    server.killGroup('SIGTERM');
    await server.finished;
    server = undefined;
    expect(inGroup()).toEqual([]);
  }, 180_000);
});
