import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../src/index.js';
import { listenOnLoopback } from './cluster.js';

// A node that counts every request it receives: bad input must never reach it.
let server: Server;
let url: string;
let requests = 0;
beforeAll(async () => {
  server = createServer((req, res) => {
    requests++;
    res.statusCode = 500;
    res.end();
  });
  url = await listenOnLoopback(server);
});
afterAll(
  () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
);

type Call = (client: DistributedCacheClient) => Promise<unknown>;
const call = (fn: Call): Call => fn;
const untyped = (value: unknown): never => value as never;
let loads = 0;
/** A getOrSet loader that counts its calls: bad input must not reach it either. */
const load = (): string => `loaded ${++loads}`;

const cases: [string, Call, ErrorConstructor, RegExp][] = [
  [
    'get: number key',
    call((c) => c.get(untyped(1))),
    TypeError,
    /key must be a string, got number/,
  ],
  ['get: empty key', call((c) => c.get('')), RangeError, /key must not be empty/],
  [
    "set: memjs' expires option (would never expire)",
    call((c) => c.set('k', 1, untyped({ expires: 60 }))),
    TypeError,
    /unknown option "expires" \(this call takes signal, ttl\)/,
  ],
  [
    'get: a ttl, which get does not take',
    call((c) => c.get('k', untyped({ ttl: 5 }))),
    TypeError,
    /unknown option "ttl" \(this call takes signal\)/,
  ],
  [
    'incr: a misspelt initial',
    call((c) => c.incr('k', 1, untyped({ inital: 0 }))),
    TypeError,
    /unknown option "inital"/,
  ],
  [
    'set: key with a lone surrogate (no UTF-8 form)',
    call((c) => c.set('a\ud800', 1)),
    RangeError,
    /key must be well-formed Unicode: it holds a lone surrogate/,
  ],
  [
    'getMany: a key with a lone low surrogate',
    call((c) => c.getMany(['ok', '\udc00x'])),
    RangeError,
    /keys\[1\] must be well-formed Unicode/,
  ],
  ['has: undefined key', call((c) => c.has(untyped(undefined))), TypeError, /key must be a string/],
  ['set: object key', call((c) => c.set(untyped({}), 1)), TypeError, /key must be a string/],
  [
    'set: undefined value',
    call((c) => c.set('k', undefined)),
    TypeError,
    /value must not be undefined/,
  ],
  ['set: function value', call((c) => c.set('k', () => 1)), TypeError, /function cannot be stored/],
  ['set: symbol value', call((c) => c.set('k', Symbol('x'))), TypeError, /symbol cannot be stored/],
  [
    'set: negative ttl',
    call((c) => c.set('k', 1, { ttl: -1 })),
    RangeError,
    /ttl must be an integer from 0/,
  ],
  [
    'set: ttl beyond what a node accepts',
    call((c) => c.set('k', 1, { ttl: 2 ** 53 })),
    RangeError,
    /to 9007199254740991 milliseconds, got 9007199254740992/,
  ],
  ['set: fractional ttl', call((c) => c.set('k', 1, { ttl: 1.5 })), RangeError, /ttl/],
  ['set: NaN ttl', call((c) => c.set('k', 1, { ttl: Number.NaN })), RangeError, /ttl/],
  ['set: infinite ttl', call((c) => c.set('k', 1, { ttl: Infinity })), RangeError, /ttl/],
  [
    'set: string ttl',
    call((c) => c.set('k', 1, untyped({ ttl: '10' }))),
    TypeError,
    /ttl must be a number/,
  ],
  [
    'set: options not an object',
    call((c) => c.set('k', 1, untyped(10))),
    TypeError,
    /options must be an object/,
  ],
  ['add: undefined value', call((c) => c.add('k', undefined)), TypeError, /undefined/],
  ['replace: bad ttl', call((c) => c.replace('k', 1, { ttl: -5 })), RangeError, /ttl/],
  ['delete: null key', call((c) => c.delete(untyped(null))), TypeError, /key must be a string/],
  ['touch: number key', call((c) => c.touch(untyped(7), 10)), TypeError, /key must be a string/],
  [
    'touch: no ttl',
    call((c) => c.touch('k', untyped(undefined))),
    TypeError,
    /ttl must be a number/,
  ],
  [
    'touch: negative ttl',
    call((c) => c.touch('k', -1)),
    RangeError,
    /ttl must be an integer from 0/,
  ],
  ['touch: ttl past 2^53-1', call((c) => c.touch('k', 2 ** 53)), RangeError, /9007199254740991/],
  ['getAndTouch: no ttl', call((c) => c.getAndTouch('k', untyped(undefined))), TypeError, /ttl/],
  ['getAndTouch: negative ttl', call((c) => c.getAndTouch('k', -1)), RangeError, /ttl/],
  ['getAndTouch: number key', call((c) => c.getAndTouch(untyped(1), 5)), TypeError, /key/],
  ['incr: negative initial', call((c) => c.incr('k', 1, { initial: -1 })), RangeError, /initial/],
  [
    'incr: string initial',
    call((c) => c.incr('k', 1, untyped({ initial: '5' }))),
    TypeError,
    /initial/,
  ],
  [
    'incr: fractional initial',
    call((c) => c.incr('k', 1, { initial: 0.5 })),
    RangeError,
    /initial/,
  ],
  [
    'decr: ttl without initial',
    call((c) => c.decr('k', 1, { ttl: 1000 })),
    TypeError,
    /give initial too/,
  ],
  [
    'incr: bad ttl with initial',
    call((c) => c.incr('k', 1, { initial: 0, ttl: -1 })),
    RangeError,
    /ttl/,
  ],
  ['incr: options not an object', call((c) => c.incr('k', 1, untyped(5))), TypeError, /options/],
  ['touch: fractional ttl', call((c) => c.touch('k', 0.5)), RangeError, /ttl/],
  [
    'touch: options object',
    call((c) => c.touch('k', untyped({ ttl: 5 }))),
    TypeError,
    /ttl must be a number/,
  ],
  ['getMany: a string', call((c) => c.getMany(untyped('abc'))), TypeError, /iterable of strings/],
  [
    'getMany: a number key',
    call((c) => c.getMany(untyped(['a', 2]))),
    TypeError,
    /keys\[1\] must be a string/,
  ],
  [
    'setMany: undefined value',
    call((c) =>
      c.setMany([
        ['a', 1],
        ['b', undefined],
      ]),
    ),
    TypeError,
    /entries\[1\]\[1\] \(its value\) must not be undefined/,
  ],
  [
    'setMany: an empty key',
    call((c) =>
      c.setMany([
        ['a', 1],
        ['b', 2],
        ['', 3],
      ]),
    ),
    RangeError,
    /entries\[2\]\[0\] \(its key\) must not be empty/,
  ],
  [
    'setMany: not pairs',
    call((c) => c.setMany(untyped([['a', 1], 'b']))),
    TypeError,
    /\[key, value\] pairs: entries\[1\] is not one/,
  ],
  [
    'setMany: a plain object',
    call((c) => c.setMany(untyped({ a: 1 }))),
    TypeError,
    /entries must be an iterable of \[key, value\] pairs/,
  ],
  ['setMany: bad ttl', call((c) => c.setMany([['a', 1]], { ttl: -1 })), RangeError, /ttl/],
  [
    'deleteMany: empty key',
    call((c) => c.deleteMany(['a', ''])),
    RangeError,
    /keys\[1\] must not be empty/,
  ],
  [
    'incr: negative delta',
    call((c) => c.incr('k', -1)),
    RangeError,
    /delta must be a whole number from 0 to 9007199254740991, got -1 \(decr subtracts\)/,
  ],
  ['incr: fractional delta', call((c) => c.incr('k', 0.5)), RangeError, /delta/],
  [
    'incr: delta past 2^53 (a whole number, but not an exact one)',
    call((c) => c.incr('k', 2 ** 60)),
    RangeError,
    /delta must be a whole number from 0 to 9007199254740991, got 1152921504606847000/,
  ],
  [
    'incr: initial past 2^53',
    call((c) => c.incr('k', 1, { initial: 2 ** 60 })),
    RangeError,
    /initial must be a whole number from 0 to 9007199254740991/,
  ],
  [
    'decr: string delta',
    call((c) => c.decr('k', untyped('1'))),
    TypeError,
    /delta must be a number/,
  ],
  [
    'compareAndSet: negative version',
    call((c) => c.compareAndSet('k', 'v', -1)),
    RangeError,
    /version/,
  ],
  [
    "compareAndSet: a version past a fingerprint's 52 bits",
    call((c) => c.compareAndSet('k', 'v', Number.MAX_SAFE_INTEGER)),
    RangeError,
    /version must be an integer from 0 to 2\^52 - 1/,
  ],
  [
    'compareAndSet: string version',
    call((c) => c.compareAndSet('k', 'v', untyped('1'))),
    TypeError,
    /version must be a number/,
  ],
  [
    'compareAndSet: undefined value',
    call((c) => c.compareAndSet('k', undefined, 1)),
    TypeError,
    /undefined/,
  ],
  ['getOrSet: number key', call((c) => c.getOrSet(untyped(1), load)), TypeError, /key must be a/],
  ['getOrSet: empty key', call((c) => c.getOrSet('', load)), RangeError, /key must not be empty/],
  [
    'getOrSet: loader not a function',
    call((c) => c.getOrSet('k', untyped('v'))),
    TypeError,
    /loader must be a function, got string/,
  ],
  [
    'getOrSet: no loader',
    call((c) => c.getOrSet('k', untyped(undefined))),
    TypeError,
    /loader must be a function, got undefined/,
  ],
  [
    'getOrSet: negative ttl',
    call((c) => c.getOrSet('k', load, { ttl: -1 })),
    RangeError,
    /ttl must be an integer from 0/,
  ],
  [
    'getOrSet: string ttl',
    call((c) => c.getOrSet('k', load, untyped({ ttl: '5' }))),
    TypeError,
    /ttl must be a number/,
  ],
  [
    'getOrSet: options not an object',
    call((c) => c.getOrSet('k', load, untyped(60_000))),
    TypeError,
    /options must be an object/,
  ],
  [
    'getVersioned: number key',
    call((c) => c.getVersioned(untyped(5))),
    TypeError,
    /key must be a string/,
  ],
];

