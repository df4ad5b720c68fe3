import type { Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { startCliNode, stopCliNodes } from '../cli-node.js';
import { ask, destroySockets, MiB, openSocket, rssBytes, waitFor } from './memcached-sockets.js';

afterEach(async () => {
  destroySockets();
  await stopCliNodes();
});

const NO_MEMORY = 'SERVER_ERROR out of memory storing object\r\n';
const NO_MEMORY_READING = 'SERVER_ERROR out of memory reading request\r\n';
/** Each staller sends this much of a 1 MiB data block (or of a get line), then stops. */
const SENT = 900_000;
const STALLERS = 10;
/** `--max-inflight-body-bytes 4mb` holds four such partial blocks, not five. */
const HOLDERS = 4;

function stat(stats: string, name: string): number {
  const match = new RegExp(`^STAT ${name} (\\d+)\\r$`, 'm').exec(stats);
  if (match === null) throw new Error(`no STAT ${name} in ${stats}`);
  return Number(match[1]);
}

describe('stalled input on the memcached port (hostile)', () => {
  test('partial data blocks draw on a budget of maxInflightBodyBytes of their own: past it a store is refused as memcached refuses one, and the bytes come back when the staller goes', async () => {
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

    // The port's budget is its own: HTTP uploads are still taken.
    const put = await fetch(`${node.url}/v1/keys/upload`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(MiB, 0x63),
    });
    expect(put.status).toBe(204);
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

  test('long get lines draw on it too: past it the connection is told and closed, and the bytes come back as lines end', async () => {
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
    expect(await ask(normal, 'set small 0 0 1\r\nv\r\n', '\r\n')).toBe('STORED\r\n');
    const bytesRead = async (): Promise<number> =>
      stat(await ask(normal, 'stats\r\n', 'END\r\n'), 'bytes_read');
    // 900 000 bytes of `get k k k …`, no newline yet.
    const line = `get${' k'.repeat((SENT - 3) / 2)}`;

    const stallers: { socket: Socket; reply: () => string; closed: () => boolean }[] = [];
    for (let i = 0; i < STALLERS; i++) {
      const socket = await openSocket(port);
      let text = '';
      let closed = false;
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
      socket.on('close', () => (closed = true));
      stallers.push({ socket, reply: () => text, closed: () => closed });
      const before = await bytesRead();
      socket.write(line);
      // One at a time: until the node has read all of it, or hung up.
      expect(await waitFor(async () => closed || (await bytesRead()) >= before + SENT, 5000)).toBe(
        true,
      );
    }
    expect(stallers.slice(0, HOLDERS).map((s) => [s.reply(), s.closed()])).toEqual(
      Array.from({ length: HOLDERS }, () => ['', false]),
    );
    for (const s of stallers.slice(HOLDERS)) {
      expect(await waitFor(() => s.closed(), 5000)).toBe(true);
      expect(s.reply()).toBe(NO_MEMORY_READING);
    }
    expect(await ask(normal, 'get small\r\n', 'END\r\n')).toBe('VALUE small 0 1\r\nv\r\nEND\r\n');

    // A held line, once ended, runs; the bytes of lines that end or whose clients go come back.
    expect(await ask(stallers[0]!.socket, ' small\r\n', 'END\r\n')).toBe(
      'VALUE small 0 1\r\nv\r\nEND\r\n',
    );
    for (const s of stallers) s.socket.destroy();
    expect(
      await waitFor(
        async () => stat(await ask(normal, 'stats\r\n', 'END\r\n'), 'curr_connections') === 1,
        5000,
      ),
    ).toBe(true);
    // Two long lines fit again only if every byte the stallers held came back.
    const fresh = [await openSocket(port), await openSocket(port)];
    for (const socket of fresh) {
      const before = await bytesRead();
      socket.write(line);
      expect(
        await waitFor(async () => socket.destroyed || (await bytesRead()) >= before + SENT, 5000),
      ).toBe(true);
    }
    for (const socket of fresh) {
      expect(await ask(socket, ' small\r\n', 'END\r\n')).toBe('VALUE small 0 1\r\nv\r\nEND\r\n');
    }
    expect(rssBytes(node.child.pid!)).toBeLessThan(200 * MiB);
  }, 30_000);

  test('a connection holding one block or line across reads past the request timeout is closed, however it trickles; one streaming values is not', async () => {
    const node = await startCliNode([
      '--memcached-port',
      '0',
      '--headers-timeout',
      '500',
      '--request-timeout',
      '1000',
      '--log-level',
      'warn',
    ]);
    const port = node.memcached!.port;
    const normal = await openSocket(port);
    const trickler = await openSocket(port);
    let closed = false;
    trickler.on('close', () => (closed = true));
    const started = Date.now();
    trickler.write(Buffer.concat([Buffer.from(`set t 0 0 ${MiB}\r\n`), Buffer.alloc(200_000)]));
    // A byte every 100 ms: never idle, never done.
    const drip = setInterval(() => trickler.write('a'), 100);
    try {
      expect(await waitFor(() => closed, 5000)).toBe(true);
    } finally {
      clearInterval(drip);
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    // A client streaming 300 KB values for longer than the timeout, always mid-block at the end of
    // a read, is making progress: it is not cut.
    const loader = await openSocket(port);
    let stored = '';
    loader.on('data', (chunk: Buffer) => (stored += chunk.toString('latin1')));
    const blocks = 16;
    const stream = Buffer.concat(
      Array.from({ length: blocks }, (_, i) =>
        Buffer.concat([
          Buffer.from(`set v${i} 0 0 300000\r\n`),
          Buffer.alloc(300_000, 0x76),
          Buffer.from('\r\n'),
        ]),
      ),
    );
    const piece = 100_000;
    for (let at = 0; at < stream.length; at += piece) {
      loader.write(stream.subarray(at, at + piece));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await waitFor(() => stored === 'STORED\r\n'.repeat(blocks), 5000)).toBe(true);
    expect(loader.destroyed).toBe(false);
    // A long get line, not ended, is cut the same way; the port serves on.
    const liner = await openSocket(port);
    let lineClosed = false;
    liner.on('close', () => (lineClosed = true));
    liner.write(`get${' k'.repeat(100_000)}`);
    expect(await waitFor(() => lineClosed, 5000)).toBe(true);
    expect(await ask(normal, `set small 0 0 1\r\nv\r\nget small\r\n`, 'END\r\n')).toBe(
      'STORED\r\nVALUE small 0 1\r\nv\r\nEND\r\n',
    );
  }, 20_000);
});
