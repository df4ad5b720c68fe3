import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from './cli-node.js';
import type { CliNode } from './cli-node.js';

/**
 * Conditional GETs against a node started through the CLI, as an HTTP cache or a browser sends
 * them: `If-None-Match` with the ETag held is a 304 without a body, `If-Match` that fails a 412.
 * The GET fast path takes plain GETs; these must reach the route's evaluation all the same.
 * Writes take the same ETag lists (RFC 9110 §13.1), decided against the version the write finds.
 */

let node: CliNode;
beforeAll(async () => {
  node = await startCliNode(['--log-level', 'silent']);
});
afterAll(() => stopCliNodes());

async function put(key: string, body: string, query = ''): Promise<string> {
  const res = await fetch(`${node.url}/v1/keys/${key}${query}`, {
    method: 'PUT',
    headers: { 'content-type': 'text/plain' },
    body,
  });
  expect(res.status).toBe(204);
  return res.headers.get('etag')!;
}

function get(key: string, headers: Record<string, string>, init: RequestInit = {}) {
  return fetch(`${node.url}/v1/keys/${key}`, { headers, ...init });
}

async function hits(): Promise<number> {
  const res = await fetch(`${node.url}/v1/stats`);
  return ((await res.json()) as { hits: number }).hits;
}

describe('conditional GET through the CLI', () => {
  it('answers 304 with the ETag and no body while the ETag is current, 200 once it changed', async () => {
    const etag = await put('page', 'v1');
    const before = await hits();
    const same = await get('page', { 'if-none-match': etag });
    expect(same.status).toBe(304);
    expect(same.headers.get('etag')).toBe(etag);
    expect(same.headers.get('dcache-flags')).toBe('16');
    expect(await same.text()).toBe('');
    // A 304 is a read that was answered: counted as a hit.
    expect(await hits()).toBe(before + 1);

    // Weak comparison, anywhere in a list.
    const listed = await get('page', { 'if-none-match': `"1", W/${etag}` });
    expect(listed.status).toBe(304);

    const newer = await put('page', 'v2');
    const changed = await get('page', { 'if-none-match': etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).toBe(newer);
    expect(await changed.text()).toBe('v2');
  });

  it('answers 406 rather than 304 when Accept rules out every representation, and counts no hit', async () => {
    const etag = await put('typed', 'plain text');
    const before = await hits();
    const res = await get('typed', { 'if-none-match': etag, accept: 'image/png' });
    expect(res.status).toBe(406);
    expect((await get('typed', { accept: 'image/png' })).status).toBe(406);
    expect((await get('typed', { 'if-match': '"1"' })).status).toBe(412);
    expect(await hits()).toBe(before);
  });

  it('labels a 304 with the type the 200 would carry (caches refresh stored headers from it)', async () => {
    const res = await fetch(`${node.url}/v1/keys/json`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    const etag = res.headers.get('etag')!;
    const asMsgpack = await get('json', { 'if-none-match': etag, accept: 'application/msgpack' });
    expect(asMsgpack.status).toBe(304);
    expect(asMsgpack.headers.get('content-type')).toBe('application/msgpack');
    const asStored = await get('json', { 'if-none-match': etag });
    expect(asStored.headers.get('content-type')).toBe('application/json');
  });

  it('says the answer varies with Accept, on the 200 and on the 304', async () => {
    const etag = await put('varies', 'x');
    expect((await get('varies', {})).headers.get('vary')).toBe('accept');
    expect((await get('varies', { 'if-none-match': etag })).headers.get('vary')).toBe('accept');
  });

  it('hands out ETags a restarted node (no snapshot) never hands out again', async () => {
    const first = await startCliNode(['--log-level', 'silent']);
    const write = (url: string) =>
      fetch(`${url}/v1/keys/restarted`, { method: 'PUT', body: 'v1' }).then((res) =>
        res.headers.get('etag'),
      );
    const before = await write(first.url);
    await first.stop();
    const second = await startCliNode(['--log-level', 'silent']);
    const after = await write(second.url);
    expect(after).not.toBe(before);
    const res = await fetch(`${second.url}/v1/keys/restarted`, {
      headers: { 'if-none-match': before! },
    });
    expect(res.status).toBe(200);
  });

  it('answers HEAD with If-None-Match as GET does', async () => {
    const etag = await put('head', 'x');
    const res = await get('head', { 'if-none-match': etag }, { method: 'HEAD' });
    expect(res.status).toBe(304);
    expect(res.headers.get('etag')).toBe(etag);
  });

  it('If-None-Match: * is a 304 for a stored key and a 404 for a missing one', async () => {
    await put('star', 'x');
    expect((await get('star', { 'if-none-match': '*' })).status).toBe(304);
    const missing = await get('never-stored', { 'if-none-match': '*' });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'not_found' } });
  });

  it('answers 412 when If-Match fails and 200 when it holds; a missing key stays a 404', async () => {
    const etag = await put('cas', 'x');
    const wrong = await get('cas', { 'if-match': '"999999"' });
    expect(wrong.status).toBe(412);
    expect(await wrong.json()).toMatchObject({ error: { code: 'precondition_failed' } });
    expect((await get('cas', { 'if-match': `W/${etag}` })).status).toBe(412);
    // Without the condition the answer would be a 404, so the condition is not evaluated.
    expect((await get('cas-missing', { 'if-match': '*' })).status).toBe(404);
    const right = await get('cas', { 'if-match': etag });
    expect(right.status).toBe(200);
    expect(await right.text()).toBe('x');
  });

  it('a 304 of a get-and-touch (?ttl=) still sets the new TTL', async () => {
    const etag = await put('slide', 'x', '?ttl=60000');
    const res = await fetch(`${node.url}/v1/keys/slide?ttl=600000`, {
      headers: { 'if-none-match': etag },
    });
    expect(res.status).toBe(304);
    const ttl = Number(res.headers.get('dcache-ttl'));
    expect(ttl).toBeGreaterThan(60_000);
    expect(ttl).toBeLessThanOrEqual(600_000);
  });

  it('refuses a malformed condition with a JSON 400 before reading', async () => {
    await put('bad', 'x');
    const before = await hits();
    const res = await get('bad', { 'if-none-match': '42' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'bad_condition' } });
    expect(await hits()).toBe(before);
  });
});

