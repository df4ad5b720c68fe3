import { describe, expect, test } from 'vitest';
import { cliNodeAndClient } from './helpers.js';

/**
 * Items written over HTTP, seen through the meta protocol of the same CLI-started node: keys no
 * memcached text line could carry are echoed base64-encoded (never raw, which would break the
 * reply framing), and HTTP reads count as reads for `h`.
 */
const cli = cliNodeAndClient();

async function put(key: string, value: string): Promise<void> {
  const res = await fetch(`${cli.node.url}/v1/keys/${encodeURIComponent(key)}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: value,
  });
  expect(res.status).toBe(204);
}

const b64 = (key: string) => Buffer.from(key, 'utf8').toString('base64');

describe('meta k echoes keys written over HTTP so the reply stays framed', () => {
  test.each([
    ['a space', 'a b'],
    ['CR and LF', 'line\r\nset evil 0 0 1'],
    ['a NUL byte', 'x\u0000y'],
    ['a tab', 'tab\tkey'],
    ['DEL', 'del\u007f'],
    ['non-ASCII', 'ключ'],
  ])('%s: base64 followed by b', async (_name, key) => {
    await put(key, 'v');
    expect(await cli.client.request(`mg ${b64(key)} b k v s\r\n`)).toBe(
      `VA 1 k${b64(key)} b s1\r\nv\r\n`,
    );
  });

  test('a key sent raw on a text line still gets the base64 echo when HTTP wrote it', async () => {
    await put('café', 'v');
    expect(await cli.client.request('mg café k\r\n')).toBe(`HD k${b64('café')} b\r\n`);
  });

  test('keys written raw over the memcached port echo raw, as memcached echoes them', async () => {
    expect(await cli.client.request('set café 0 0 1\r\nx\r\nmg café k\r\n')).toBe(
      'STORED\r\nHD kcafé\r\n'.replace('é', '\u00c3\u00a9'),
    );
    expect(await cli.client.request('ms tab\tkey2 1\r\nx\r\nmg tab\tkey2 k\r\n')).toBe(
      'HD\r\nHD ktab\tkey2\r\n',
    );
    expect(await cli.client.request('mg plain k\r\nset plain 0 0 1\r\nx\r\nmg plain k\r\n')).toBe(
      'EN kplain\r\nSTORED\r\nHD kplain\r\n',
    );
  });
});

describe('reads from either door are reads for h', () => {
  test('an HTTP GET makes the next mg report h1', async () => {
    await put('read-over-http', 'v');
    expect(await cli.client.request('mg read-over-http h u\r\n')).toBe('HD h0\r\n');
    expect((await fetch(`${cli.node.url}/v1/keys/read-over-http`)).status).toBe(200);
    expect(await cli.client.request('mg read-over-http h\r\n')).toBe('HD h1\r\n');
  });

  test('an HTTP write starts the record over', async () => {
    await put('rewritten', 'v');
    await cli.client.request('mg rewritten\r\n');
    await put('rewritten', 'w');
    expect(await cli.client.request('mg rewritten h\r\n')).toBe('HD h0\r\n');
  });
});
