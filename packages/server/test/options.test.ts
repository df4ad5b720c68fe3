import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp, formatSize, parseSize, resolveOptions } from '../src/index.js';
import { parseCli } from '../src/cli-args.js';
import { isUsageError } from '../src/index.js';
import { makeSelfSignedPair } from './self-signed.js';

describe('parseSize', () => {
  it.each<[number | string, number]>([
    [0, 0],
    [1234, 1234],
    ['1234', 1234],
    ['1b', 1],
    ['1kb', 1024],
    ['1K', 1024],
    ['100mb', 100 * 1024 ** 2],
    ['1.5 GB', 1.5 * 1024 ** 3],
    ['2gib', 2 * 1024 ** 3],
  ])('%j → %i bytes (powers of 1024)', (input, bytes) => {
    expect(parseSize('size', input)).toBe(bytes);
  });

  it.each([['-1'], ['mb'], ['10 tb'], ['1e3'], [''], [-1], [1.5], [Number.NaN]])(
    'refuses %j naming the option',
    (input) => {
      expect(() => parseSize('maxMemory', input)).toThrow(/maxMemory/);
    },
  );

  it('formats sizes for humans', () => {
    expect(formatSize(64 * 1024 ** 2)).toBe('64 MiB');
    expect(formatSize(1536)).toBe('1.5 KiB');
    expect(formatSize(100)).toBe('100 B');
  });
});

describe('resolveOptions', () => {
  it('fills in the documented defaults', () => {
    const o = resolveOptions({});
    expect(o).toMatchObject({
      maxMemory: 64 * 1024 ** 2,
      maxItems: undefined,
      defaultTtl: 0,
      maxKeyBytes: 250,
      maxValueBytes: 1024 ** 2,
      maxBatchOps: 1000,
      maxBatchBytes: 16 * 1024 ** 2,
      token: undefined,
      logLevel: 'info',
      closeTimeout: 10_000,
      shutdownGrace: 0,
    });
    expect(o.nodeId).toMatch(/^node-[0-9a-f]{6}$/);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['maxMemory', { maxMemory: 0 }, /maxMemory/],
    ['maxMemory', { maxMemory: 'huge' }, /maxMemory/],
    ['maxItems', { maxItems: 0 }, /maxItems/],
    ['defaultTtl', { defaultTtl: -1 }, /defaultTtl/],
    ['defaultTtl', { defaultTtl: 2 ** 53 }, /defaultTtl must be/],
    ['maxKeyBytes', { maxKeyBytes: 1.5 }, /maxKeyBytes/],
    ['maxValueBytes', { maxValueBytes: '0' }, /maxValueBytes/],
    ['token', { token: '' }, /token/],
    ['token', { token: 'two words' }, /token must not contain whitespace/],
    ['token', { token: 'tab\there' }, /token must not contain whitespace/],
    ['token', { token: '密码' }, /token must be text an HTTP header can carry/],
    ['token', { token: 'bell\u0007' }, /token must be text an HTTP header can carry/],
    ['token', { token: 'del\u007f' }, /token must be text an HTTP header can carry/],
    ['nodeId', { nodeId: 'has space' }, /nodeId/],
    ['logLevel', { logLevel: 'loud' }, /logLevel/],
    ['tls', { tls: { cert: 'x' } }, /tls\.key/],
    ['tls', { tls: { cert: Buffer.alloc(0), key: 'k' } }, /tls\.cert must be a non-empty/],
    [
      'tls',
      { tls: { cert: 'not a certificate', key: 'not a key' } },
      /tls\.cert and tls\.key must be a PEM certificate and its private key/,
    ],
    ['now', { now: 5 }, /now/],
    ['restoreClaimLease', { restoreClaimLease: 299 }, /restoreClaimLease .*from 300 to 3600000/],
    ['restoreClaimLease', { restoreClaimLease: 3_600_001 }, /restoreClaimLease/],
    ['misspelt option', { maxmemory: '1gb' }, /unknown option "maxmemory" \(known: maxMemory, /],
    ['address', { port: 1234 }, /unknown option "port" \(the address is listen\(\)'s/],
    ['address', { host: '0.0.0.0' }, /unknown option "host"/],
  ])('refuses a bad %s, naming it', (_name, options, pattern) => {
    expect(() => resolveOptions(options as never)).toThrow(pattern);
  });

  it.each([
    [' http://admin:hunter2@10.0.0.2:8001'],
    ['\nhttp://admin:hunter2@10.0.0.2:8001/x'],
    ['ht\ttp://admin:hunter2@10.0.0.2:8001'],
  ])('refuses peers %j without quoting the password the URL parser found in it', (peer) => {
    // The URL parser drops leading spaces and controls, and tabs and newlines anywhere: the
    // value still has a user and password, and the message goes to logs.
    expect(() => resolveOptions({ peers: [peer] })).toThrow(/peers\[0\]/);
    expect(() => resolveOptions({ peers: [peer] })).not.toThrow(/hunter2|admin/);
  });
});

describe('resolveOptions tls', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dcache-tls-options-'));
  const { certFile, keyFile } = makeSelfSignedPair(dir);
  const cert = readFileSync(certFile);
  const key = readFileSync(keyFile);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes a certificate and its key', () => {
    expect(resolveOptions({ tls: { cert, key } }).tls).toEqual({ cert, key });
  });

  it('names --tls-key for an empty key file, --tls-cert for an empty certificate file', () => {
    const empty = join(dir, 'empty.pem');
    writeFileSync(empty, '');
    const flagOf = (args: string[]): string | undefined => {
      try {
        parseCli(args, {});
      } catch (error) {
        if (isUsageError(error)) return `${error.flag} | ${error.message}`;
      }
      return undefined;
    };
    expect(flagOf(['--tls-cert', certFile, '--tls-key', empty])).toMatch(
      /^--tls-key \| --tls-key: tls\.key must be a non-empty/,
    );
    expect(flagOf(['--tls-cert', empty, '--tls-key', keyFile])).toMatch(
      /^--tls-cert \| --tls-cert: tls\.cert must be a non-empty/,
    );
  });

  it.each<[string, Record<string, unknown>]>([
    ['requestCert', { requestCert: true, ca: cert }],
    ['minVersion', { minVersion: 'TLSv1.3' }],
    ['passphrase', { passphrase: 'x' }],
  ])('refuses a field it would drop (%s) rather than serve less strictly', (field, extra) => {
    expect(() => resolveOptions({ tls: { cert, key, ...extra } as never })).toThrow(
      new RegExp(`unknown option "tls\\.${field}"`),
    );
  });

  it('is refused by createApp, whose app a runtime would otherwise serve in plain HTTP', () => {
    // A bare app does not listen: the runtime serving it (hono's serve(), Bun, Deno) must do the
    // TLS, and an app taking the pair without a word would leave the node's traffic in the clear.
    expect(() => createApp({ tls: { cert, key } })).toThrow(
      /tls needs a CacheServer.*serve the app over HTTPS with its runtime's own TLS/,
    );
    expect(() => createApp({ tls: { cert, key }, memcachedTls: true })).toThrow(TypeError);
  });
});

