import { describe, expect, test } from 'vitest';
import { cliNodeAndClient } from './helpers.js';

/**
 * How `k` echoes a key after the commands that re-create an item, on a CLI-started node, against
 * what memcached 1.6.18 answers to the same bytes (each step sent alone, so no reply in flight
 * holds the item and memcached's in-place changes apply).
 */
const cli = cliNodeAndClient();

const b64 = (key: string) => Buffer.from(key, 'latin1').toString('base64');

describe('an ms append or prepend with a b key', () => {
  // memcached allocates the joined item afresh (do_store_item), without the request's
  // binary-key flag: from then on `k` echoes the key raw.
  test.each(['MA', 'MP'])('%s: the joined item echoes its key raw', async (mode) => {
    const key = `joined-${mode}`;
    expect(await cli.client.request(`ms ${b64(key)} 1 b\r\nx\r\n`)).toBe('HD\r\n');
    expect(await cli.client.request(`mg ${key} k\r\n`)).toBe(`HD k${b64(key)} b\r\n`);
    expect(await cli.client.request(`ms ${b64(key)} 1 b ${mode}\r\ny\r\n`)).toBe('HD\r\n');
    expect(await cli.client.request(`mg ${b64(key)} b k\r\n`)).toBe(`HD k${key}\r\n`);
  });

  test('a raw item appended through a b key stays raw', async () => {
    expect(await cli.client.request('set raw-joined 0 0 1\r\nx\r\n')).toBe('STORED\r\n');
    expect(await cli.client.request(`ms ${b64('raw-joined')} 1 b MA\r\ny\r\n`)).toBe('HD\r\n');
    expect(await cli.client.request('mg raw-joined k v\r\n')).toBe('VA 2 kraw-joined\r\nxy\r\n');
  });

  test('a key no reply line can carry raw is still echoed base64', async () => {
    const key = 'a b';
    await cli.client.request(`ms ${b64(key)} 1 b\r\nx\r\n`);
    expect(await cli.client.request(`ms ${b64(key)} 1 b MA\r\ny\r\n`)).toBe('HD\r\n');
    expect(await cli.client.request(`mg ${b64(key)} b k\r\n`)).toBe(`HD k${b64(key)} b\r\n`);
  });

  test('a set with a b key still echoes base64', async () => {
    expect(await cli.client.request(`ms ${b64('set-b')} 1 b ME\r\nx\r\n`)).toBe('HD\r\n');
    expect(await cli.client.request(`mg set-b k\r\n`)).toBe(`HD k${b64('set-b')} b\r\n`);
  });
});
