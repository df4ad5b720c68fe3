import { expect, test } from 'vitest';
import { beforeVersion, statsOf } from './helpers.js';
import type { RawClient } from './helpers.js';
import { memcachedAndNode } from './memcached-and-node.js';

/**
 * `ms … C0` over an existing item, on a real memcached and a CLI-started node. memcached reads a
 * CAS of 0 as "none given" (CAS_NONE). A CAS store (set or replace mode) refuses it: `EX`, counted
 * in `cas_badval`, the item unchanged — with `I` too, whose stale write needs a CAS older than the
 * item's that is not 0. Append and prepend (`MA`/`MP`) compare only a CAS given, so C0 appends.
 * The differential fuzz sends `I` only with a CAS one below the item's, and C only as `C1` or the
 * item's own.
 */
const sides = memcachedAndNode();

/** The reply without CAS values (their numbering differs) and the cas_* counters' movement. */
async function run(client: RawClient, commands: string): Promise<string> {
  await beforeVersion(client, 'flush_all\r\n');
  const counters = async (): Promise<bigint[]> => {
    const stats = await statsOf(client);
    return ['cas_hits', 'cas_badval', 'cas_misses'].map((name) => stats.get(name) ?? -1n);
  };
  const before = await counters();
  const reply = (await beforeVersion(client, commands)).replace(/ c\d+/g, ' c#');
  const after = await counters();
  return `${reply}cas hits/badval/misses ${after.map((x, i) => x - before[i]!).join('/')}`;
}

test.each([
  ['ms I C0', 'set k 0 0 2\r\n10\r\nms k 1 I C0\r\nx\r\nmg k v c t\r\n'],
  ['ms I C0 q', 'set k 0 0 2\r\n10\r\nms k 1 I C0 q T100\r\nx\r\nmn\r\nmg k v\r\n'],
  ['ms I C0 after md I', 'set k 0 0 2\r\n10\r\nmd k I\r\nms k 1 I C0\r\nx\r\nmg k v\r\n'],
  ['ms C0', 'set k 0 0 2\r\n10\r\nms k 1 C0\r\nx\r\nmg k v\r\n'],
  ['ms I C0 on a miss', 'ms k 1 I C0\r\nx\r\nmg k v\r\n'],
  // Append and prepend check a CAS only when one is given: C0 appends (CAS_NONE), as without C.
  ['ms MA C0', 'set k 0 0 1\r\nx\r\nms k 1 MA C0\r\ny\r\nmg k v\r\n'],
  ['ms MP C0 q', 'set k 0 0 1\r\nx\r\nms k 1 MP C0 q\r\ny\r\nmn\r\nmg k v\r\n'],
  ['ms MA I C0', 'set k 0 0 1\r\nx\r\nms k 1 MA I C0\r\ny\r\nmg k v\r\n'],
  ['ms MA C1', 'set k 0 0 1\r\nx\r\nms k 1 MA C1\r\ny\r\nmg k v\r\n'],
])('%s: the same reply as memcached', async (_name, commands) => {
  const [expected, actual] = await Promise.all([
    run(sides.memcached, commands),
    run(sides.node, commands),
  ]);
  expect(actual).toBe(expected);
});
