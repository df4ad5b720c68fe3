import { DEFAULT_VNODES } from '@dcache/ring';
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient } from './client.js';
import { requiredAcks, resolveOptions } from './options.js';

const NODES = [
  'http://127.0.0.1:8001',
  'http://127.0.0.1:8002/',
  'https://cache.example:443/base/',
];

describe('resolveOptions', () => {
  it('applies the documented defaults and normalises node URLs', () => {
    expect(resolveOptions(NODES)).toStrictEqual({
      nodes: [
        { url: 'http://127.0.0.1:8001', weight: 1 },
        { url: 'http://127.0.0.1:8002', weight: 1 },
        { url: 'https://cache.example/base', weight: 1 },
      ],
      replicas: 2,
      writeConsistency: 'one',
      timeout: 1000,
      token: undefined,
      vnodes: DEFAULT_VNODES,
      failureThreshold: 3,
      probeInterval: 1000,
      restoreRate: 50_000,
      batch: true,
      maxBatchSize: 1000,
      maxBatchBytes: 8 * 1024 * 1024,
      maxBatchesInFlight: 1,
      keyPrefix: '',
      tls: undefined,
      valueEncoding: 'msgpack',
      onNodeDown: undefined,
      onNodeUp: undefined,
      onBackgroundError: undefined,
      discovery: undefined,
      onMembershipChange: undefined,
      onDiscoveryError: undefined,
      transition: { maxWindowMs: 60_000, quietMs: 5_000 },
      onTransition: undefined,
    });
  });

  it('takes nodes as URLs or { url, weight }, weight 1 by default', () => {
    expect(
      resolveOptions(['http://a:1/', { url: 'http://b:1' }, { url: 'http://c:1', weight: 2.5 }])
        .nodes,
    ).toStrictEqual([
      { url: 'http://a:1', weight: 1 },
      { url: 'http://b:1', weight: 1 },
      { url: 'http://c:1', weight: 2.5 },
    ]);
  });

  it("takes keyPrefix '' as no prefix, the default", () => {
    expect(resolveOptions(NODES, { keyPrefix: '' }).keyPrefix).toBe('');
  });

  it('caps replicas at the node count, keeping the wanted count for nodes added later', async () => {
    expect(resolveOptions(NODES.slice(0, 2), { replicas: 5 }).replicas).toBe(5);
    const client = new DistributedCacheClient(NODES.slice(0, 2), { replicas: 5 });
    expect(client.nodesFor('k')).toHaveLength(2);
    await client.close();
  });

  it('keeps valid explicit options', () => {
    const explicit = {
      replicas: 3,
      writeConsistency: 'quorum',
      timeout: 50,
      token: 's3cret',
      vnodes: 64,
      failureThreshold: 1,
      probeInterval: 10,
      restoreRate: 100,
      batch: false,
      maxBatchSize: 7,
      maxBatchBytes: 65_536,
      maxBatchesInFlight: 3,
      keyPrefix: 'app:',
      tls: { servername: 'cache.internal', rejectUnauthorized: false },
      valueEncoding: 'json',
      onNodeDown: () => undefined,
      onNodeUp: () => undefined,
      onBackgroundError: () => undefined,
      transition: { maxWindowMs: 0, quietMs: 1 },
      onTransition: () => undefined,
    } as const;
    expect(resolveOptions(NODES, explicit)).toStrictEqual({
      nodes: resolveOptions(NODES).nodes,
      discovery: undefined,
      onMembershipChange: undefined,
      onDiscoveryError: undefined,
      ...explicit,
    });
  });

  const bad: [string, unknown, unknown, ErrorConstructor, RegExp][] = [
    ['nodes not an array', 'http://a:1', undefined, TypeError, /nodes must be an array/],
    ['empty node list', [], undefined, RangeError, /at least one node/],
    ['non-string node', [8001], undefined, TypeError, /nodes\[0\] must be a URL string/],
    [
      'null node',
      [null],
      undefined,
      TypeError,
      /nodes\[0\] must be a URL string or \{ url, weight \}, got null/,
    ],
    [
      'node object without url',
      [{ weight: 2 }],
      undefined,
      TypeError,
      /nodes\[0\]\.url must be a URL string, got undefined/,
    ],
    [
      'weight string',
      [{ url: 'http://a:1', weight: '2' }],
      undefined,
      TypeError,
      /nodes\[0\]\.weight must be a number, got string/,
    ],
    [
      'weight 0',
      ['http://a:1', { url: 'http://b:1', weight: 0 }],
      undefined,
      RangeError,
      /nodes\[1\]\.weight must be > 0 and at most 262\.144 \(2\^20 ring points \/ vnodes 4000\), got 0/,
    ],
    [
      'weight Infinity',
      [{ url: 'http://a:1', weight: Infinity }],
      undefined,
      RangeError,
      /got Infinity/,
    ],
    ['weight NaN', [{ url: 'http://a:1', weight: Number.NaN }], undefined, RangeError, /got NaN/],
    [
      'weight past the ring cap at the vnodes given',
      [{ url: 'http://a:1', weight: 3 }],
      { vnodes: 2 ** 19 },
      RangeError,
      /nodes\[0\]\.weight must be > 0 and at most 2 \(2\^20 ring points \/ vnodes 524288\), got 3/,
    ],
    [
      'weight null',
      [{ url: 'http://a:1', weight: null }],
      undefined,
      TypeError,
      /weight must be a number, got null/,
    ],
    [
      'misspelt node field',
      [{ url: 'http://a:1', wieght: 2 }],
      undefined,
      TypeError,
      /nodes\[0\] has an unknown field "wieght" \(known: url, weight\)/,
    ],
    [
      'URL object',
      [new URL('http://a:1')],
      undefined,
      TypeError,
      /nodes\[0\] must be a URL string or \{ url, weight \}, got a URL object \(pass its href\)/,
    ],
    [
      'vnodes past the ring cap',
      NODES,
      { vnodes: 2 ** 20 + 1 },
      RangeError,
      /"vnodes" must be an integer from 1 to 1048576/,
    ],
    [
      'duplicate node, once weighted',
      ['http://a:1', { url: 'http://a:1/', weight: 2 }],
      undefined,
      RangeError,
      /twice/,
    ],
    ['malformed URL', ['127.0.0.1:8001:x'], undefined, TypeError, /nodes\[0\]/],
    ['not a URL at all', ['not a url'], undefined, TypeError, /nodes\[0\] is not a valid URL/],
    ['unsupported protocol', ['ftp://127.0.0.1:21'], undefined, TypeError, /http: or https:/],
    ['URL with a query', ['http://127.0.0.1:1/?x=1'], undefined, TypeError, /without query/],
    ['duplicate node', ['http://a:1', 'http://a:1/'], undefined, RangeError, /twice/],
    ['options not an object', NODES, 'fast', TypeError, /options must be an object/],
    ['replicas 0', NODES, { replicas: 0 }, RangeError, /"replicas" must be an integer >= 1, got 0/],
    ['replicas fractional', NODES, { replicas: 1.5 }, RangeError, /"replicas"/],
    ['replicas string', NODES, { replicas: '2' }, TypeError, /"replicas" must be a number/],
    [
      'unknown consistency',
      NODES,
      { writeConsistency: 'most' },
      RangeError,
      /"writeConsistency" must be one of one, quorum, all, got most/,
    ],
    ['timeout 0', NODES, { timeout: 0 }, RangeError, /"timeout"/],
    ['timeout NaN', NODES, { timeout: Number.NaN }, RangeError, /"timeout"/],
    ['timeout past a timer', NODES, { timeout: 2 ** 31 }, RangeError, /"timeout".*2147483647/],
    [
      'probeInterval past a timer',
      NODES,
      { probeInterval: 2 ** 31 },
      RangeError,
      /"probeInterval"/,
    ],
    ['empty token', NODES, { token: '' }, TypeError, /"token"/],
    // No node accepts a token with whitespace (its own option refuses one), and a header cannot
    // carry a control character or one past U+00FF: undici's own errors would not name the option.
    ['token with a space', NODES, { token: 's3 cret' }, TypeError, /"token".*whitespace/],
    ['token with a newline', NODES, { token: 's3\ncret' }, TypeError, /"token".*whitespace/],
    // Read from a mounted secret file: every batch failed (undici refuses the header) and counted
    // against the nodes, so a typo passed for an outage.
    ['token ending in a newline', NODES, { token: 's3cret\n' }, TypeError, /"token".*whitespace/],
    ['token past Latin-1', NODES, { token: '令牌' }, TypeError, /"token".*header/],
    ['token with a NUL', NODES, { token: 's3\0cret' }, TypeError, /"token".*header/],
    ['vnodes 0', NODES, { vnodes: 0 }, RangeError, /"vnodes"/],
    ['failureThreshold 0', NODES, { failureThreshold: 0 }, RangeError, /"failureThreshold"/],
    ['probeInterval negative', NODES, { probeInterval: -1 }, RangeError, /"probeInterval"/],
    ['restoreRate 0', NODES, { restoreRate: 0 }, RangeError, /"restoreRate"/],
    ['restoreRate fractional', NODES, { restoreRate: 1.5 }, RangeError, /"restoreRate"/],
    ['batch not boolean', NODES, { batch: 'yes' }, TypeError, /"batch" must be a boolean/],
    ['maxBatchSize 0', NODES, { maxBatchSize: 0 }, RangeError, /"maxBatchSize"/],
    [
      'maxBatchBytes below 1 KiB',
      NODES,
      { maxBatchBytes: 100 },
      RangeError,
      /"maxBatchBytes" must be an integer >= 1024, got 100/,
    ],
    [
      'maxBatchesInFlight 0',
      NODES,
      { maxBatchesInFlight: 0 },
      RangeError,
      /"maxBatchesInFlight" must be an integer from 1 to 64, got 0/,
    ],
    [
      'maxBatchesInFlight not a number',
      NODES,
      { maxBatchesInFlight: '2' },
      TypeError,
      /"maxBatchesInFlight" must be a number, got string/,
    ],
    [
      'a misspelt option',
      NODES,
      { replica: 2 },
      TypeError,
      /unknown option "replica" \(known: replicas, writeConsistency, /,
    ],
    ["another client's option", NODES, { retries: 3 }, TypeError, /unknown option "retries"/],
    ['keyPrefix not a string', NODES, { keyPrefix: 7 }, TypeError, /"keyPrefix" must be a string/],
    [
      'keyPrefix with a lone surrogate',
      NODES,
      { keyPrefix: 'app\udfff:' },
      RangeError,
      /"keyPrefix" must be well-formed Unicode/,
    ],
    ['tls not an object', NODES, { tls: true }, TypeError, /"tls" must be an object/],
    [
      'onNodeDown not a function',
      NODES,
      { onNodeDown: true },
      TypeError,
      /"onNodeDown" must be a function, got boolean/,
    ],
    [
      'onNodeUp not a function',
      NODES,
      { onNodeUp: 'log' },
      TypeError,
      /"onNodeUp" must be a function, got string/,
    ],
    [
      'onBackgroundError null',
      NODES,
      { onBackgroundError: null },
      TypeError,
      /"onBackgroundError" must be a function, got object/,
    ],
    [
      'transition not an object',
      NODES,
      { transition: 5 },
      TypeError,
      /"transition" must be an object/,
    ],
    [
      'transition with an unknown field',
      NODES,
      { transition: { maxWindow: 5 } },
      TypeError,
      /"transition" has an unknown field "maxWindow" \(known: maxWindowMs, quietMs\)/,
    ],
    [
      'transition.maxWindowMs negative',
      NODES,
      { transition: { maxWindowMs: -1 } },
      RangeError,
      /"transition.maxWindowMs" must be an integer from 0 to 2147483647, got -1/,
    ],
    [
      'transition.maxWindowMs shorter than DNS discovery takes to converge',
      'dns://dcache.local:8080',
      {
        discovery: { intervalMs: 1000, timeoutMs: 500 },
        transition: { maxWindowMs: 3999 },
      },
      RangeError,
      /"transition.maxWindowMs" must be 0 \(no windows\) or at least 4000 with this discovery .*got 3999/,
    ],
    [
      'transition.quietMs 0',
      NODES,
      { transition: { quietMs: 0 } },
      RangeError,
      /"transition.quietMs" must be an integer from 1 to 2147483647, got 0/,
    ],
    [
      'onTransition not a function',
      NODES,
      { onTransition: {} },
      TypeError,
      /"onTransition" must be a function, got object/,
    ],
  ];

  it.each(bad)('%s → %s', (_name, nodes, options, type, message) => {
    expect(() => resolveOptions(nodes, options as never)).toThrow(type);
    expect(() => resolveOptions(nodes, options as never)).toThrow(message);
  });

  it.each([
    ['a node URL', ['http://admin:hunter2@a:1']],
    ['a { url }', [{ url: 'https://admin:hunter2@a:1' }]],
    ['a URL that does not parse', ['http://admin:hunter2@a:99999']],
    ['a discovery URL', 'dns://admin:hunter2@cache.test:1'],
    ['a special scheme without slashes', ['http:admin:hunter2@a:1']],
    // The URL parser strips leading spaces and control characters, and tabs and newlines anywhere:
    // a list split on ", " from an environment variable still parses, credentials and all.
    ['a URL after a space', ['http://a:1', ' http://admin:hunter2@b:1']],
    ['a URL after a tab', ['\thttp://admin:hunter2@a:1']],
    ['a discovery URL after a space', ' dns://admin:hunter2@cache.test:1'],
    ['a URL with a tab in its scheme', ['ht\ttp://admin:hunter2@a:1']],
    // Unencoded, a password's # ? or / ends the authority: the URL does not parse, and its
    // credentials run past where a parsed URL's would end.
    ['a password with a #', ['http://admin:hunter2#@a:1']],
    ['a password with a /', ['http://admin:hunter2/x@a:1']],
    ['a password with a ?', ['https://admin:hunter2?@a:1']],
  ])('refuses credentials in %s without quoting the password', (_name, nodes) => {
    // An error message ends up in logs: it must not carry the secret it refuses.
    let message = '';
    try {
      resolveOptions(nodes as never);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/nodes/);
    expect(message).not.toContain('hunter2');
    expect(message).not.toContain('admin');
  });
});

describe('requiredAcks', () => {
  it.each([
    ['one', 3, 1],
    ['quorum', 1, 1],
    ['quorum', 2, 2],
    ['quorum', 3, 2],
    ['quorum', 5, 3],
    ['all', 3, 3],
  ] as const)('%s of %i replicas needs %i', (consistency, replicas, expected) => {
    expect(requiredAcks(consistency, replicas)).toBe(expected);
  });
});