describe('conditional writes with ETag lists through the CLI', () => {
  function write(key: string, body: string, headers: Record<string, string>) {
    return fetch(`${node.url}/v1/keys/${key}`, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain', ...headers },
      body,
    });
  }

  it('a PUT with an If-Match list naming the ETag read is a compare-and-set; a weak tag never matches', async () => {
    const etag = await put('list', 'a');
    expect((await write('list', 'b', { 'if-match': `W/${etag}` })).status).toBe(412);
    expect((await write('list', 'b', { 'if-match': `"1", ${etag}` })).status).toBe(204);
    // The same list again: the version it names is gone.
    const stale = await write('list', 'c', { 'if-match': `"1", ${etag}` });
    expect(stale.status).toBe(412);
    expect(await stale.json()).toMatchObject({ error: { code: 'precondition_failed' } });
    expect(await (await get('list', {})).text()).toBe('b');
  });

  it('a PUT with an If-None-Match list writes only while the key has none of its ETags', async () => {
    const etag = await put('none', 'a');
    expect((await write('none', 'b', { 'if-none-match': `"1", W/${etag}` })).status).toBe(412);
    expect(await (await get('none', {})).text()).toBe('a');
    expect((await write('none', 'b', { 'if-none-match': '"1", "2"' })).status).toBe(204);
    expect(await (await get('none', {})).text()).toBe('b');
  });
});

describe('conditional incr, decr and touch through the CLI', () => {
  function post(path: string, headers: Record<string, string>) {
    return fetch(`${node.url}/v1/keys/${path}`, { method: 'POST', headers });
  }

  it('counts only while If-Match names the current ETag, as a compare-and-set (RFC 9110 §13.1.1)', async () => {
    const etag = await put('counter', '10');
    const stale = await post('counter/incr?delta=5', { 'if-match': '"1"' });
    expect(stale.status).toBe(412);
    expect(await stale.json()).toMatchObject({ error: { code: 'precondition_failed' } });
    expect((await post('counter/decr?delta=5', { 'if-match': `W/${etag}` })).status).toBe(412);
    expect(await (await get('counter', {})).text()).toBe('10');

    const counted = await post('counter/incr?delta=5', { 'if-match': etag });
    expect(counted.status).toBe(200);
    expect(await counted.json()).toBe(15);
    // The count changed the ETag: the one read before it no longer holds.
    expect((await post('counter/incr', { 'if-match': etag })).status).toBe(412);
    expect(await (await get('counter', {})).text()).toBe('15');
  });

  it('creates a counter with If-None-Match: * only while the key is absent', async () => {
    await put('seeded', '7');
    const exists = await post('seeded/incr?initial=0', { 'if-none-match': '*' });
    expect(exists.status).toBe(412);
    expect(await (await get('seeded', {})).text()).toBe('7');
    const created = await post('fresh/incr?initial=3', { 'if-none-match': '*' });
    expect(created.status).toBe(200);
    expect(await created.json()).toBe(3);
  });

  it('touches only while If-Match holds', async () => {
    await put('session', 'v');
    expect((await post('session/touch?ttl=60000', { 'if-match': '"1"' })).status).toBe(412);
    expect((await get('session', {})).headers.get('dcache-ttl')).toBeNull();
    expect((await post('session/touch?ttl=60000', { 'if-match': '*' })).status).toBe(204);
    expect((await get('session', {})).headers.get('dcache-ttl')).not.toBeNull();
  });
});
