import { afterEach, describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../src/index.js';
import { TestNode } from './cluster.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function oneNode(): Promise<{ node: TestNode; json: DistributedCacheClient }> {
  const node = await TestNode.start();
  cleanups.push(() => node.kill());
  const json = new DistributedCacheClient([node.url], { valueEncoding: 'json' });
  cleanups.push(() => json.close());
  return { node, json };
}

describe("valueEncoding 'json' against a node", () => {
  it('stores what curl (or any language) reads back as it was written', async () => {
    const { node, json } = await oneNode();
    const user = { name: 'Ada', roles: ['admin'], age: 36, active: true, manager: null };
    expect(await json.set('user', user)).toBe(true);
    expect(await json.set('greeting', 'héllo')).toBe(true);

    const asJson = await fetch(`${node.url}/v1/keys/user`);
    expect(asJson.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await asJson.json()).toStrictEqual(user);
    const asText = await fetch(`${node.url}/v1/keys/greeting`);
    expect(asText.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await asText.text()).toBe('héllo');
    // And the client reads its own values back.
    expect(await json.get('user')).toStrictEqual(user);
    expect(await json.get('greeting')).toBe('héllo');
  });

  it('a msgpack client and a json client read each other (reads decode by the stored flags)', async () => {
    const { node, json } = await oneNode();
    const msgpack = new DistributedCacheClient([node.url]);
    cleanups.push(() => msgpack.close());
    await msgpack.set('from-msgpack', { when: new Date(0), tags: new Map([['a', 1]]) });
    await json.set('from-json', { list: [1, 2] });
    expect(await json.get('from-msgpack')).toStrictEqual({
      when: new Date(0),
      tags: new Map([['a', 1]]),
    });
    expect(await msgpack.get('from-json')).toStrictEqual({ list: [1, 2] });
  });

  it('counters written as JSON numbers work with incr', async () => {
    const { json } = await oneNode();
    await json.set('visits', 5);
    expect(await json.incr('visits', 2)).toBe(7);
    expect(await json.get('visits')).toBe(7);
  });

  it('refuses a value JSON would change before anything is sent; the stored one stays', async () => {
    const { node, json } = await oneNode();
    await json.set('user', { name: 'Ada' });
    const before = await node.batchRequests();
    await expect(json.set('user', { name: 'Ada', since: new Date(0) })).rejects.toThrow(
      /valueEncoding 'json' cannot store a Date \(at key "since"\)/,
    );
    await expect(json.setMany([['a', new Map()]])).rejects.toThrow(TypeError);
    await expect(json.getOrSet('loaded', () => 10n)).rejects.toThrow(/cannot store a bigint/);
    expect(await node.batchRequests()).toBe(before + 1); // only getOrSet's read
    expect(await json.get('user')).toStrictEqual({ name: 'Ada' });
    expect(await json.get('loaded')).toBeUndefined();
  });

  it('an unknown valueEncoding is a RangeError', () => {
    expect(
      () =>
        new DistributedCacheClient(['http://127.0.0.1:1'], {
          valueEncoding: 'cbor' as 'json',
        }),
    ).toThrow(new RangeError('option "valueEncoding" must be one of msgpack, json, got cbor'));
  });
});