describe('parseCli', () => {
  it('maps flags and DCACHE_* variables to options, flags first', () => {
    const cli = parseCli(['--max-memory', '100mb', '-p', '9000', '--max-items', '10'], {
      DCACHE_HOST: '0.0.0.0',
      DCACHE_MAX_MEMORY: '1mb',
      DCACHE_DEFAULT_TTL: '5000',
    });
    expect(cli).toEqual({
      command: 'run',
      listen: { host: '0.0.0.0', port: 9000 },
      options: { maxMemory: 100 * 1024 ** 2, maxItems: 10, defaultTtl: 5000 },
    });
  });

  it('takes whole numbers up to 2^53 − 1 (the README names that ceiling for --default-ttl)', () => {
    const top = `${Number.MAX_SAFE_INTEGER}`;
    expect(parseCli(['--default-ttl', top], {})).toMatchObject({
      options: { defaultTtl: Number.MAX_SAFE_INTEGER },
    });
    expect(() => parseCli(['--default-ttl', '9007199254740992'], {})).toThrow(
      /--default-ttl must be a whole number no larger than 9007199254740991/,
    );
    expect(() => parseCli(['--default-ttl', '1.5'], {})).toThrow(/--default-ttl must be a whole/);
  });

  it('treats an empty DCACHE_* variable as unset', () => {
    expect(parseCli([], { DCACHE_MAX_MEMORY: '', DCACHE_PORT: '', DCACHE_TOKEN: '' })).toEqual({
      command: 'run',
      listen: { host: '127.0.0.1', port: 8001 },
      options: {},
    });
  });

  it('names --tls-cert when the files are readable but not a certificate and key', () => {
    try {
      parseCli(['--tls-cert', 'package.json', '--tls-key', 'package.json'], {});
      expect.unreachable();
    } catch (error) {
      expect(isUsageError(error) && error.flag).toBe('--tls-cert');
      expect((error as Error).message).toMatch(/PEM certificate and its private key/);
    }
  });

  it('defaults to 127.0.0.1:8001', () => {
    expect(parseCli([], {})).toMatchObject({ listen: { host: '127.0.0.1', port: 8001 } });
  });

  it('wants --tls-cert and --tls-key together', () => {
    try {
      parseCli(['--tls-cert', 'package.json'], {});
      expect.unreachable();
    } catch (error) {
      expect(isUsageError(error) && error.flag).toBe('--tls-key');
    }
  });

  it('answers --help and --version before validating anything else', () => {
    expect(parseCli(['--help', '--port', 'x'], {})).toEqual({ command: 'help' });
    expect(parseCli(['-v'], { DCACHE_PORT: 'x' })).toEqual({ command: 'version' });
  });

  it('refuses positional arguments', () => {
    expect(() => parseCli(['serve'], {})).toThrow(/serve/);
  });
});