describe('bad input is refused before anything is sent', () => {
  it.each(cases)('%s', async (_name, fn, type, message) => {
    const client = new DistributedCacheClient([url], { failureThreshold: 1000 });
    const error: unknown = await fn(client).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(type);
    expect((error as Error).message).toMatch(message);
    await client.close();
    expect(requests).toBe(0);
    expect(loads).toBe(0);
  });

  const constructors: [string, () => unknown, ErrorConstructor, RegExp][] = [
    ['empty node list', () => new DistributedCacheClient([]), RangeError, /at least one node/],
    [
      'malformed URL',
      () => new DistributedCacheClient(['http//nope']),
      TypeError,
      /nodes\[0\] is not a valid URL/,
    ],
    ['non-string node', () => new DistributedCacheClient([untyped(8001)]), TypeError, /nodes\[0\]/],
    [
      'nodes not an array',
      () => new DistributedCacheClient(untyped(url)),
      TypeError,
      /nodes must be an array/,
    ],
    [
      'bad option',
      () => new DistributedCacheClient([url], { replicas: 0 }),
      RangeError,
      /"replicas"/,
    ],
    [
      'hook not a function',
      () => new DistributedCacheClient([url], { onNodeDown: untyped('console.log') }),
      TypeError,
      /option "onNodeDown" must be a function, got string/,
    ],
  ];
  it.each(constructors)('constructor: %s', (_name, make, type, message) => {
    expect(make).toThrow(type);
    expect(make).toThrow(message);
    expect(requests).toBe(0);
  });
});
