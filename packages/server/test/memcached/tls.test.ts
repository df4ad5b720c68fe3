import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { LruCache } from '@dcache/core';
import { createMemcachedListener } from '../../src/memcached/index.js';
import type { StoredValue } from '../../src/operations/stored-value.js';
import { startCliNode, stopCliNodes } from '../cli-node.js';
import { makeSelfSignedPair } from '../self-signed.js';
import { ask, destroySockets, openSocket, readUntilClose } from '../hostile/memcached-sockets.js';

let dir: string;
let certFile: string;
let keyFile: string;
let authFile: string;
const secure = new Set<TLSSocket>();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dcache-mc-tls-'));
  authFile = join(dir, 'auth');
  writeFileSync(authFile, 'alice:s3cret\n');
  ({ certFile, keyFile } = makeSelfSignedPair(dir));
});
afterEach(async () => {
  for (const socket of secure) socket.destroy();
  secure.clear();
  destroySockets();
  await stopCliNodes();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function startTlsNode(extra: string[] = []) {
  return startCliNode([
    '--memcached-port',
    '0',
    '--tls-cert',
    certFile,
    '--tls-key',
    keyFile,
    '--memcached-tls',
    '--log-level',
    'warn',
    ...extra,
  ]);
}

function connectTls(port: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(certFile) });
    secure.add(socket);
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Debian's python3-pymemcache lives in the system Python (a pyenv `python3` may lack it). */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const PYMEMCACHE_SCRIPT = `
import ssl, sys
from pymemcache.client.base import Client
context = ssl.create_default_context(cafile=sys.argv[2])
client = Client(('127.0.0.1', int(sys.argv[1])), tls_context=context, connect_timeout=5, timeout=5)
big = b'x' * 300000
assert client.set('py-key', b'from python', noreply=False)
assert client.set('py-big', big, noreply=False)
assert client.get('py-key') == b'from python'
many = client.get_many(['py-key', 'py-big', 'missing'])
assert many == {'py-key': b'from python', 'py-big': big}, many
print('ok', client.version().decode())
`;

describe('TLS on the memcached port (--memcached-tls, memcached -Z)', () => {
  test('a Node TLS client stores and reads, beside the HTTPS API', async () => {
    const node = await startTlsNode();
    const client = await connectTls(node.memcached!.port);
    expect(await ask(client, 'set k 5 0 2\r\nhi\r\nget k\r\n', 'END\r\n')).toBe(
      'STORED\r\nVALUE k 5 2\r\nhi\r\nEND\r\n',
    );
    expect(node.url).toMatch(/^https:/);
  });

  test('pymemcache, with an ssl context, sets and gets over TLS', async () => {
    const node = await startTlsNode();
    const { stdout } = await promisify(execFile)(
      PYTHON,
      ['-c', PYMEMCACHE_SCRIPT, String(node.memcached!.port), certFile],
      {
        timeout: 15_000,
      },
    );
    expect(stdout).toMatch(/^ok /);
  }, 20_000);

  test('a plain-text client gets no memcached reply and is hung up on', async () => {
    const node = await startTlsNode();
    const plain = await openSocket(node.memcached!.port);
    plain.write('set k 0 0 1\r\nv\r\nget k\r\n');
    const seen = await readUntilClose(plain, 5000);
    expect(seen).not.toContain('STORED');
    expect(seen).not.toContain('<still open>');
  });

  test('authentication runs inside TLS', async () => {
    const node = await startTlsNode(['--memcached-auth-file', authFile]);
    const client = await connectTls(node.memcached!.port);
    expect(await ask(client, 'get k\r\n', '\r\n')).toBe('CLIENT_ERROR unauthenticated\r\n');
    expect(await ask(client, 'set x 0 0 12\r\nalice s3cret\r\nget k\r\n', 'END\r\n')).toBe(
      'STORED\r\nEND\r\n',
    );
  });

  test('--memcached-tls without a certificate is a usage error (exit 2)', async () => {
    await expect(startCliNode(['--memcached-port', '0', '--memcached-tls'])).rejects.toThrow(
      /exited with 2[\s\S]*--memcached-tls: memcachedTls needs tls/,
    );
  });
});

describe("the listener's tls option", () => {
  // Accepted, each of these made a port whose every handshake failed, or one that asked for no
  // client certificate although `requestCert` was set: refused at construction instead.
  test.each<[string, () => Record<string, unknown>, RegExp]>([
    ['no certificate or key', () => ({}), /memcached listener: tls\.cert must be a non-empty/],
    ['empty PEM text', () => ({ cert: '', key: '' }), /memcached listener: tls\.cert must be/],
    [
      'a field it would drop',
      () => ({
        cert: readFileSync(certFile),
        key: readFileSync(keyFile),
        requestCert: true,
        ca: readFileSync(certFile),
      }),
      /memcached listener: unknown option "tls\.requestCert"/,
    ],
  ])('refuses %s', (_what, tls, pattern) => {
    const cache = new LruCache<StoredValue>({ maxMemory: 1024 * 1024 });
    expect(() => createMemcachedListener({ cache, tls: tls() as never })).toThrow(pattern);
  });
});

describe('TLS handshakes that never finish', () => {
  test('are cut off after tlsHandshakeTimeoutMs, freeing the slot', async () => {
    const cache = new LruCache<StoredValue>({ maxMemory: 1024 * 1024 });
    const listener = createMemcachedListener({
      cache,
      tls: { cert: readFileSync(certFile), key: readFileSync(keyFile) },
      tlsHandshakeTimeoutMs: 200,
      maxConnections: 1,
    });
    try {
      const { port } = await listener.listen({ host: '127.0.0.1', port: 0 });
      const stalled = await openSocket(port);
      const started = Date.now();
      expect(await readUntilClose(stalled, 3000)).toBe('');
      expect(Date.now() - started).toBeGreaterThanOrEqual(150);
      // The one slot is free again: a real client gets in.
      const client = await connectTls(port);
      expect(await ask(client, 'set k 0 0 1\r\nv\r\n', '\r\n')).toBe('STORED\r\n');
    } finally {
      await listener.close();
    }
  });
});
