import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CacheServer } from '../src/index.js';

const BIN = fileURLToPath(new URL('../bin/dcache-server.js', import.meta.url));

/** Sends one request over a fresh connection and resolves with the reply once it ends with `until`. */
async function memcached(port: number, request: string, until: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(request);
  let reply = '';
  for await (const chunk of socket as AsyncIterable<Buffer>) {
    reply += chunk.toString('latin1');
    if (reply.endsWith(until)) break;
  }
  socket.destroy();
  return reply;
}

const servers: CacheServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(): Promise<{ url: string; port: number; server: CacheServer }> {
  const server = new CacheServer({ memcachedPort: 0, logLevel: 'silent', stallThreshold: 0 });
  servers.push(server);
  const address = await server.listen({ host: '127.0.0.1', port: 0 });
  expect(address.memcached).toBeDefined();
  return { url: address.url, port: address.memcached!.port, server };
}

describe('CacheServer with memcachedPort: one cache, two front doors', () => {
  it('serves a value written over HTTP to memcached, with the flags of its encoding', async () => {
    const { url, port } = await start();
    const put = await fetch(`${url}/v1/keys/greeting`, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(put.status).toBe(204);
    expect(await memcached(port, 'get greeting\r\n', 'END\r\n')).toBe(
      'VALUE greeting 16 5\r\nhello\r\nEND\r\n',
    );
  });

  it('serves a value written over memcached to HTTP, as JSON when its flags say JSON', async () => {
    const { url, port } = await start();
    const body = '{"a":1}';
    expect(await memcached(port, `set doc 2 0 ${body.length}\r\n${body}\r\n`, '\r\n')).toBe(
      'STORED\r\n',
    );
    const res = await fetch(`${url}/v1/keys/doc`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ a: 1 });
  });

  it('close() ends open memcached connections and frees the port', async () => {
    const { port, server } = await start();
    const socket: Socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const closed = once(socket, 'close');
    await server.close();
    await closed;
    expect(server.memcached).toBeUndefined();
  });

  it.each([
    [{ token: 'secret', memcachedPort: 0 }, 1],
    [{ token: 'secret' }, 0],
    [{ memcachedPort: 0 }, 0],
  ])('warns once at start that the memcached port ignores the token: %j', async (options, n) => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const server = new CacheServer({ ...options, logLevel: 'warn', stallThreshold: 0 });
      servers.push(server);
      await server.listen({ host: '127.0.0.1', port: 0 });
      const warnings = write.mock.calls.filter(([line]) =>
        String(line).includes('memcached port does not check --token'),
      );
      expect(warnings).toHaveLength(n);
      if (n > 0) expect(String(warnings[0]![0])).toMatch(/ warn /);
    } finally {
      write.mockRestore();
    }
  });

  it('refuses a bad memcachedPort with a RangeError naming it', () => {
    expect(() => new CacheServer({ memcachedPort: 70000 })).toThrow(/memcachedPort/);
    expect(() => new CacheServer({ memcachedPort: -1 })).toThrow(RangeError);
  });
});

describe('dcache-server --memcached-port', () => {
  it('announces the memcached address, answers on it, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [BIN, '--port', '0', '--log-level', 'silent'], {
      env: { PATH: process.env.PATH, DCACHE_MEMCACHED_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
      const match = /memcached protocol on 127\.0\.0\.1:(\d+)/.exec(line);
      expect(match, line).not.toBeNull();
      expect(await memcached(Number(match![1]), 'version\r\n', '\r\n')).toMatch(
        /^VERSION \S+\r\n$/,
      );
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
