import { afterEach, describe, expect, test } from 'vitest';
import { exposureWarning, httpExposureWarning, isLoopback } from '../../src/memcached/exposure.js';
import { startCliNode, stopCliNodes } from '../cli-node.js';

afterEach(() => stopCliNodes());

describe('isLoopback', () => {
  test.each([
    ['127.0.0.1', true],
    ['127.9.8.7', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.1', false],
    ['::ffff:10.0.0.1', false],
    ['fe80::1', false],
  ])('%s → %s', (address, expected) => {
    expect(isLoopback(address)).toBe(expected);
  });
});

describe('the start-up warning for an exposed memcached port', () => {
  test('beyond loopback without authentication: says where and what to do', () => {
    const warning = exposureWarning({ host: '0.0.0.0', port: 11211 }, false);
    expect(warning).toMatch(/0\.0\.0\.0:11211, beyond loopback, without authentication/);
    expect(warning).toMatch(/--memcached-auth-file/);
  });

  test('none with authentication, none on loopback', () => {
    expect(exposureWarning({ host: '0.0.0.0', port: 11211 }, true)).toBeUndefined();
    expect(exposureWarning({ host: '127.0.0.1', port: 11211 }, false)).toBeUndefined();
  });
});

describe('the start-up warning for an HTTP API without a token beyond loopback', () => {
  test('beyond loopback without a token: says where and what to do', () => {
    const warning = httpExposureWarning('http://0.0.0.0:8001', '0.0.0.0', false);
    expect(warning).toMatch(/http:\/\/0\.0\.0\.0:8001, beyond loopback, without a token/);
    expect(warning).toMatch(/--token/);
    expect(httpExposureWarning('http://[::]:8001', '::', false)).toMatch(/beyond loopback/);
  });

  test('none with a token, none on loopback', () => {
    expect(httpExposureWarning('http://0.0.0.0:8001', '0.0.0.0', true)).toBeUndefined();
    expect(httpExposureWarning('http://127.0.0.2:8001', '127.0.0.2', false)).toBeUndefined();
    expect(httpExposureWarning('http://[::1]:8001', '::1', false)).toBeUndefined();
  });

  test('a CLI node on loopback, with the defaults, says nothing of it', async () => {
    const node = await startCliNode(['--log-level', 'warn']);
    expect(node.output()).not.toMatch(/http_no_token|without a token/);
  });
});

describe('--memcached-host', () => {
  test('the memcached port stays on 127.0.0.1 whatever --host the HTTP API takes', async () => {
    const node = await startCliNode([
      '--host',
      '127.0.0.2',
      '--memcached-port',
      '0',
      '--log-level',
      'warn',
    ]);
    expect(node.url).toMatch(/^http:\/\/127\.0\.0\.2:/);
    expect(node.memcached?.host).toBe('127.0.0.1');
    expect(node.output()).not.toMatch(/beyond loopback/);
  });

  test('binds the address it is given, also from DCACHE_MEMCACHED_HOST', async () => {
    const node = await startCliNode(['--memcached-port', '0', '--memcached-host', '127.0.0.3']);
    expect(node.memcached?.host).toBe('127.0.0.3');
    const fromEnv = await startCliNode(['--memcached-port', '0'], {
      env: { DCACHE_MEMCACHED_HOST: '127.0.0.4' },
    });
    expect(fromEnv.memcached?.host).toBe('127.0.0.4');
  });
});
