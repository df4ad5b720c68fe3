import type { DumpEntry } from '@dcache/core';
import { stampAt } from '@dcache/core';
import { describe, expect, it } from 'vitest';
import type { StoredValue } from '../src/operations/stored-value.js';
import {
  ENTRIES_PER_PIECE,
  SNAPSHOT_FORMAT,
  SNAPSHOT_VERSION,
  decodeSnapshot,
  encodeSnapshot,
  encodeSnapshotInPieces,
} from '../src/snapshot/snapshot-format.js';

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

  it('lets the event loop run between pieces', async () => {
    // Packing 400,000 entries of 100 bytes at once held a node's loop ~650 ms, past the default
    // --stall-threshold: the node took its own save for a SIGSTOP and fenced itself.
    let turns = 0;
    let counting = true;
    const turn = (): void => {
      if (!counting) return;
      turns++;
      setImmediate(turn);
    };
    setImmediate(turn);
    await encodeSnapshotInPieces(document(ENTRIES_PER_PIECE * 4, 100));
    counting = false;
    expect(turns).toBeGreaterThanOrEqual(3);
  });
});
