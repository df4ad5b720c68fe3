import { describe, expect, it } from 'vitest';
import { createApp } from './app.js';
import { resolveOptions } from '../options.js';
import { parseCli } from '../cli-args.js';
import { ServedHosts } from './served-hosts.js';

describe('ServedHosts', () => {
  it('on loopback, serves IP addresses, localhost and reserved domains only, plus the names listed', () => {
    for (const address of ['127.0.0.1', '127.0.0.5', '::1', '::ffff:127.0.0.1']) {
      const hosts = new ServedHosts(undefined);
      hosts.listeningOn(address);
      expect(hosts.serves('localhost:8001')).toBe(true);
      expect(hosts.serves('10.0.0.7:8001')).toBe(true);
      expect(hosts.serves('[fe80::1]:8001')).toBe(true);
      expect(hosts.serves('a.b.test:8001')).toBe(true);
      expect(hosts.serves('dcache-0.dcache.default.svc.cluster.local')).toBe(true);
      expect(hosts.serves('evil.example:8001')).toBe(false);
      expect(hosts.serves('test:8001')).toBe(false);
      expect(hosts.serves('eviltest:8001')).toBe(false);
      expect(hosts.serves('localhost.evil.example')).toBe(false);
    }
    const listed = new ServedHosts(['cache.corp.example', '.svc.example']);
    listed.listeningOn('127.0.0.1');
    expect(listed.serves('cache.corp.example')).toBe(true);
    expect(listed.serves('a.b.svc.example:1')).toBe(true);
    expect(listed.serves('xsvc.example')).toBe(false);
  });

  it('beyond loopback, checks only when names are listed', () => {
    const open = new ServedHosts(undefined);
    open.listeningOn('0.0.0.0');
    expect(open.serves('dcache-0.dcache.default.svc.cluster.local:8001')).toBe(true);
    const listed = new ServedHosts(['.dcache.corp.example']);
    listed.listeningOn('::');
    expect(listed.serves('dcache-0.dcache.corp.example:8001')).toBe(true);
    expect(listed.serves('rebound.example:8001')).toBe(false);
    const any = new ServedHosts(['*']);
    any.listeningOn('127.0.0.1');
    expect(any.serves('rebound.example')).toBe(true);
  });

  it('follows a listen on another address', () => {
    const hosts = new ServedHosts(undefined);
    hosts.listeningOn('127.0.0.1');
    expect(hosts.serves('rebound.example')).toBe(false);
    hosts.listeningOn('0.0.0.0');
    expect(hosts.serves('rebound.example')).toBe(true);
  });
});

describe('allowedHosts', () => {
  it('an app checks the names it was given (it does not know where it is served)', async () => {
    const app = createApp({ allowedHosts: ['cache.corp.example'], logLevel: 'silent' });
    const refused = await app.request('http://rebound.example/v1/stats', {
      headers: { host: 'rebound.example' },
    });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: { code: 'host_refused' } });
    const served = await app.request('http://cache.corp.example/v1/stats', {
      headers: { host: 'cache.corp.example' },
    });
    expect(served.status).toBe(200);
    const unlisted = createApp({ logLevel: 'silent' });
    const open = await unlisted.request('http://rebound.example/v1/stats', {
      headers: { host: 'rebound.example' },
    });
    expect(open.status).toBe(200);
  });

  it.each([
    [['cache.internal:8001'], RangeError],
    [['http://cache.internal'], RangeError],
    [[''], RangeError],
    [['a..b'], RangeError],
    [[42], TypeError],
    ['cache.internal', TypeError],
  ])('refuses %j with a %s naming the entry', (allowedHosts, type) => {
    expect(() => resolveOptions({ allowedHosts: allowedHosts as string[] })).toThrow(type);
    expect(() => resolveOptions({ allowedHosts: allowedHosts as string[] })).toThrow(
      /^allowedHosts/,
    );
  });

  it('lower-cases names and drops a final dot', () => {
    expect(
      resolveOptions({ allowedHosts: ['Cache.Internal.', '.SVC.example', '*'] }).allowedHosts,
    ).toEqual(['cache.internal', '.svc.example', '*']);
  });

  it('the CLI names --allowed-hosts for a bad entry', () => {
    expect(() => parseCli(['--allowed-hosts', 'cache.internal:8001'])).toThrow(
      /^--allowed-hosts: allowedHosts\[0\] must be a host name/,
    );
  });
});
