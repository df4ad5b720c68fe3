import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { DistributedCacheClient } from '@dcache/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  contextFiles,
  dockerignore,
  envOf,
  only,
  parseDockerfile,
  readText,
} from './dockerfile.js';
import { DEPLOY_DIR } from './manifests.js';
import { startNode, stopNodes } from './node-process.js';

const run = promisify(execFile);
const REPO = join(DEPLOY_DIR, '..');
const [build, runtime] = parseDockerfile(readText(join(DEPLOY_DIR, 'Dockerfile')));
const ignored = dockerignore(readText(join(DEPLOY_DIR, 'Dockerfile.dockerignore')));

describe('deploy/Dockerfile', () => {
  it('has a build stage and a runtime stage on the same Node 20 slim base', () => {
    expect(build![0]!.args).toBe('${NODE_IMAGE} AS build');
    expect(runtime![0]!.args).toBe('${NODE_IMAGE}');
    expect(readText(join(DEPLOY_DIR, 'Dockerfile'))).toMatch(
      /^ARG NODE_IMAGE=node:20-bookworm-slim$/m,
    );
  });

  it('runs as a non-root user under tini, stops with SIGTERM, keeps /data in a volume', () => {
    expect(only(runtime!, 'USER')).toBe('1000:1000');
    expect(JSON.parse(only(runtime!, 'ENTRYPOINT'))).toEqual([
      'tini',
      '--',
      'node',
      '/app/bin/dcache-server.js',
    ]);
    expect(only(runtime!, 'STOPSIGNAL')).toBe('SIGTERM');
    expect(only(runtime!, 'VOLUME')).toBe('/data');
    expect(only(runtime!, 'EXPOSE')).toBe('8001');
    expect(envOf(runtime!)).toMatchObject({
      DCACHE_HOST: '0.0.0.0',
      DCACHE_PORT: '8001',
      DCACHE_SNAPSHOT_FILE: '/data/dcache.snapshot',
    });
    expect(envOf(runtime!)).not.toHaveProperty('DCACHE_TOKEN');
  });

  it('sends a small build context: the server, core and root files, no node_modules or dist', () => {
    const files = contextFiles(REPO, ignored);
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'pnpm-lock.yaml',
        'pnpm-workspace.yaml',
        'tsconfig.base.json',
        'packages/core/package.json',
        'packages/server/package.json',
        'packages/server/bin/dcache-server.js',
        'packages/server/src/cli.ts',
        'deploy/docker/install.sh',
        'deploy/docker/healthcheck.mjs',
      ]),
    );
    for (const path of files) {
      expect(path).toMatch(/^(packages\/(core|server)\/|deploy\/docker\/|[^/]+$)/);
      expect(path).not.toMatch(/(^|\/)(node_modules|dist|test|bench)\//);
    }
    for (const path of ['node_modules/x', '.git/HEAD', 'packages/server/dist/cli.js']) {
      expect(ignored(path)).toBe(true);
    }
  });
});

describe("the Dockerfile's build and start steps, run in a temp dir", () => {
  let root: string;
  const token = 'a-token-for-the-dockerfile-test';
  /** The image's paths, moved under the temp dir. */
  const inImage = (text: string): string =>
    text.replace(
      /(^|[\s=])\/(app|data|src)\b/g,
      (_m, before: string, dir: string) => `${before}${root}/${dir}`,
    );

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'dcache-image-'));
    // COPY . . in WORKDIR /src: the build context, as the ignore file shapes it.
    expect(only(build!, 'WORKDIR')).toBe('/src');
    for (const path of contextFiles(REPO, ignored)) {
      mkdirSync(dirname(join(root, 'src', path)), { recursive: true });
      cpSync(join(REPO, path), join(root, 'src', path));
    }
  });
  afterAll(async () => {
    await stopNodes();
    rmSync(root, { recursive: true, force: true });
  });

  it('RUN installs, builds and deploys the server to /app with production dependencies only', async () => {
    const command = inImage(only(build!, 'RUN'));
    expect(command).toBe(`sh deploy/docker/install.sh ${root}/app`);
    await run('sh', ['-c', command], {
      cwd: join(root, 'src'),
      env: process.env,
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(existsSync(join(root, 'app/bin/dcache-server.js'))).toBe(true);
    expect(existsSync(join(root, 'app/dist/cli.js'))).toBe(true);
    expect(existsSync(join(root, 'app/node_modules/@dcache/core/dist/index.js'))).toBe(true);
    expect(existsSync(join(root, 'app/node_modules/hono'))).toBe(true);
    // Dev dependencies of the server (benchmark and test tools) stay out of the image.
    expect(existsSync(join(root, 'app/node_modules/autocannon'))).toBe(false);
    expect(existsSync(join(root, 'app/node_modules/fast-check'))).toBe(false);
  });

  it('the ENTRYPOINT serves, HEALTHCHECK passes, SIGTERM saves the snapshot, a restart loads it', async () => {
    // COPY deploy/docker/healthcheck.mjs /app/healthcheck.mjs, and the /data directory.
    const copy = runtime!.find((i) => i.keyword === 'COPY' && i.args.includes('healthcheck.mjs'));
    const [from, to] = copy!.args.split(' ');
    cpSync(join(root, 'src', from!), inImage(to!));
    mkdirSync(join(root, 'data'));

    const [, , ...command] = JSON.parse(only(runtime!, 'ENTRYPOINT')) as string[]; // after tini --
    expect(command[0]).toBe('node');
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(envOf(runtime!))) env[name] = inImage(value);
    // At run time: the token; in a test, loopback and an ephemeral port.
    Object.assign(env, { DCACHE_TOKEN: token, DCACHE_HOST: '127.0.0.1', DCACHE_PORT: '0' });
    const start = () => startNode({ bin: inImage(command[1]!), env, cwd: join(root, 'data') });

    const node = await start();
    const port = new URL(node.url).port;
    const healthcheck = JSON.parse(
      /CMD (\[.*\])$/.exec(only(runtime!, 'HEALTHCHECK'))![1]!,
    ) as string[];
    expect(healthcheck.slice(0, 2)).toEqual(['node', '/app/healthcheck.mjs']);
    const check = () =>
      run(process.execPath, [inImage(healthcheck[1]!)], { env: { DCACHE_PORT: port } }).then(
        () => 0,
        (error: { code: number }) => error.code,
      );
    expect(await check()).toBe(0);

    const auth = { authorization: `Bearer ${token}` };
    expect((await fetch(`${node.url}/v1/keys/k`, { method: 'PUT', body: 'v' })).status).toBe(401);
    const put = await fetch(`${node.url}/v1/keys/k`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'text/plain' },
      body: 'kept across restarts',
    });
    expect(put.status).toBe(204);

    expect(await node.stop('SIGTERM')).toBe(0);
    expect(existsSync(join(root, 'data/dcache.snapshot'))).toBe(true);
    expect(await check()).toBe(1); // nothing listens any more

    const again = await start();
    // Restored entries are unverified (they may have been overwritten while the node was down): a
    // plain GET misses them, and a cluster client serves them once no other replica can refute
    // them — here, a one-node cluster, at once.
    expect((await fetch(`${again.url}/v1/keys/k`, { headers: auth })).status).toBe(404);
    const client = new DistributedCacheClient([again.url], { token });
    try {
      expect(await client.get('k')).toBe('kept across restarts');
    } finally {
      await client.close();
    }
    expect(await again.stop('SIGTERM')).toBe(0);
  });
});
