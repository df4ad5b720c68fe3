import { afterEach, describe, expect, it, vi } from 'vitest';
import { createApp } from '../src/index.js';
import { errorOf, startNode } from './helpers.js';
import { startCliNode, stopCliNodes } from './cli-node.js';

const text = { 'content-type': 'text/plain' };

/** [what, options, request path, init, status, code] — one row per way a client can be wrong. */
const CASES: [string, Parameters<typeof createApp>[0], string, RequestInit, number, string][] = [
  ['bad ttl', {}, '/v1/keys/k?ttl=-1', { method: 'PUT', body: 'v', headers: text }, 400, 'bad_ttl'],
  [
    'ttl not a number',
    {},
    '/v1/keys/k?ttl=soon',
    { method: 'PUT', body: 'v', headers: text },
    400,
    'bad_ttl',
  ],
  [
    'ttl too large',
    {},
    '/v1/keys/k?ttl=99999999999999999',
    { method: 'PUT', body: 'v', headers: text },
    400,
    'bad_ttl',
  ],
  [
    'ttl one past the maximum',
    {},
    '/v1/keys/k?ttl=9007199254740992',
    { method: 'PUT', body: 'v', headers: text },
    400,
    'bad_ttl',
  ],
  ['key over the limit', { maxKeyBytes: 4 }, '/v1/keys/abcde', {}, 400, 'key_too_long'],
  [
    'key over the limit in UTF-8 bytes',
    { maxKeyBytes: 4 },
    `/v1/keys/${encodeURIComponent('ééé')}`,
    {},
    400,
    'key_too_long',
  ],
  [
    'malformed JSON',
    {},
    '/v1/keys/k',
    { method: 'PUT', body: '{', headers: { 'content-type': 'application/json' } },
    400,
    'bad_body',
  ],
  [
    'a msgpack str that is not UTF-8',
    {},
    '/v1/keys/k',
    {
      method: 'PUT',
      body: Uint8Array.of(0xa1, 0xff),
      headers: { 'content-type': 'application/msgpack' },
    },
    400,
    'bad_body',
  ],
  [
    'bad Dcache-Flags',
    {},
    '/v1/keys/k',
    { method: 'PUT', body: 'v', headers: { 'dcache-flags': '-1' } },
    400,
    'bad_flags',
  ],
  [
    'flags over 32 bits',
    {},
    '/v1/keys/k',
    { method: 'PUT', body: 'v', headers: { 'dcache-flags': '4294967296' } },
    400,
    'bad_flags',
  ],
  ['bad delta', {}, '/v1/keys/k/incr?delta=one', { method: 'POST' }, 400, 'bad_delta'],
  ['missing token', { token: 's3cret' }, '/v1/keys/k', {}, 401, 'unauthorized'],
  ['unknown path', {}, '/v2/keys/k', {}, 404, 'not_found'],
  ['missing key', {}, '/v1/keys/k', {}, 404, 'not_found'],
  ['POST on a key', {}, '/v1/keys/k', { method: 'POST' }, 405, 'method_not_allowed'],
  ['GET on a batch', {}, '/v1/batch', {}, 405, 'method_not_allowed'],
  ['DELETE on stats', {}, '/v1/stats', { method: 'DELETE' }, 405, 'method_not_allowed'],
  ['GET on incr', {}, '/v1/keys/k/incr', {}, 405, 'method_not_allowed'],
  ['GET on touch', {}, '/v1/keys/k/touch', {}, 405, 'method_not_allowed'],
  ['GET on flush', {}, '/v1/flush', {}, 405, 'method_not_allowed'],
  ['DELETE on the key listing', {}, '/v1/keys', { method: 'DELETE' }, 405, 'method_not_allowed'],
  ['GET on fence', {}, '/v1/fence', {}, 405, 'method_not_allowed'],
  ['GET on restore-claim', {}, '/v1/restore-claim', {}, 405, 'method_not_allowed'],
  [
    'CAS on a missing key',
    {},
    '/v1/keys/k',
    { method: 'PUT', body: 'v', headers: { ...text, 'if-match': '"1"' } },
    412,
    'precondition_failed',
  ],
  [
    'value over the limit',
    { maxValueBytes: 4 },
    '/v1/keys/k',
    { method: 'PUT', body: '12345', headers: text },
    413,
    'too_large',
  ],
  [
    'entry over the whole memory',
    { maxMemory: 512, maxValueBytes: '1kb' },
    '/v1/keys/k',
    { method: 'PUT', body: 'x'.repeat(1000), headers: text },
    413,
    'too_large',
  ],
  [
    'unsupported Content-Type',
    {},
    '/v1/keys/k',
    { method: 'PUT', body: 'v', headers: { 'content-type': 'image/gif' } },
    415,
    'unsupported_media_type',
  ],
];

