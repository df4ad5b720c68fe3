import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { VERSION } from '../src/index.js';
import { startUpload } from './helpers.js';

// The real bin shim, which imports ../dist/cli.js: build the package before running this file.
const BIN = fileURLToPath(new URL('../bin/dcache-server.js', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

function runOnce(args: string[], env: Record<string, string> = {}) {
  const out = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...env },
    timeout: 20_000,
  });
  return { code: out.status, stdout: out.stdout, stderr: out.stderr };
}

const children = new Set<ChildProcess>();

/** Spawns a node and resolves with its listening line. */
function startCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; line: string; url: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`exited ${code} before listening`)));
    createInterface({ input: child.stdout! }).once('line', (line) => {
      const url = /https?:\/\/\S+/.exec(line)?.[0];
      if (url) resolve({ child, line, url });
      else reject(new Error(`unexpected first line: ${line}`));
    });
  });
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('dcache-server CLI (a real process)', () => {
  beforeAll(() => {
    if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run the package build first`);
  });
  afterEach(() => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    children.clear();
  });

  it('--help lists every flag with its environment variable and exits 0', () => {
    const { code, stdout } = runOnce(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: dcache-server/);
    for (const flag of [
      '--port',
      '--host',
      '--max-memory',
      '--max-items',
      '--default-ttl',
      '--max-key-bytes',
      '--max-value-bytes',
      '--token',
      '--node-id',
      '--log-level',
      '--tls-cert',
      '--tls-key',
      '--version',
    ]) {
      expect(stdout).toContain(flag);
    }
    expect(stdout).toContain('DCACHE_MAX_MEMORY');
  });

  it('--version prints the package version', () => {
    const { code, stdout } = runOnce(['--version']);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(VERSION);
  });

  it.each([
    [['--bogus'], {}, '--bogus'],
    [['--max-memory', 'lots'], {}, '--max-memory'],
    [['--port', '99999'], {}, '--port'],
    [['--max-items', '0'], {}, '--max-items'],
    [['--log-level', 'loud'], {}, '--log-level'],
    [['--tls-cert', '/nonexistent.pem'], {}, '--tls-cert'],
    [[], { DCACHE_PORT: 'eighty' }, 'DCACHE_PORT'],
    [[], { DCACHE_DEFAULT_TTL: '-5' }, 'DCACHE_DEFAULT_TTL'],
    [['--default-ttl', '9007199254740992'], {}, '--default-ttl'],
    [[], { DCACHE_TOKEN: 'secret ' }, 'DCACHE_TOKEN'],
  ])('refuses %j %j with exit code 2, naming %s', (args, env, flag) => {
    const { code, stderr } = runOnce(args, env);
    expect(code).toBe(2);
    expect(stderr).toContain(flag);
    expect(stderr).toContain('--help');
  });

  it.each([
    [['--peers', 'http://admin:hunter2@10.0.0.2:8001/x']],
    [['--peers', 'http://10.0.0.1:8001,https://admin:hunter2@10.0.0.2:99999']],
    [['--peers', 'http://10.0.0.1:8001, http://admin:hunter2@10.0.0.2:8001']],
    [['--peers', 'http://admin:hunter2#x@10.0.0.2:8001']],
  ])('refuses --peers %j without printing the password it holds', (args) => {
    // What the CLI prints goes to logs (journald, a container's): not the secret it refuses.
    const { code, stderr } = runOnce(args);
    expect(code).toBe(2);
    expect(stderr).toContain('--peers');
    expect(stderr).not.toContain('hunter2');
    expect(stderr).not.toContain('admin');
  });

  it('prints one listening line, serves, and exits 0 on SIGTERM', async () => {
    const { child, line, url } = await startCli([
      '--port',
      '0',
      '--node-id',
      'cli-node',
      '--max-memory',
      '10mb',
    ]);
    expect(line).toMatch(
      /^dcache-server \S+ listening on http:\/\/127\.0\.0\.1:\d+ \(node cli-node, max memory 10 MiB\)$/,
    );
    const put = await fetch(`${url}/v1/keys/k`, {
      method: 'PUT',
      body: 'v',
      headers: { 'content-type': 'text/plain' },
    });
    expect(put.status).toBe(204);
    const stats = (await (await fetch(`${url}/v1/stats`)).json()) as Record<string, unknown>;
    expect(stats).toMatchObject({ nodeId: 'cli-node', maxMemory: 10 * 1024 * 1024, items: 1 });
    child.kill('SIGTERM');
    expect(await exitOf(child)).toBe(0);
  });

  it('reads its settings from DCACHE_* variables, flags winning', async () => {
    const { child, url } = await startCli(['--node-id', 'from-flag'], {
      DCACHE_PORT: '0',
      DCACHE_NODE_ID: 'from-env',
      DCACHE_TOKEN: 'tok',
      DCACHE_MAX_VALUE_BYTES: '4',
    });
    expect((await fetch(`${url}/v1/stats`)).status).toBe(401);
    const auth = { authorization: 'Bearer tok' };
    const stats = (await (await fetch(`${url}/v1/stats`, { headers: auth })).json()) as Record<
      string,
      unknown
    >;
    expect(stats.nodeId).toBe('from-flag');
    const big = await fetch(`${url}/v1/keys/k`, { method: 'PUT', body: '12345', headers: auth });
    expect(big.status).toBe(413);
    child.kill('SIGINT');
    expect(await exitOf(child)).toBe(0);
  });

  it('on SIGTERM finishes the request in flight before exiting 0', async () => {
    const { child, url } = await startCli(['--port', '0', '--log-level', 'silent']);
    const { req, status } = startUpload(`${url}/v1/keys/late`, 'first half ');
    // Wait until the node is inside the PUT (it counts itself and the stats request asking).
    await expect
      .poll(
        async () =>
          ((await (await fetch(`${url}/v1/stats`)).json()) as { activeRequests: number })
            .activeRequests,
      )
      .toBe(2);
    child.kill('SIGTERM');
    const exited = exitOf(child);
    req.end('second half');
    expect(await status).toBe(204);
    expect(await exited).toBe(0);
  });

  it('exits 1 with a message when the port is taken', async () => {
    const { child, url } = await startCli(['--port', '0']);
    const port = new URL(url).port;
    const { code, stderr } = runOnce(['--port', port]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
    child.kill('SIGTERM');
    await exitOf(child);
  });

  it('names the memcached port when that is the one taken', async () => {
    const { child, url } = await startCli(['--port', '0']);
    const taken = new URL(url).port;
    const { code, stderr } = runOnce(['--port', '0', '--memcached-port', taken]);
    expect(code).toBe(1);
    expect(stderr).toContain(`cannot listen on 127.0.0.1:${taken}: `);
    expect(stderr).toMatch(/EADDRINUSE/);
    child.kill('SIGTERM');
    await exitOf(child);
  });

  it('names the memcached host when that is the one that does not resolve', () => {
    const { code, stderr } = runOnce([
      '--port',
      '0',
      '--memcached-port',
      '0',
      '--memcached-host',
      'no-such-host.invalid',
    ]);
    expect(code).toBe(1);
    expect(stderr).toContain('cannot listen on no-such-host.invalid:0: ');
  });

  it('--help explains warm restarts', () => {
    const { code, stdout } = runOnce(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Warm restarts (--snapshot-file)');
    expect(stdout).toMatch(/temporary file in the same directory, fsynced, then renamed/);
    expect(stdout).toMatch(
      /invalid one is logged as an\nerror, moved aside to FILE.unreadable and the node starts empty/,
    );
  });

  it('--snapshot-file --trust-snapshot: SIGTERM saves the cache, the next start serves it again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dcache-cli-snapshot-'));
    try {
      const file = join(dir, 'node.snapshot');
      // Trusted: served as restored (without it, restored entries are unverified:
      // snapshot-fence.test.ts).
      const args = ['--port', '0', '--snapshot-file', file, '--trust-snapshot'];
      const first = await startCli(args);
      const put = await fetch(`${first.url}/v1/keys/kept`, {
        method: 'PUT',
        body: 'across restarts',
        headers: { 'content-type': 'text/plain' },
      });
      expect(put.status).toBe(204);
      const etag = put.headers.get('etag');
      first.child.kill('SIGTERM');
      expect(await exitOf(first.child)).toBe(0);
      expect(existsSync(file)).toBe(true);

      const second = await startCli(args);
      const got = await fetch(`${second.url}/v1/keys/kept`);
      expect(got.status).toBe(200);
      expect(await got.text()).toBe('across restarts');
      expect(got.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(got.headers.get('etag')).not.toBe(etag); // versions never repeat across restarts
      second.child.kill('SIGTERM');
      expect(await exitOf(second.child)).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('ignores SIGHUP (a closed terminal): keeps serving, and SIGTERM still saves its snapshot', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dcache-cli-sighup-'));
    try {
      const file = join(dir, 'node.snapshot');
      const { child, url } = await startCli(['--port', '0', '--snapshot-file', file]);
      child.kill('SIGHUP');
      const put = await fetch(`${url}/v1/keys/k`, { method: 'PUT', body: 'v' });
      expect(put.status).toBe(204);
      expect(child.exitCode).toBeNull();
      child.kill('SIGTERM');
      expect(await exitOf(child)).toBe(0);
      expect(existsSync(file)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('--snapshot-file in a directory that cannot be written: said at start, not only at shutdown', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dcache-cli-snapshot-'));
    try {
      const target = join(dir, 'missing-directory', 'node.snap');
      const { child } = await startCli(['--port', '0', '--snapshot-file', target]);
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      await vi.waitFor(() =>
        expect(stderr).toContain(
          `the snapshot ${target} is saved in the same directory and will fail the same way at shutdown`,
        ),
      );
      child.kill('SIGTERM');
      expect(await exitOf(child)).toBe(1);
      expect(stderr).toContain(`dcache-server: cannot save snapshot ${target}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('--snapshot-file that cannot be written: serves, then exits 1 naming the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dcache-cli-snapshot-'));
    try {
      // A directory, inside the temp dir: the node's version fence (`<snapshot>.fence`) is written
      // beside it, and goes with the temp dir.
      const target = join(dir, 'a-directory');
      await mkdir(target);
      const { child, url } = await startCli(['--port', '0', '--snapshot-file', target]);
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      // A save on request fails too: a 500, logged as the node's failure at the default level.
      expect((await fetch(`${url}/v1/snapshot`, { method: 'POST' })).status).toBe(500);
      await vi.waitFor(() => expect(stderr).toMatch(/error 500 POST \/v1\/snapshot: /));
      child.kill('SIGTERM');
      expect(await exitOf(child)).toBe(1);
      expect(stderr).toContain(`dcache-server: cannot save snapshot ${target}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
