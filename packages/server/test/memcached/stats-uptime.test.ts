import { afterEach, expect, test } from 'vitest';
import { beforeVersion, RawClient, startListener } from './helpers.js';
import type { Started } from './helpers.js';

/**
 * `stats` `uptime` is time the listener has run, `time` the wall clock: a wall clock set back (NTP,
 * a VM resumed) changes `time` only. memcached's uptime never goes back either.
 */
let started: Started | undefined;
let client: RawClient | undefined;
afterEach(async () => {
  client?.close();
  await started?.listener.close();
  started = undefined;
  client = undefined;
});

test('uptime does not follow the wall clock back', async () => {
  let wall = Date.now();
  started = await startListener({ now: () => wall });
  client = new RawClient(started.port);
  await client.ready();
  wall -= 3_600_000;
  const text = await beforeVersion(client, 'stats\r\n');
  expect(/^STAT time (\S+)\r$/m.exec(text)?.[1]).toBe(String(Math.floor(wall / 1000)));
  expect(/^STAT uptime (\S+)\r$/m.exec(text)?.[1]).toBe('0');
});