describe.each(['in-process', 'over a socket'] as const)('error responses (%s)', (mode) => {
  // Titled by hand: printf-style placeholders take the row's values in order, so a status in the
  // title would read the options object.
  const titled = CASES.map(
    (row) => [`${row[0]} → ${row[4]} ${row[5]}`, ...row.slice(1)] as typeof row,
  );
  it.each(titled)('%s', async (_what, options, path, init, status, code) => {
    let res: Response;
    if (mode === 'in-process') res = await createApp(options).request(path, init);
    else {
      const node = await startNode(options);
      try {
        res = await fetch(`${node.url}${path}`, init);
      } finally {
        await node.close();
      }
    }
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/json');
    const error = await errorOf(res);
    expect(error.code).toBe(code);
    expect(error.message.length).toBeGreaterThan(0);
  });
});

describe('error responses', () => {
  it('406 when Accept allows nothing the value can be', async () => {
    const app = createApp();
    await app.request('/v1/keys/raw', { method: 'PUT', body: new Uint8Array([1]) });
    const res = await app.request('/v1/keys/raw', { headers: { accept: 'application/json' } });
    expect(res.status).toBe(406);
    expect((await errorOf(res)).code).toBe('not_acceptable');
  });

  it('405 says which methods work', async () => {
    const res = await createApp().request('/v1/keys/k', { method: 'PATCH' });
    expect(res.headers.get('allow')).toBe('GET, HEAD, PUT, DELETE');
  });

  it('a failed write leaves the stored value untouched, but for a set too large', async () => {
    const app = createApp({ maxValueBytes: 4 });
    await app.request('/v1/keys/k', { method: 'PUT', body: 'old', headers: text });
    for (const init of [
      { method: 'PUT', body: 'long', headers: { ...text, 'if-match': '"9"' } },
      { method: 'PUT', body: 'too long', headers: { ...text, 'if-none-match': '*' } },
      { method: 'PUT', body: '{', headers: { 'content-type': 'application/json' } },
      { method: 'PUT', body: 'v', headers: { 'content-type': 'image/gif' } },
      { method: 'PUT', body: 'new', headers: { ...text, 'if-none-match': '*' } },
    ]) {
      expect((await app.request('/v1/keys/k', init)).status).toBeGreaterThanOrEqual(400);
    }
    expect(await (await app.request('/v1/keys/k')).text()).toBe('old');
    // As memcached's set: the value it was to replace goes, so no reader gets it after the update.
    const tooLong = { method: 'PUT', body: 'too long', headers: text };
    expect((await app.request('/v1/keys/k', tooLong)).status).toBe(413);
    expect((await app.request('/v1/keys/k')).status).toBe(404);
  });

  it('never answers 500 to odd but client-made input', async () => {
    const app = createApp();
    for (const [path, init] of [
      ['/v1/keys/%E0%A4%A', {}],
      ['/v1/keys/%00', { method: 'PUT', body: '' }],
      ['/v1/keys/k?ttl=1&ttl=2', { method: 'PUT', body: 'v' }],
      ['/v1/keys/k', { headers: { accept: ';;;,,,q=x' } }],
      ['/v1/keys/k', { method: 'PUT', body: 'v', headers: { 'content-type': ';' } }],
      [
        '/v1/batch',
        { method: 'POST', body: '', headers: { 'content-type': 'application/msgpack' } },
      ],
    ] as [string, RequestInit][]) {
      const res = await app.request(path, init);
      expect(res.status, path).toBeLessThan(500);
    }
  });
});

describe('refusals of a node started through the CLI', () => {
  afterEach(() => stopCliNodes());

  it('answers a wrong method on every admin path 405 with Allow, and logs each 404 and 405 at debug', async () => {
    const node = await startCliNode(['--log-level', 'debug']);
    const cases: [string, string, string][] = [
      ['/v1/keys', 'DELETE', 'GET, HEAD'],
      ['/v1/fence', 'GET', 'POST'],
      ['/v1/restore-claim', 'GET', 'POST'],
    ];
    for (const [path, method, allow] of cases) {
      const res = await fetch(`${node.url}${path}`, { method });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe(allow);
    }
    expect((await fetch(`${node.url}/v2/nothing`)).status).toBe(404);
    await vi.waitFor(() => {
      expect(node.output()).toMatch(/405 DELETE \/v1\/keys: /);
      expect(node.output()).toMatch(/404 GET \/v2\/nothing: no route/);
    });
  });
});
