import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from 'msgpackr';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BYTES_PER_PIECE,
  SNAPSHOT_FORMAT,
  SNAPSHOT_VERSION,
  decodeSnapshot,
  encodeSnapshot,
  encodeSnapshotInPieces,
  encodeSnapshotPieces,
} from '../src/snapshot/snapshot-format.js';
import { startCliNode, stopCliNodes } from './cli-node.js';

/**
 * `POST /v1/snapshot` on a node a client spreads keys over (so a stall fences it): the save
 * encodes its dump in pieces so as not to hold the event loop past `--stall-threshold`, which
 * the node would take for a SIGSTOP — fencing itself, every entry then a miss on single-key GETs
 * and the memcached port until verified. Pieces of 4,096 entries of 64 KiB were ~256 MiB each,
 * packed, copied and hashed in one go, and the file was concatenated whole at the end: seconds.
 */

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dcache-snapshot-stall-'));
});
afterEach(async () => {
  await stopCliNodes();
  await rm(dir, { recursive: true, force: true });
});

describe('a save on request does not stall the node it saves', () => {
  it('big values: no stall, no fence, and a GET still hits', async () => {
    const node = await startCliNode([
      '--snapshot-file',
      join(dir, 'cache.snapshot'),
      '--max-memory',
      '1gb',
      '--stall-threshold',
      '1000', // the default
    ]);
    const value = new Uint8Array(64 << 10).fill(7);
    for (let b = 0; b < 60; b++) {
      const ops = Array.from({ length: 100 }, (_, i) => ['set', `key:${b * 100 + i}`, value]);
      const res = await fetch(`${node.url}/v1/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/msgpack', 'dcache-ring-nodes': '3' },
        body: pack(ops),
      });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    const saved = await fetch(`${node.url}/v1/snapshot`, { method: 'POST' });
    expect(await saved.json()).toMatchObject({ saved: 6000 });
    const stats = (await (await fetch(`${node.url}/v1/stats`)).json()) as Record<string, number>;
    expect({ stalls: stats.stalls, fences: stats.fences }).toEqual({ stalls: 0, fences: 0 });
    expect((await fetch(`${node.url}/v1/keys/key:42`)).status).toBe(200);
  }, 60_000);

  it('pieces end at BYTES_PER_PIECE too, and the bytes are those encoded at once', async () => {
    const big = new Uint8Array(BYTES_PER_PIECE / 2 + 1).fill(1);
    const doc = {
      format: SNAPSHOT_FORMAT,
      version: SNAPSHOT_VERSION,
      savedAt: 1_700_000_000_000,
      lastVersion: 10,
      entries: Array.from({ length: 10 }, (_, i) => [
        `k${i}`,
        {
          value: { bytes: i % 3 === 0 ? big : Uint8Array.of(i), flags: 0, stamp: 0 },
          version: i + 1,
        },
      ]),
    } as Parameters<typeof encodeSnapshot>[0];
    const pieces = await encodeSnapshotPieces(doc);
    // Header, digest, the map's start and entries' header, then pieces of at most ~8 MiB.
    expect(pieces.length).toBeGreaterThan(5);
    for (const piece of pieces) expect(piece.length).toBeLessThan(BYTES_PER_PIECE + 1024);
    const whole = await encodeSnapshotInPieces(doc);
    expect(whole.equals(encodeSnapshot(doc))).toBe(true);
    expect(decodeSnapshot('f', whole).entries).toHaveLength(10);
  });
});
