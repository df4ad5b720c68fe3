import type { Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { startCliNode, stopCliNodes } from '../cli-node.js';
import { ask, destroySockets, MiB, openSocket, rssBytes, waitFor } from './memcached-sockets.js';

afterEach(async () => {
  destroySockets();
  await stopCliNodes();
});

const NO_MEMORY = 'SERVER_ERROR out of memory storing object\r\n';
/** Each staller sends this much of a 1 MiB data block, then stops. */
const SENT = 900_000;
const STALLERS = 10;
/** `--max-inflight-body-bytes 4mb` holds four such partial blocks, not five. */
const HOLDERS = 4;

function stat(stats: string, name: string): number {
  const match = new RegExp(`^STAT ${name} (\\d+)\\r$`, 'm').exec(stats);
  if (match === null) throw new Error(`no STAT ${name} in ${stats}`);
  return Number(match[1]);
}

describe('stalled data blocks on the memcached port (hostile)', () => {
  test('partial data blocks draw on the in-flight body budget: past it a store is refused as memcached refuses one, and the bytes come back when the staller goes', async () => {
    const node = await startCliNode([
      '--memcached-port',
      '0',
      '--max-batch-bytes',
      '1mb',
      '--max-inflight-body-bytes',
      '4mb',
      '--log-level',
      'warn',
    ]);
    const port = node.memcached!.port;
    const normal = await openSocket(port);
    expect(
      await ask(normal, 'set small 0 0 1\r\nv\r\nset old 0 0 1\r\no\r\n', 'STORED\r\nSTORED\r\n'),
    ).toBe('STORED\r\nSTORED\r\n');
    const bytesRead = async (): Promise<number> =>
      stat(await ask(normal, 'stats\r\n', 'END\r\n'), 'bytes_read');

    const stallers: { socket: Socket; reply: () => string }[] = [];
    for (let i = 0; i < STALLERS; i++) {
      const socket = await openSocket(port);
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
      stallers.push({ socket, reply: () => text });
      // The last one overwrites `old`: a refused set must not leave the previous value behind.
      const key = i === STALLERS - 1 ? 'old' : `s${i}`;
      const header = `set ${key} 0 0 ${MiB}\r\n`;
      const before = await bytesRead();
      socket.write(Buffer.concat([Buffer.from(header), Buffer.alloc(SENT, 0x61)]));
      // One at a time, so which ones fit is certain: wait until the node has read all of it.
      expect(
        await waitFor(async () => (await bytesRead()) >= before + header.length + SENT, 5000),
      ).toBe(true);
    }
    const refused = stallers.filter((s) => s.reply() === NO_MEMORY);
    expect(stallers.slice(0, HOLDERS).map((s) => s.reply())).toEqual(['', '', '', '']);
    expect(refused.length).toBe(STALLERS - HOLDERS);

    // A refused connection drops the rest of its block as it arrives and serves what follows;
    // the refused set removed the old value.
    const last = stallers[STALLERS - 1]!.socket;
    const rest = Buffer.concat([Buffer.alloc(MiB - SENT, 0x61), Buffer.from('\r\n')]);
    expect(
      await ask(last, Buffer.concat([rest, Buffer.from('get small old\r\n')]), 'END\r\n'),
    ).toBe('VALUE small 0 1\r\nv\r\nEND\r\n');
    expect(rssBytes(node.child.pid!)).toBeLessThan(200 * MiB);

    // While the holders keep the budget, a block gathered across reads is refused...
    const value = Buffer.alloc(MiB, 0x62);
    const store = Buffer.concat([
      Buffer.from(`set big 0 0 ${MiB}\r\n`),
      value,
      Buffer.from('\r\n'),
    ]);
    expect(await ask(normal, store, '\r\n')).toBe(NO_MEMORY);
    const metaStore = Buffer.concat([
      Buffer.from(`ms small ${MiB} q\r\n`),
      value,
      Buffer.from('\r\n'),
    ]);
    // An error is an answer even in quiet mode, and `ms` removes the old value too.
    expect(
      await ask(normal, Buffer.concat([metaStore, Buffer.from('mg small v\r\n')]), 'EN\r\n'),
    ).toBe(`${NO_MEMORY}EN\r\n`);
    // ...and once they are gone, their bytes are back.
    for (const s of stallers) s.socket.destroy();
    expect(
      await waitFor(async () => (await ask(normal, store, '\r\n')) === 'STORED\r\n', 5000),
    ).toBe(true);
    expect(await ask(normal, 'get big\r\n', 'END\r\n')).toBe(
      `VALUE big 0 ${MiB}\r\n${value.toString('latin1')}\r\nEND\r\n`,
    );
  }, 30_000);
});
