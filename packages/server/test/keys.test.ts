import { describe, expect, it } from 'vitest';
import { ENTRY_OVERHEAD, heapStringBytes } from '@dcache/core';
import { createApp, STORED_VALUE_OVERHEAD_BYTES } from '../src/index.js';
import { errorOf, manualClock } from './helpers.js';

type App = ReturnType<typeof createApp>;

function put(
  app: App,
  key: string,
  body: string,
  headers: Record<string, string> = {},
  query = '',
) {
  return app.request(`/v1/keys/${key}${query}`, {
    method: 'PUT',
    body,
    headers: { 'content-type': 'text/plain', ...headers },
  });
}

describe('GET / PUT / DELETE /v1/keys/:key', () => {
  it('stores a value and serves it back with its version, flags and no TTL header', async () => {
    const app = createApp();
    const written = await put(app, 'k', 'v1');
    expect(written.status).toBe(204);
    const etag = written.headers.get('etag')!;
    const read = await app.request('/v1/keys/k');
    expect(read.status).toBe(200);
    expect(await read.text()).toBe('v1');
    expect(read.headers.get('etag')).toBe(etag);
    expect(read.headers.get('dcache-flags')).toBe('16');
    expect(read.headers.has('dcache-ttl')).toBe(false);
  });

  it('changes the version on every write', async () => {
    const app = createApp();
    const a = (await put(app, 'k', 'a')).headers.get('etag');
    const b = (await put(app, 'k', 'b')).headers.get('etag');
    expect(a).not.toBe(b);
  });

  it('keeps raw bytes exactly, with or without a content type', async () => {
    const app = createApp();
    const bytes = new Uint8Array([0, 255, 1, 254, 10, 13]);
    const res = await app.request('/v1/keys/raw', { method: 'PUT', body: bytes });
    expect(res.status).toBe(204);
    const read = await app.request('/v1/keys/raw');
    expect(read.headers.get('content-type')).toBe('application/octet-stream');
    expect(read.headers.get('dcache-flags')).toBe('0');
    expect(new Uint8Array(await read.arrayBuffer())).toEqual(bytes);
  });

  it('counts TTLs in milliseconds on the injected clock and expires the entry', async () => {
    const clock = manualClock();
    const app = createApp({ now: clock.now });
    await put(app, 'k', 'v', {}, '?ttl=1500');
    clock.advance(500);
    const read = await app.request('/v1/keys/k');
    expect(read.headers.get('dcache-ttl')).toBe('1000');
    clock.advance(1000);
    expect((await app.request('/v1/keys/k')).status).toBe(404);
  });

  it('applies the node default TTL when none is given, and ttl=0 means never', async () => {
    const clock = manualClock();
    const app = createApp({ now: clock.now, defaultTtl: 1000 });
    await put(app, 'short', 'v');
    await put(app, 'forever', 'v', {}, '?ttl=0');
    expect((await app.request('/v1/keys/short')).headers.get('dcache-ttl')).toBe('1000');
    clock.advance(1000);
    expect((await app.request('/v1/keys/short')).status).toBe(404);
    expect((await app.request('/v1/keys/forever')).status).toBe(200);
  });

  it('deletes: 204, then 404', async () => {
    const app = createApp();
    await put(app, 'k', 'v');
    expect((await app.request('/v1/keys/k', { method: 'DELETE' })).status).toBe(204);
    const again = await app.request('/v1/keys/k', { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(await again.json()).toEqual({ error: { code: 'not_found', message: 'no such key' } });
  });

  it('answers HEAD like GET without a body', async () => {
    const app = createApp();
    await put(app, 'k', 'value');
    const head = await app.request('/v1/keys/k', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('etag')).toMatch(/^"\d+"$/);
    expect(await head.text()).toBe('');
  });

  it('decodes percent-encoded keys, slashes and UTF-8 included', async () => {
    const app = createApp();
    const key = 'user/42 ünïcode';
    await put(app, encodeURIComponent(key), 'x');
    expect(await (await app.request(`/v1/keys/${encodeURIComponent(key)}`)).text()).toBe('x');
    expect((await app.request('/v1/keys/user')).status).toBe(404);
  });

  it('copies an entry byte for byte with Dcache-Flags (read repair)', async () => {
    const app = createApp();
    const res = await app.request('/v1/keys/copy', {
      method: 'PUT',
      body: new Uint8Array([1, 2, 3]),
      headers: { 'content-type': 'application/octet-stream', 'dcache-flags': '4242' },
    });
    expect(res.status).toBe(204);
    const read = await app.request('/v1/keys/copy');
    expect(read.headers.get('dcache-flags')).toBe('4242');
    expect(read.headers.get('content-type')).toBe('application/octet-stream');
  });
  it('accepts TTLs past 2^31-1 ms (memcached takes 30 days) up to 2^53-1 ms', async () => {
    const clock = manualClock();
    const app = createApp({ now: clock.now });
    const thirtyDays = 30 * 24 * 3600 * 1000;
    expect((await put(app, 'month', 'v', {}, `?ttl=${thirtyDays}`)).status).toBe(204);
    clock.advance(thirtyDays - 1);
    expect((await app.request('/v1/keys/month')).headers.get('dcache-ttl')).toBe('1');
    clock.advance(1);
    expect((await app.request('/v1/keys/month')).status).toBe(404);
    expect((await put(app, 'k', 'v', {}, `?ttl=${Number.MAX_SAFE_INTEGER}`)).status).toBe(204);
    const ttl = Number((await app.request('/v1/keys/k')).headers.get('dcache-ttl'));
    // The sum with "now" rounds (up, here): the remaining TTL is still never past the ceiling.
    expect(ttl).toBeGreaterThan(Number.MAX_SAFE_INTEGER - 16);
    expect(ttl).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER);
  });
});

describe('conditional writes', () => {
  it('If-None-Match: * adds only when absent', async () => {
    const app = createApp();
    expect((await put(app, 'k', 'first', { 'if-none-match': '*' })).status).toBe(204);
    const second = await put(app, 'k', 'second', { 'if-none-match': '*' });
    expect(second.status).toBe(412);
    expect((await errorOf(second)).code).toBe('precondition_failed');
    expect(await (await app.request('/v1/keys/k')).text()).toBe('first');
  });

  it('If-Match: * replaces only when present', async () => {
    const app = createApp();
    expect((await put(app, 'k', 'x', { 'if-match': '*' })).status).toBe(412);
    expect((await app.request('/v1/keys/k')).status).toBe(404);
    await put(app, 'k', 'a');
    expect((await put(app, 'k', 'b', { 'if-match': '*' })).status).toBe(204);
    expect(await (await app.request('/v1/keys/k')).text()).toBe('b');
  });

  it('If-Match: "<version>" is compare-and-set', async () => {
    const app = createApp();
    const etag = (await put(app, 'k', 'a')).headers.get('etag')!;
    const won = await put(app, 'k', 'b', { 'if-match': etag });
    expect(won.status).toBe(204);
    const lost = await put(app, 'k', 'c', { 'if-match': etag });
    expect(lost.status).toBe(412);
    expect(await (await app.request('/v1/keys/k')).text()).toBe('b');
    expect((await put(app, 'absent', 'c', { 'if-match': etag })).status).toBe(412);
  });

  it('DELETE honours If-Match and If-None-Match: a delete of the version read, or 412', async () => {
    const app = createApp();
    const del = (headers: Record<string, string>) =>
      app.request('/v1/keys/k', { method: 'DELETE', headers });
    expect((await del({ 'if-match': '*' })).status).toBe(412);
    const etag = (await put(app, 'k', 'a')).headers.get('etag')!;
    await put(app, 'k', 'b'); // another writer: the version read is gone
    const stale = await del({ 'if-match': etag });
    expect(stale.status).toBe(412);
    expect((await errorOf(stale)).code).toBe('precondition_failed');
    expect((await del({ 'if-none-match': '*' })).status).toBe(412);
    expect(await (await app.request('/v1/keys/k')).text()).toBe('b');
    const current = (await app.request('/v1/keys/k')).headers.get('etag')!;
    // A weak tag never matches If-Match, even the current one.
    expect((await del({ 'if-match': `W/${current}` })).status).toBe(412);
    expect((await del({ 'if-match': current })).status).toBe(204);
    expect((await app.request('/v1/keys/k')).status).toBe(404);
    expect((await del({ 'if-match': current })).status).toBe(412);
  });

  it('refuses a conditional write too large for the memory with 413, leaving the value', async () => {
    const app = createApp({ maxMemory: 512, maxValueBytes: '1kb' });
    const etag = (await put(app, 'k', 'small')).headers.get('etag')!;
    const huge = 'x'.repeat(1000);
    for (const headers of [{ 'if-match': etag }, { 'if-match': '*' }]) {
      const res = await put(app, 'k', huge, headers);
      expect(res.status).toBe(413);
      expect((await errorOf(res)).code).toBe('too_large');
    }
    const added = await put(app, 'other', huge, { 'if-none-match': '*' });
    expect(added.status).toBe(413);
    expect((await errorOf(added)).code).toBe('too_large');
    const read = await app.request('/v1/keys/k');
    expect(await read.text()).toBe('small');
    expect(read.headers.get('etag')).toBe(etag);
  });

  it('If-Match and If-None-Match take lists of ETags: If-Match compares strongly, If-None-Match weakly', async () => {
    const app = createApp();
    const text = async (k: string) => (await app.request(`/v1/keys/${k}`)).text();
    const first = (await put(app, 'k', 'a')).headers.get('etag')!;
    // Weak, not a version, or the version with a leading zero (an ETag is compared as text).
    for (const named of [`W/${first}`, '"abc"', `"1", W/${first}`, `"0${first.slice(1)}`]) {
      const res = await put(app, 'k', 'b', { 'if-match': named });
      expect(res.status, named).toBe(412);
      expect((await errorOf(res)).message).toBe("the key's ETag is not one that If-Match names");
    }
    expect(await text('k')).toBe('a');
    const matched = await put(app, 'k', 'b', { 'if-match': `"1", ${first}, "abc"` });
    expect(matched.status).toBe(204);
    const second = matched.headers.get('etag')!;
    expect(await text('k')).toBe('b');

    const current = await put(app, 'k', 'c', { 'if-none-match': `"1", W/${second}` });
    expect(current.status).toBe(412);
    expect((await errorOf(current)).message).toBe("the key's ETag is one that If-None-Match names");
    expect((await put(app, 'k', 'c', { 'if-none-match': `${first}, "1"` })).status).toBe(204);
    expect(await text('k')).toBe('c');

    const absent = await put(app, 'new', 'x', { 'if-match': `"1", ${first}` });
    expect(absent.status).toBe(412);
    expect((await errorOf(absent)).message).toBe('the key does not exist');
    expect((await put(app, 'new', 'x', { 'if-none-match': `"1", ${first}` })).status).toBe(204);
    expect(await text('new')).toBe('x');

    const last = (await app.request('/v1/keys/k')).headers.get('etag')!;
    const del = (named: string) =>
      app.request('/v1/keys/k', { method: 'DELETE', headers: { 'if-match': named } });
    expect((await del(`W/${last}, ${first}`)).status).toBe(412);
    expect((await del(`${first}, ${last}`)).status).toBe(204);
    expect((await app.request('/v1/keys/k')).status).toBe(404);
  });

  it.each([
    [{ 'if-match': '*', 'if-none-match': '*' }],
    [{ 'if-match': '1' }], // an ETag is quoted: a bare version is not one
    [{ 'if-none-match': '"1" "2"' }], // a list is comma-separated
    [{ 'if-match': '' }],
  ])('refuses a malformed condition %j with 400', async (headers) => {
    const app = createApp();
    const res = await put(app, 'k', 'v', headers);
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('bad_condition');
  });
});

describe('POST /v1/keys/:key/incr and /decr', () => {
  it('adds to an ASCII decimal counter and returns the new value as JSON', async () => {
    const app = createApp();
    await put(app, 'n', '41');
    const res = await app.request('/v1/keys/n/incr', { method: 'POST' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toBe(42);
    expect(await (await app.request('/v1/keys/n/incr?delta=8', { method: 'POST' })).json()).toBe(
      50,
    );
    expect(await (await app.request('/v1/keys/n/decr?delta=20', { method: 'POST' })).json()).toBe(
      30,
    );
    expect(await (await app.request('/v1/keys/n/incr?delta=-5', { method: 'POST' })).json()).toBe(
      25,
    );
    const stored = await app.request('/v1/keys/n');
    expect(await stored.text()).toBe('25');
    expect(stored.headers.get('dcache-flags')).toBe('16'); // flags kept
  });

  it('answers 413 when the longer number no longer fits the memory limit, and keeps the old value', async () => {
    // Room for exactly one entry 'n' holding one digit: "10" is one byte more than "9".
    const maxMemory = heapStringBytes('n') + 1 + STORED_VALUE_OVERHEAD_BYTES + ENTRY_OVERHEAD;
    const app = createApp({ maxMemory });
    expect((await put(app, 'n', '8')).status).toBe(204);
    expect(await (await app.request('/v1/keys/n/incr', { method: 'POST' })).json()).toBe(9);
    const res = await app.request('/v1/keys/n/incr', { method: 'POST' });
    expect(res.status).toBe(413);
    expect((await errorOf(res)).code).toBe('too_large');
    expect(await (await app.request('/v1/keys/n')).text()).toBe('9');
  });

  it('creates a missing counter from ?initial= (returned as is) with ?ttl=, stored as JSON', async () => {
    const clock = manualClock();
    const app = createApp({ now: clock.now });
    const incr = async (query: string) =>
      app.request(`/v1/keys/c/incr?${query}`, { method: 'POST' });
    const created = await incr('delta=5&initial=10&ttl=1000');
    expect(created.status).toBe(200);
    expect(await created.json()).toBe(10);
    const read = await app.request('/v1/keys/c');
    expect(read.headers.get('content-type')).toBe('application/json');
    expect(await read.text()).toBe('10');
    expect(read.headers.get('dcache-ttl')).toBe('1000');
    // Present now: initial and ttl no longer matter, the delta counts and the TTL runs on.
    clock.advance(400);
    expect(await (await incr('delta=5&initial=99&ttl=60000')).json()).toBe(15);
    expect((await app.request('/v1/keys/c')).headers.get('dcache-ttl')).toBe('600');
    const decr = await app.request('/v1/keys/d/decr?delta=3&initial=7', { method: 'POST' });
    expect(await decr.json()).toBe(7);
    expect((await app.request('/v1/keys/d')).headers.has('dcache-ttl')).toBe(false);
    const max = await app.request('/v1/keys/m/incr?initial=18446744073709551615', {
      method: 'POST',
    });
    expect(await max.text()).toBe('18446744073709551615');
  });

  it.each([
    ['a negative initial', 'initial=-1', 'bad_initial'],
    ['an initial past 2^64-1', 'initial=18446744073709551616', 'bad_initial'],
    ['a non-numeric initial', 'initial=ten', 'bad_initial'],
    ['a ttl without initial', 'ttl=5000', 'bad_ttl'],
    ['a bad ttl with initial', 'initial=1&ttl=-5', 'bad_ttl'],
  ])('answers 400 for %s and creates nothing', async (_what, query, code) => {
    const app = createApp();
    const res = await app.request(`/v1/keys/c/incr?${query}`, { method: 'POST' });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe(code);
    expect((await app.request('/v1/keys/c')).status).toBe(404);
  });

  it('stops at 0 going down and wraps past 2^64-1 going up, as memcached', async () => {
    const app = createApp();
    await put(app, 'n', '3');
    expect(await (await app.request('/v1/keys/n/decr?delta=10', { method: 'POST' })).json()).toBe(
      0,
    );
    // One below zero is the boundary: still 0, and stored as "0".
    await put(app, 'n', '3');
    expect(await (await app.request('/v1/keys/n/decr?delta=4', { method: 'POST' })).json()).toBe(0);
    expect(await (await app.request('/v1/keys/n')).text()).toBe('0');
    await put(app, 'max', '18446744073709551615');
    const toZero = await app.request('/v1/keys/max/incr', { method: 'POST' });
    expect(await toZero.json()).toBe(0);
    await put(app, 'big', '18446744073709551615');
    const wrapped = await app.request('/v1/keys/big/incr?delta=2', { method: 'POST' });
    expect(await wrapped.json()).toBe(1);
    await put(app, 'big', '18446744073709551610');
    const large = await app.request('/v1/keys/big/incr', { method: 'POST' });
    expect(await large.text()).toBe('18446744073709551611'); // exact, beyond 2^53
  });

  it('answers 404 for a missing key (memcached semantics, no implicit 0)', async () => {
    const app = createApp();
    const res = await app.request('/v1/keys/none/incr', { method: 'POST' });
    expect(res.status).toBe(404);
    expect((await app.request('/v1/keys/none')).status).toBe(404);
  });

  it('refuses a non-numeric value and a bad delta with 400, leaving the value alone', async () => {
    const app = createApp();
    await put(app, 'word', 'abc');
    const notNumber = await app.request('/v1/keys/word/incr', { method: 'POST' });
    expect(notNumber.status).toBe(400);
    expect((await errorOf(notNumber)).code).toBe('not_a_number');
    expect(await (await app.request('/v1/keys/word')).text()).toBe('abc');
    await put(app, 'n', '1');
    for (const delta of ['x', '1.5', '', '99999999999999999999999']) {
      const res = await app.request(`/v1/keys/n/incr?delta=${delta}`, { method: 'POST' });
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe('bad_delta');
    }
  });

  it('keeps the remaining TTL', async () => {
    const clock = manualClock();
    const app = createApp({ now: clock.now });
    await put(app, 'n', '1', {}, '?ttl=1000');
    clock.advance(400);
    await app.request('/v1/keys/n/incr', { method: 'POST' });
    expect((await app.request('/v1/keys/n')).headers.get('dcache-ttl')).toBe('600');
    clock.advance(600);
    expect((await app.request('/v1/keys/n')).status).toBe(404);
  });
});

describe('GET /v1/keys/:key?ttl= (get-and-touch)', () => {
  it('answers the value and sets the TTL: a sliding expiry', async () => {
    const clock = manualClock();
    const app = createApp({ now: clock.now });
    await put(app, 'k', 'v', {}, '?ttl=1000');
    for (let i = 0; i < 3; i++) {
      clock.advance(800);
      const read = await app.request('/v1/keys/k?ttl=1000');
      expect(read.status).toBe(200);
      expect(await read.text()).toBe('v');
      expect(read.headers.get('dcache-ttl')).toBe('1000');
    }
    clock.advance(999);
    expect((await app.request('/v1/keys/k')).headers.get('dcache-ttl')).toBe('1');
    const permanent = await app.request('/v1/keys/k?ttl=0');
    expect(permanent.headers.has('dcache-ttl')).toBe(false);
    clock.advance(1_000_000);
    expect((await app.request('/v1/keys/k')).status).toBe(200);
    expect((await app.request('/v1/keys/missing?ttl=1000')).status).toBe(404);
  });

  it('touches nothing when the read is refused (a bad ttl, a 406)', async () => {
    const clock = manualClock();
    const app = createApp({ now: clock.now });
    await put(app, 'k', 'v', {}, '?ttl=1000');
    const bad = await app.request('/v1/keys/k?ttl=-1');
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).code).toBe('bad_ttl');
    const unacceptable = await app.request('/v1/keys/k?ttl=5000', {
      headers: { accept: 'image/png' },
    });
    expect(unacceptable.status).toBe(406);
    expect((await app.request('/v1/keys/k')).headers.get('dcache-ttl')).toBe('1000');
  });
});

describe('POST /v1/keys/:key/touch', () => {
  it('sets a new TTL in milliseconds and answers 204, or 404 for a missing key', async () => {
    const clock = manualClock();
    const app = createApp({ now: clock.now });
    await put(app, 'k', 'v', {}, '?ttl=1000');
    const touched = await app.request('/v1/keys/k/touch?ttl=5000', { method: 'POST' });
    expect(touched.status).toBe(204);
    clock.advance(2000); // past the old TTL, inside the new one
    const read = await app.request('/v1/keys/k');
    expect(await read.text()).toBe('v');
    expect(read.headers.get('dcache-ttl')).toBe('3000');
    clock.advance(3000);
    expect((await app.request('/v1/keys/k')).status).toBe(404);
    const missing = await app.request('/v1/keys/k/touch?ttl=5000', { method: 'POST' });
    expect(missing.status).toBe(404);
    expect((await errorOf(missing)).code).toBe('not_found');
  });

  it('makes the entry permanent with ttl=0 and keeps its value and version', async () => {
    const clock = manualClock();
    const app = createApp({ now: clock.now });
    const etag = (await put(app, 'k', 'v', {}, '?ttl=1000')).headers.get('etag');
    expect((await app.request('/v1/keys/k/touch?ttl=0', { method: 'POST' })).status).toBe(204);
    clock.advance(1_000_000);
    const read = await app.request('/v1/keys/k');
    expect(read.headers.has('dcache-ttl')).toBe(false);
    expect(read.headers.get('etag')).toBe(etag);
  });

  it.each([
    ['no ttl', ''],
    ['a negative ttl', '?ttl=-1'],
    ['a fractional ttl', '?ttl=1.5'],
    ['a ttl past 2^53-1', '?ttl=9007199254740992'],
  ])('answers 400 bad_ttl for %s and leaves the TTL alone', async (_what, query) => {
    const clock = manualClock();
    const app = createApp({ now: clock.now });
    await put(app, 'k', 'v', {}, '?ttl=1000');
    const res = await app.request(`/v1/keys/k/touch${query}`, { method: 'POST' });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('bad_ttl');
    expect((await app.request('/v1/keys/k')).headers.get('dcache-ttl')).toBe('1000');
  });
});

describe('POST /v1/flush', () => {
  it('empties the node, and later writes stay', async () => {
    const app = createApp();
    await put(app, 'a', '1');
    await put(app, 'b', '2');
    const res = await app.request('/v1/flush', { method: 'POST' });
    expect(res.status).toBe(204);
    expect((await app.request('/v1/keys/a')).status).toBe(404);
    expect((await app.request('/v1/keys/b')).status).toBe(404);
    const stats = (await (await app.request('/v1/stats')).json()) as {
      items: number;
      requests: { flush: number };
    };
    expect(stats.items).toBe(0);
    expect(stats.requests.flush).toBe(1);
    await put(app, 'a', '3');
    expect(await (await app.request('/v1/keys/a')).text()).toBe('3');
  });

  it('needs the token when the node has one', async () => {
    const app = createApp({ token: 'tok' });
    const auth = { authorization: 'Bearer tok' };
    await put(app, 'a', '1', auth);
    expect((await app.request('/v1/flush', { method: 'POST' })).status).toBe(401);
    expect((await app.request('/v1/keys/a', { headers: auth })).status).toBe(200);
    const flushed = await app.request('/v1/flush', { method: 'POST', headers: auth });
    expect(flushed.status).toBe(204);
    expect((await app.request('/v1/keys/a', { headers: auth })).status).toBe(404);
  });

  it('?delay=<ms> empties the node then, not before; writes after that time stay', async () => {
    const clock = manualClock();
    const app = createApp({ now: clock.now });
    await put(app, 'a', '1');
    expect((await app.request('/v1/flush?delay=30000', { method: 'POST' })).status).toBe(204);
    await put(app, 'b', '2');
    clock.advance(29_999);
    expect((await app.request('/v1/keys/a')).status).toBe(200);
    expect((await app.request('/v1/keys/b')).status).toBe(200);
    clock.advance(1);
    expect((await app.request('/v1/keys/a')).status).toBe(404);
    expect((await app.request('/v1/keys/b')).status).toBe(404);
    await put(app, 'c', '3');
    clock.advance(3_600_000);
    expect((await app.request('/v1/keys/c')).status).toBe(200);
  });

  it.each([
    'abc',
    '-1',
    '1.5',
    '1e3',
    '',
    ' 1',
    '0x10',
    '+5',
    '9007199254740992',
    '12345678901234567',
  ])(
    'refuses ?delay=%j with a 400 bad_delay, keeping a pending flush and every entry',
    async (delay) => {
      const clock = manualClock();
      const app = createApp({ now: clock.now });
      await put(app, 'a', '1');
      expect((await app.request('/v1/flush?delay=60000', { method: 'POST' })).status).toBe(204);
      const res = await app.request(`/v1/flush?delay=${encodeURIComponent(delay)}`, {
        method: 'POST',
      });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const error = await errorOf(res);
      expect(error.code).toBe('bad_delay');
      expect(error.message).toContain(`delay must be whole milliseconds from 0 (flush now) to`);
      expect((await app.request('/v1/keys/a')).status).toBe(200);
      clock.advance(60_000);
      expect((await app.request('/v1/keys/a')).status).toBe(404);
    },
  );

  it('answers 405 naming POST for other methods, and flushes nothing', async () => {
    const app = createApp();
    await put(app, 'a', '1');
    for (const method of ['GET', 'DELETE', 'PUT']) {
      const res = await app.request('/v1/flush', { method });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
    }
    expect((await app.request('/v1/keys/a')).status).toBe(200);
  });
});
