import { expect, test } from 'vitest';
import { beforeVersion, statsOf } from './helpers.js';
import type { RawClient } from './helpers.js';
import { memcachedAndNode } from './memcached-and-node.js';

/**
 * `stats` counters after the same commands, on a real memcached and a CLI-started node: how much
 * each counter moved (the differential fuzz leaves `stats` out, its reply holding fields only one
 * side has). Only counters both report, and only ones the node keeps itself or whose meaning
 * MEMCACHED.md does not set apart, are compared.
 */
const sides = memcachedAndNode();

const COUNTERS = [
  'cmd_get',
  'cmd_set',
  'cmd_touch',
  'cmd_meta',
  'delete_hits',
  'delete_misses',
  'incr_hits',
  'incr_misses',
  'decr_hits',
  'decr_misses',
  'cas_hits',
  'cas_misses',
  'cas_badval',
  'touch_hits',
  'touch_misses',
  'total_items',
];

/** Each counter's change over `commands`, as `name=delta`. */
async function moved(client: RawClient, commands: string): Promise<string> {
  await beforeVersion(client, 'flush_all\r\n');
  const before = await statsOf(client);
  await beforeVersion(client, commands);
  const after = await statsOf(client);
  return COUNTERS.map((name) => {
    const x = after.get(name);
    const y = before.get(name);
    return `${name}=${x === undefined || y === undefined ? '-' : String(x - y)}`;
  }).join(' ');
}

test.each([
  // Items an mg/ma N creates are linked items: total_items counts them.
  ['mg N creates an item', 'mg k N100\r\n'],
  ['mg N T creates an item', 'mg k N100 T100\r\n'],
  ['ma N creates an item', 'ma k N100 J5\r\n'],
  // A number that grows no longer fits the item: memcached stores a new one.
  ['incr past the old length', 'set k 0 0 1\r\n9\r\nincr k 1\r\n'],
  ['ma past the old length', 'set k 0 0 1\r\n9\r\nma k D5\r\n'],
  ['incr in place', 'set k 0 0 2\r\n10\r\nincr k 1\r\ndecr k 5\r\n'],
  // cmd_meta is memcached's count of `me`; mg/ms/md/ma count in their own counters.
  [
    'meta commands',
    'set k 0 0 1\r\n9\r\nmg k v\r\nms k 1\r\n1\r\nma k\r\nmd k\r\nmn\r\nme k\r\nme j\r\n',
  ],
])('%s: the same counters move as on memcached', async (_name, commands) => {
  const [expected, actual] = await Promise.all([
    moved(sides.memcached, commands),
    moved(sides.node, commands),
  ]);
  expect(actual).toBe(expected);
});
