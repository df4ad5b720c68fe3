import { describe, expect, it } from 'vitest';
import { createApp } from '../src/index.js';
import { errorOf } from './helpers.js';

describe('bearer token', () => {
  const app = createApp({ token: 's3cret-token' });
  const as = (authorization?: string): RequestInit =>
    authorization === undefined ? {} : { headers: { authorization } };

  it.each([
    ['/v1/keys/k', 'GET'],
    ['/v1/keys/k', 'PUT'],
    ['/v1/keys/k', 'DELETE'],
    ['/v1/keys/k/incr', 'POST'],
    ['/v1/batch', 'POST'],
    ['/v1/stats', 'GET'],
    ['/metrics', 'GET'],
    ['/nowhere', 'GET'],
  ])('guards %s (%s)', async (path, method) => {
    const res = await app.request(path, { method });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="dcache"');
    expect((await errorOf(res)).code).toBe('unauthorized');
  });

  it.each([
    ['a wrong token', 'Bearer s3cret-tokeN'],
    ['a prefix of the token', 'Bearer s3cret'],
    ['a longer token', 'Bearer s3cret-token-and-more'],
    ['another scheme', 'Basic s3cret-token'],
    ['no token after the scheme', 'Bearer '],
  ])('refuses %s', async (_what, authorization) => {
    expect((await app.request('/v1/stats', as(authorization))).status).toBe(401);
  });

  it('accepts the right token (scheme case-insensitive)', async () => {
    expect((await app.request('/v1/stats', as('Bearer s3cret-token'))).status).toBe(200);
    expect((await app.request('/v1/stats', as('bearer s3cret-token'))).status).toBe(200);
    const put = await app.request('/v1/keys/k', {
      method: 'PUT',
      body: 'v',
      headers: { authorization: 'Bearer s3cret-token', 'content-type': 'text/plain' },
    });
    expect(put.status).toBe(204);
  });

  it('leaves /healthz open', async () => {
    const res = await app.request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok' });
  });

  it('is off without a token', async () => {
    expect((await createApp().request('/v1/stats')).status).toBe(200);
  });
});
