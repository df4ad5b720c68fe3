import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startCliNode, stopCliNodes } from '../cli-node.js';
import { makeSelfSignedPair } from '../self-signed.js';
import type { CliNode } from '../cli-node.js';
import { destroySockets, rawClient } from './http-sockets.js';
import type { RawClient } from './http-sockets.js';
import { EVENTUALLY } from '../eventually.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dcache-hostile-tls-'));
  makeSelfSignedPair(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  destroySockets();
  await stopCliNodes();
});

/** GET /healthz over HTTPS, trusting the test's certificate. */
function healthz(node: CliNode): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${node.url}/healthz`,
      { ca: readFileSync(join(dir, 'cert.pem')) },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function tlsNode(args: string[]): Promise<CliNode> {
  return startCliNode([
    '--tls-cert',
    join(dir, 'cert.pem'),
    '--tls-key',
    join(dir, 'key.pem'),
    '--log-level',
    'warn',
    ...args,
  ]);
}

describe('the HTTPS door', () => {
  it('closes connections that never finish the TLS handshake at the headers timeout', async () => {
    const node = await tlsNode(['--headers-timeout', '1000']);
    expect(node.url).toMatch(/^https:/);
    const idle: RawClient[] = [];
    for (let i = 0; i < 20; i++) idle.push(await rawClient(node));
    idle[0]!.socket.write(Buffer.from('16030100', 'hex')); // half a record header
    const started = performance.now();
    await Promise.all(idle.map((c) => c.closed));
    // Node's own handshake timeout is 120 s.
    expect(performance.now() - started).toBeLessThan(4000);
    expect(await healthz(node)).toBe(200);
  });

  it('closes a connection speaking plain HTTP or memcached to it at once', async () => {
    const node = await tlsNode([]);
    for (const bytes of ['GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 'get foo\r\n']) {
      const client = await rawClient(node);
      client.socket.write(bytes);
      await client.closed;
      expect(client.received()).not.toContain('HTTP/1.1');
    }
    expect(await healthz(node)).toBe(200);
  });

  it('keeps at most maxConnections open', async () => {
    const node = await tlsNode(['--max-connections', '5']);
    const clients: RawClient[] = [];
    for (let i = 0; i < 12; i++) clients.push(await rawClient(node));
    await Promise.all(clients.slice(5).map((c) => c.closed));
    expect(clients.slice(0, 5).every((c) => !c.socket.destroyed)).toBe(true);
    destroySockets();
    // Served once the node has seen those connections close.
    await vi.waitFor(async () => expect(await healthz(node).catch(() => 0)).toBe(200), EVENTUALLY);
  });
});
