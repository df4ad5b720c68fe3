import { describe, expect, it } from 'vitest';
import {
  SNAPSHOT_FORMAT,
  SNAPSHOT_VERSION,
  decodeSnapshot,
  encodeSnapshot,
} from '../src/snapshot/snapshot-format.js';
import type { StoredValue } from '../src/operations/stored-value.js';

/** A loaded value's fields, as the file holds them (a held value keeps its bytes as a string). */
function fields(value: StoredValue): Record<string, unknown> {
  const { bytes, flags, stamp, tombstone } = value;
  return tombstone === undefined ? { bytes, flags, stamp } : { bytes, flags, stamp, tombstone };
}

describe('snapshot format version 2', () => {
  it('keeps stamps and tombstones', () => {
    const bytes = encodeSnapshot({
      format: SNAPSHOT_FORMAT,
      version: SNAPSHOT_VERSION,
      savedAt: 1,
      lastVersion: 2,
      entries: [
        ['a', { value: { bytes: Uint8Array.of(1), flags: 2, stamp: 12345 }, version: 1 }],
        [
          'gone',
          {
            value: { bytes: new Uint8Array(0), flags: 0, stamp: 23456, tombstone: true },
            ttl: 9,
            version: 2,
          },
        ],
      ],
    });
    const document = decodeSnapshot('f', bytes);
    expect(document.version).toBe(2);
    expect(document.entries.map(([key, record]) => [key, fields(record.value)])).toEqual([
      ['a', { bytes: Uint8Array.of(1), flags: 2, stamp: 12345 }],
      ['gone', { bytes: new Uint8Array(0), flags: 0, stamp: 23456, tombstone: true }],
    ]);
  });

  it('still loads version 1, its values stamped 0 (older than any write elsewhere)', () => {
    const bytes = encodeSnapshot({
      format: SNAPSHOT_FORMAT,
      version: 1 as typeof SNAPSHOT_VERSION,
      savedAt: 1,
      lastVersion: 1,
      entries: [['a', { value: { bytes: Uint8Array.of(7), flags: 0 }, version: 1 }]],
    });
    expect(fields(decodeSnapshot('f', bytes).entries[0]![1].value)).toEqual({
      bytes: Uint8Array.of(7),
      flags: 0,
      stamp: 0,
    });
  });

  it('refuses a bad stamp or tombstone mark', () => {
    for (const value of [
      { bytes: Uint8Array.of(1), flags: 0, stamp: -1 },
      { bytes: Uint8Array.of(1), flags: 0, stamp: 1.5 },
      { bytes: Uint8Array.of(1), flags: 0, stamp: 1, tombstone: 'yes' },
    ]) {
      const bytes = encodeSnapshot({
        format: SNAPSHOT_FORMAT,
        version: SNAPSHOT_VERSION,
        savedAt: 1,
        lastVersion: 1,
        entries: [['a', { value: value as never, version: 1 }]],
      });
      expect(() => decodeSnapshot('f', bytes)).toThrow(/entry 0 has a bad stamp or tombstone mark/);
    }
  });
});
