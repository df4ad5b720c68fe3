import { afterEach, describe, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from '../cli-node.js';
import { destroySockets, rawClient } from './http-sockets.js';

afterEach(async () => {
  destroySockets();
  await stopCliNodes();
});

/** A TLS 1.2 ClientHello's first bytes: a client speaking HTTPS to the plain HTTP port. */
const TLS_HELLO = Buffer.from('16030100a5010000a10303', 'hex');
/** A memcached binary-protocol GET of "k" (magic 0x80). */
const BINARY_GET = Buffer.from('800000010000000000000001000000000000000000000000' + '6b', 'hex');

describe('other protocols sent to the HTTP port', () => {
  it.each<[string, string | Buffer]>([
    ['memcached get', 'get foo\r\n'],
    ['memcached set', 'set foo 0 0 3\r\nbar\r\n'],
    ['memcached meta get', 'mg foo v\r\n'],
    ['memcached stats', 'stats\r\n'],
    ['memcached binary get', BINARY_GET],
    ['a TLS ClientHello', TLS_HELLO],
    ['a Redis command', '*1\r\n$4\r\nPING\r\n'],
  ])(
    '%s: a clean 400 in the JSON error shape, then the connection is closed',
    async (_name, bytes) => {
      const node = await startCliNode(['--log-level', 'warn']);
      const client = await rawClient(node);
      client.socket.write(bytes);
      await client.closed;
      const reply = client.received();
      expect(reply).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(reply).toContain('connection: close');
      expect(JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4))).toMatchObject({
        error: { code: 'bad_request' },
      });
      expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
      expect(node.child.exitCode).toBeNull();
    },
  );
});
