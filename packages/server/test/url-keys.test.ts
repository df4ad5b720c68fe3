import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/index.js';
import { keyOfUrl } from '../src/http/url-key.js';
import type { RunningNode } from './helpers.js';
import { errorOf, startNode } from './helpers.js';

describe('keyOfUrl', () => {
  it.each([
    ['/v1/keys/plain', 'plain'],
    ['/v1/keys/%25ff', '%ff'],
    ['/v1/keys/a%2Fb/incr?delta=2', 'a/b'],
    ['http://127.0.0.1:1/v1/keys/%E2%82%AC/touch?ttl=1', '€'],
    ['http://h/v1/keys/q?x=/y', 'q'],
  ])('%s → %j', (url, key) => {
    expect(keyOfUrl(url)).toBe(key);
  });

  it.each(['/v1/keys/%ff', '/v1/keys/%', '/v1/keys/%e2%82', '/v1/keys/a%zz'])(
    '%s is a 400 bad_key',
    (url) => {
      expect(() => keyOfUrl(url)).toThrow(
        expect.objectContaining({ status: 400, code: 'bad_key' }),
      );
    },
  );
});

describe('one decoding of keys in URLs, on every route', () => {
  it('%25ff is the key "%ff", and %ff is refused by every route that takes a key', async () => {
    const app = createApp();
    const put = await app.request('/v1/keys/%25ff', { method: 'PUT', body: 'v' });
    expect(put.status).toBe(204);
    expect(await (await app.request('/v1/keys/%25ff')).text()).toBe('v');
    for (const [method, path] of [
      ['GET', '/v1/keys/%ff'],
      ['PUT', '/v1/keys/%ff'],
      ['DELETE', '/v1/keys/%ff'],
      ['POST', '/v1/keys/%ff/touch?ttl=1'],
      ['POST', '/v1/keys/%ff/incr?initial=1'],
      ['POST', '/v1/keys/%ff/decr'],
    ] as const) {
      const res = await app.request(path, { method, ...(method === 'PUT' ? { body: 'x' } : {}) });
      expect(res.status, `${method} ${path}`).toBe(400);
      expect((await errorOf(res)).code).toBe('bad_key');
    }
    // Nothing reached the entry of "%ff".
    expect(await (await app.request('/v1/keys/%25ff')).text()).toBe('v');
  });

  describe('over a socket (the GET fast path and the hono routes)', () => {
    let node: RunningNode;
    beforeAll(async () => {
      node = await startNode();
    });
    afterAll(() => node.close());

    it('GET /v1/keys/%ff is 400 bad_key even when "%ff" is stored', async () => {
      expect((await fetch(`${node.url}/v1/keys/%25ff`, { method: 'PUT', body: 'v' })).status).toBe(
        204,
      );
      expect(await (await fetch(`${node.url}/v1/keys/%25ff`)).text()).toBe('v');
      const res = await fetch(`${node.url}/v1/keys/%ff`);
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe('bad_key');
    });
  });
});
