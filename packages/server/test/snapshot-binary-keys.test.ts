import { connect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DumpEntry } from '@dcache/core';
import type { StoredValue } from '../src/operations/stored-value.js';
import {
  SNAPSHOT_FORMAT,
  SNAPSHOT_MAGIC,
  SNAPSHOT_VERSION,
  decodeSnapshot,
  digestOf,
  encodeSnapshot,
  encodeSnapshotInPieces,
} from '../src/snapshot/snapshot-format.js';
import { startCliNode, stopCliNodes } from './cli-node.js';

/**
 * memcached keys that are not UTF-8 (memaslap's 8 binary bytes, say) map to cache keys that
 * start with a lone surrogate (memcached/keys.ts). A snapshot is msgpack, whose strings are
 * UTF-8: the key must still come back as the same key after a warm restart.
 */

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dcache-snapshot-binkeys-'));
});
afterEach(async () => {
  await stopCliNodes();
  await rm(dir, { recursive: true, force: true });
});

/** Sends `request` to the memcached port and resolves with the reply once it ends with `until`. */
function ask(port: number, request: Buffer, until: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reply ending in ${JSON.stringify(until)}: ${reply.toString('latin1')}`));
    }, 5000);
    socket.on('data', (chunk: Buffer) => {
      reply = Buffer.concat([reply, chunk]);
      if (reply.toString('latin1').endsWith(until)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(reply.toString('latin1'));
      }
    });
    socket.on('error', reject);
    socket.write(request);
  });
}

const bytes = (...parts: (string | number[])[]): Buffer =>
  Buffer.concat(
    parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))),
  );

describe('a warm restart keeps memcached keys that are not UTF-8', () => {
  it('a binary key (short and long) is found again by the same bytes after the restart', async () => {
    const file = join(dir, 'cache.snapshot');
    const args = ['--snapshot-file', file, '--trust-snapshot', '--memcached-port', '0'];
    const short = bytes([0x80, 0xff, 0x01], 'k');
    const long = bytes([0x80, 0xff, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06], 'x'.repeat(100));
    const first = await startCliNode(args);
    for (const key of [short, long]) {
      const set = bytes('set ', [...key], ' 7 0 5\r\nhello\r\n');
      expect(await ask(first.memcached!.port, set, '\r\n')).toBe('STORED\r\n');
    }
    expect(await first.stop('SIGTERM')).toBe(0);

    const second = await startCliNode(args);
    for (const key of [short, long]) {
      const reply = await ask(second.memcached!.port, bytes('get ', [...key], '\r\n'), 'END\r\n');
      expect(reply).toBe(bytes('VALUE ', [...key], ' 7 5\r\nhello\r\nEND\r\n').toString('latin1'));
    }
  });

  it('a binary key and the UTF-8 key its mangled form would be do not sink the whole snapshot', async () => {
    const file = join(dir, 'cache.snapshot');
    const args = ['--snapshot-file', file, '--trust-snapshot', '--memcached-port', '0'];
    const first = await startCliNode(args);
    const port = first.memcached!.port;
    // 0x80 alone is not UTF-8: cache key '\udc00\u0080'. msgpack has no form for the lone
    // surrogate: what a msgpack str of that key decodes to is a UTF-8 key of its own.
    const binary = Buffer.from([0x80]);
    const codec = new Packr({ useRecords: false, mapsAsObjects: true });
    const mangled = (codec.unpack(codec.pack(['\udc00\u0080'])) as string[])[0]!;
    expect(mangled).not.toBe('\udc00\u0080');
    const utf8 = Buffer.from(mangled, 'utf8');
    const other = Buffer.from('plain', 'latin1');
    for (const key of [binary, utf8, other]) {
      expect(await ask(port, bytes('set ', [...key], ' 0 0 1\r\nv\r\n'), '\r\n')).toBe(
        'STORED\r\n',
      );
    }
    expect(await first.stop('SIGTERM')).toBe(0);

    const second = await startCliNode(args);
    expect(second.output()).not.toMatch(/snapshot_invalid|not valid/);
    for (const key of [binary, utf8, other]) {
      const reply = await ask(second.memcached!.port, bytes('get ', [...key], '\r\n'), 'END\r\n');
      expect(reply).toBe(bytes('VALUE ', [...key], ' 0 1\r\nv\r\nEND\r\n').toString('latin1'));
    }
  });
});

describe('snapshot keys with no UTF-8 form (unit)', () => {
  it('round-trip exactly, the same bytes at once and in pieces; an odd-length bin key is corrupt', async () => {
    const keys = ['\udc00\u0080', '\udc00' + 'x'.repeat(100), '\ud800', 'plain', 'é😀'];
    const doc = {
      format: SNAPSHOT_FORMAT,
      version: SNAPSHOT_VERSION,
      savedAt: 1_700_000_000_000,
      lastVersion: keys.length,
      entries: keys.map((key, i): DumpEntry<StoredValue> => [
        key,
        { value: { bytes: Uint8Array.of(i), flags: 0, stamp: 0 }, version: i + 1 },
      ]),
    } as const;
    const whole = encodeSnapshot(doc);
    expect((await encodeSnapshotInPieces(doc)).equals(whole)).toBe(true);
    expect(decodeSnapshot('f', whole).entries.map(([key]) => key)).toEqual(keys);

    const codec = new Packr({ useRecords: false, mapsAsObjects: true });
    const body = codec.pack({
      ...doc,
      entries: [[Uint8Array.of(0x00, 0xdc, 0x80), doc.entries[0]![1]]],
    });
    const file = Buffer.concat([SNAPSHOT_MAGIC, digestOf(body), body]);
    expect(() => decodeSnapshot('f', file)).toThrow(/entry 0 has a bad binary key/);
  });
});
