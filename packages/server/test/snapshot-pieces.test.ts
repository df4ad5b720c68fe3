import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DumpEntry } from '@dcache/core';
import { stampAt } from '@dcache/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoredValue } from '../src/operations/stored-value.js';
import {
  ENTRIES_PER_PIECE,
  SNAPSHOT_FORMAT,
  SNAPSHOT_VERSION,
  decodeSnapshot,
  encodeSnapshot,
  encodeSnapshotInPieces,
} from '../src/snapshot/snapshot-format.js';
import { startCliNode, stopCliNodes } from './cli-node.js';

function entries(count: number, valueBytes: number): DumpEntry<StoredValue>[] {
  const stamp = stampAt(Date.now());
  return Array.from({ length: count }, (_, i) => [
    `key:${i}`,
    {
      value: { bytes: new Uint8Array(valueBytes).fill(i & 0xff), flags: i % 3, stamp: stamp + i },
      version: i + 1,
    },
  ]);
}

function document(count: number, valueBytes = 2) {
  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    savedAt: 1_700_000_000_000,
    lastVersion: count,
    entries: entries(count, valueBytes),
  } as const;
}

describe('encodeSnapshotInPieces', () => {
  // Every msgpack array header width, one piece and several, a last piece short and full.
  it.each([0, 1, 15, 16, ENTRIES_PER_PIECE, ENTRIES_PER_PIECE + 1, 70_000])(
    '%i entries: the same bytes as encoding them at once',
    async (count) => {
      const doc = { ...document(count), entries: [...document(count).entries] };
      const inPieces = await encodeSnapshotInPieces(doc);
      expect(inPieces.equals(encodeSnapshot(doc))).toBe(true);
      expect(decodeSnapshot('f', inPieces).entries).toHaveLength(count);
    },
  );
});

describe('POST /v1/snapshot on a node holding many entries', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dcache-snapshot-pieces-'));
  });
  afterEach(async () => {
    await stopCliNodes();
    await rm(dir, { recursive: true, force: true });
  });

  it('does not hold the event loop long enough for the stall detector to fence the node', async () => {
    // 400,000 entries of 100 bytes, loaded at start (trusted). Encoding them at once held the
    // loop ~650 ms on a quiet machine; in pieces, the longest hold is the dump's, ~40 ms. The
    // threshold sits between the two, well clear of each.
    const file = join(dir, 'node.snapshot');
    await writeFile(file, encodeSnapshot(document(400_000, 100)));
    const node = await startCliNode([
      '--snapshot-file',
      file,
      '--trust-snapshot',
      '--max-memory',
      '256mb',
      '--stall-threshold',
      '300',
    ]);
    // A client spreading keys over three nodes has written here: a stall would now fence.
    const joined = await fetch(`${node.url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/msgpack', 'dcache-ring-nodes': '3' },
      body: Uint8Array.of(0x90),
    });
    expect(joined.status).toBe(200);
    const saved = await fetch(`${node.url}/v1/snapshot`, { method: 'POST' });
    expect(saved.status).toBe(200);
    expect(await saved.json()).toMatchObject({ saved: 400_000 });
    const stats = (await (await fetch(`${node.url}/v1/stats`)).json()) as Record<string, number>;
    expect(stats).toMatchObject({ fences: 0, stalls: 0, items: 400_000 });
    expect((await fetch(`${node.url}/v1/keys/key:1`)).status).toBe(200);
  });
});
