import { afterEach, describe, expect, test } from 'vitest';
import { startCliNode, stopCliNodes } from '../cli-node.js';
import { ask, destroySockets, MiB, openSocket, rssBytes } from './memcached-sockets.js';

afterEach(async () => {
  destroySockets();
  await stopCliNodes();
});

describe('data blocks trickled a byte per read (hostile, memcached port)', () => {
  test('30 connections sending 1 MB blocks a byte at a time: RSS grows by what they sent, not a Buffer per byte; a block sent that way is stored whole', async () => {
    const node = await startCliNode([
      '--memcached-port',
      '0',
      '--max-memory',
      '16mb',
      '--max-inflight-body-bytes',
      '16mb',
      '--log-level',
      'warn',
    ]);
    const port = node.memcached!.port;
    const pid = node.child.pid!;

    const value = Buffer.alloc(20_000);
    for (let i = 0; i < value.length; i++) value[i] = 0x41 + (i % 26);
    const writer = await openSocket(port);
    writer.setNoDelay(true);
    writer.write(`set trickled 0 0 ${value.length}\r\n`);
    const block = Buffer.concat([value, Buffer.from('\r\n')]);
    for (let i = 0; i < block.length; i++) {
      writer.write(block.subarray(i, i + 1));
      if (i % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await ask(writer, 'mn\r\n', 'MN\r\n')).toBe('STORED\r\nMN\r\n');
    const reader = await openSocket(port);
    expect(await ask(reader, 'get trickled\r\n', 'END\r\n')).toBe(
      `VALUE trickled 0 ${value.length}\r\n${value.toString('latin1')}\r\nEND\r\n`,
    );

    const before = rssBytes(pid);
    let peak = before;
    const flood = await Promise.all(Array.from({ length: 30 }, () => openSocket(port)));
    for (const socket of flood) {
      socket.setNoDelay(true);
      socket.write('set k 0 0 1000000\r\n');
    }
    const byte = Buffer.from('x');
    const until = performance.now() + 8000;
    for (let round = 0; performance.now() < until; round++) {
      for (const socket of flood) socket.write(byte);
      await new Promise((resolve) => setImmediate(resolve));
      if (round % 500 === 0) peak = Math.max(peak, rssBytes(pid));
    }
    peak = Math.max(peak, rssBytes(pid));
    console.log(`trickled data blocks: RSS +${((peak - before) / MiB).toFixed(1)} MiB`);
    // The bytes sent (a few MB, in the 16 MiB input budget) and slack: a Buffer per byte added
    // ~150 MiB.
    expect(peak - before).toBeLessThan(3 * 16 * MiB);
    expect(node.child.exitCode).toBeNull();
  });
});
