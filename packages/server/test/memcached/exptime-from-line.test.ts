import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { beforeVersion } from './helpers.js';
import type { RawClient } from './helpers.js';
import { memcachedAndNode } from './memcached-and-node.js';

/**
 * A storage command's exptime counts from its command line, not from the arrival of its data
 * block: memcached turns it into the item's expiry time as it reads the line (process_update_command,
 * process_mset_command), so a block that arrives after that time stores an item already expired.
 * A slow client's value must not outlive its TTL by the time it took to send it.
 */
const sides = memcachedAndNode();

/** Sends `line`, the data block 1.1 s later, then `read`; the replies after the line. */
async function run(client: RawClient, line: string, block: string, read: string): Promise<string> {
  await beforeVersion(client, 'flush_all\r\n');
  client.send(line);
  // memcached's clock ticks once a second: past 1 s, an exptime of 1 has surely run out there.
  await sleep(1100);
  return beforeVersion(client, `${block}${read}`);
}

test.each([
  ['set', 'set k 0 1 1\r\n', 'x\r\n', 'get k\r\n'],
  ['add', 'add k 0 1 1\r\n', 'x\r\n', 'get k\r\n'],
  ['ms T', 'ms k 1 T1\r\n', 'x\r\n', 'mg k v\r\n'],
])(
  '%s: a TTL that ran out while the data block was on its way',
  async (_name, line, block, read) => {
    const [expected, actual] = await Promise.all([
      run(sides.memcached, line, block, read),
      run(sides.node, line, block, read),
    ]);
    expect(expected).toMatch(/^(STORED|HD)\r\n(END|EN)\r\n$/);
    expect(actual).toBe(expected);
  },
);
