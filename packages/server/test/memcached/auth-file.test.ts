import { describe, expect, test } from 'vitest';
import { MemcachedCredentials } from '../../src/memcached/auth-file.js';
import { MemcachedCredentials as PackageCredentials } from '../../src/index.js';
import { resolveOptions } from '../../src/options.js';
import { RawClient, startListener } from './helpers.js';

const bytes = (text: string): Buffer => Buffer.from(text);

describe('MemcachedCredentials', () => {
  const users = MemcachedCredentials.parse('alice:s3cret\r\n\nbob:p:w\n', 'test');

  test('matches a listed user with its password, and nothing else', () => {
    expect(users.size).toBe(2);
    expect(users.check(bytes('alice'), bytes('s3cret'))).toBe(true);
    // The password is everything after the first colon.
    expect(users.check(bytes('bob'), bytes('p:w'))).toBe(true);
    expect(users.check(bytes('alice'), bytes('p:w'))).toBe(false);
    expect(users.check(bytes('alice'), bytes('s3cre'))).toBe(false);
    expect(users.check(bytes('alice'), bytes('s3cret!'))).toBe(false);
    expect(users.check(bytes('carol'), bytes('s3cret'))).toBe(false);
    expect(users.check(bytes(''), bytes(''))).toBe(false);
  });

  test.each([
    ['alice\n', /test: line 1 must be user:password/],
    [':pw\n', /line 1/],
    ['ok:pw\nx:\n', /line 2/],
    ['al ice:pw\n', /line 1/],
    ['', /holds no user:password line/],
  ])('refuses %j, naming the line but never a password', (text, message) => {
    expect(() => MemcachedCredentials.parse(text, 'test')).toThrow(message);
    expect(() => MemcachedCredentials.parse(text, 'test')).not.toThrow(/pw/);
  });
});

describe('memcached options', () => {
  test('defaults: loopback, a connection limit within the fd limit, 64 MiB unsent, no auth, no TLS', () => {
    const o = resolveOptions({});
    expect(o.memcachedHost).toBe('127.0.0.1');
    expect(o.memcachedMaxConnections).toBeGreaterThanOrEqual(1);
    expect(o.memcachedMaxConnections).toBeLessThanOrEqual(1024);
    expect(o.memcachedMaxUnsentBytes).toBe(64 * 1024 * 1024);
    expect(o.memcachedCredentials).toBeUndefined();
    expect(o.memcachedTls).toBe(false);
  });

  test.each([
    [{ memcachedHost: '' }, /memcachedHost must be a non-empty host/],
    [{ memcachedMaxConnections: 0 }, /memcachedMaxConnections must be a whole number ≥ 1, got 0/],
    [{ memcachedMaxUnsentBytes: 'lots' }, /memcachedMaxUnsentBytes/],
    [
      { memcachedAuthFile: '/nonexistent/auth' },
      /memcachedAuthFile: cannot read \/nonexistent\/auth/,
    ],
    [{ memcachedTls: true }, /memcachedTls needs tls/],
  ])('%j is refused, naming the option', (options, message) => {
    expect(() => resolveOptions(options as never)).toThrow(message);
  });
});

describe('MemcachedCredentials from the package entry', () => {
  test('an embedded listener given its users asks for a login, then serves that user', async () => {
    const { listener, port } = await startListener({
      credentials: PackageCredentials.parse('alice:s3cret\n', 'embedded'),
    });
    const client = new RawClient(port);
    try {
      await client.ready();
      client.send('get a\r\n');
      expect(await client.until('\r\n')).toBe('CLIENT_ERROR unauthenticated\r\n');
      client.send('set a 0 0 12\r\nalice s3cret\r\n');
      expect(await client.until('\r\n')).toBe('STORED\r\n');
      client.send('get a\r\n');
      expect(await client.until('END\r\n')).toBe('END\r\n');
    } finally {
      client.socket.destroy();
      await listener.close();
    }
  });
});
