import { createHash } from 'node:crypto';
import type { DumpEntry } from '@dcache/core';
import { isStamp } from '@dcache/core';
import { Packr } from 'msgpackr';
import { SnapshotError } from '../errors/snapshot-error.js';
import { storedValue, tombstoneValue, valueLength } from '../operations/stored-value.js';
import type { StoredValue } from '../operations/stored-value.js';
import { MAX_FILE_BYTES } from './read-whole-file.js';

/**
 * A snapshot file: these 16 bytes, the SHA-256 of the rest (32 bytes), then one msgpack map, a
 * SnapshotDocument. The header tells a wrong file from a snapshot before anything is decoded; the
 * digest catches a file damaged after it was written (a torn copy, a bad disk), which msgpack
 * alone would often decode into wrong values.
 */
export const SNAPSHOT_MAGIC: Readonly<Buffer> = Buffer.from('dcache-snapshot\n', 'latin1');
const DIGEST_BYTES = 32;
const HEADER_BYTES = SNAPSHOT_MAGIC.length + DIGEST_BYTES;

export const SNAPSHOT_FORMAT = 'dcache-snapshot';
/**
 * Bumped when the document changes shape; a node refuses versions it does not know. Version 2:
 * values carry their `stamp` and tombstones (`tombstone: true`, bytes empty) are kept; a version-1
 * file still loads, its values stamped 0 (older than any write elsewhere).
 */
export const SNAPSHOT_VERSION = 2;
const READABLE_VERSIONS: readonly unknown[] = [1, 2];

export interface SnapshotDocument {
  format: typeof SNAPSHOT_FORMAT;
  version: typeof SNAPSHOT_VERSION;
  /** When it was saved, in ms of the node's clock (`now`, Date.now by default). */
  savedAt: number;
  /** The cache's `lastVersion` at the dump: the `minVersion` of the load at the next start. */
  lastVersion: number;
  /**
   * The stamp of the node's last flush at the dump (`ReplicaStore.flushStamp`, 0 for none): the
   * next start refuses copies stamped before it, as the node did. Absent in files saved before it
   * was kept (read as 0); a node that does not know it ignores it.
   */
  flushStamp?: number;
  /**
   * The node's tombstone floor at the dump (the newest tombstone it evicted before its grace, 0
   * for none): the next start refuses copies at or below it of keys it holds nothing of, as the
   * node did. Absent in older files (read as 0); a node that does not know it ignores it.
   */
  tombstoneFloor?: number;
  /** `LruCache.dump()`: least recently used first. */
  entries: DumpEntry<StoredValue>[];
}

/**
 * Plain msgpack (no msgpackr records), so any msgpack tool reads a snapshot. `copyBuffers`: a
 * loaded value owns its bytes instead of pinning the whole file's buffer. A Packr per call: its
 * output buffer is reused by the next pack, and saves can overlap.
 */
function codec(): Packr {
  return new Packr({ useRecords: false, mapsAsObjects: true, copyBuffers: true });
}

/** One hash `update` takes at most 2 GiB ("data is too long"): digests go in 1 GiB pieces. */
const DIGEST_CHUNK_BYTES = 1 << 30;

/** The SHA-256 of `body`, hashed DIGEST_CHUNK_BYTES at a time. */
export function digestOf(body: Uint8Array, chunkBytes = DIGEST_CHUNK_BYTES): Buffer {
  const hash = createHash('sha256');
  for (let at = 0; at < body.length; at += chunkBytes) {
    hash.update(body.subarray(at, at + chunkBytes));
  }
  return hash.digest();
}

/**
 * A msgpack str is UTF-8, where a lone UTF-16 surrogate has no form (msgpackr writes it so that
 * it reads back as U+FFFD). Cache keys can hold one: the memcached port maps a key that is not
 * UTF-8 to '\udc00' + its bytes as latin1 (memcached/keys.ts). Such a key is written as a msgpack
 * bin of its UTF-16LE code units instead, which {@link decodeSnapshot} turns back into the very
 * same string; every other key stays a str.
 */
function keyForFile(key: string): string | Buffer {
  // ES2024's String#isWellFormed (Node ≥ 20), not in this project's TypeScript lib yet.
  return (key as unknown as { isWellFormed(): boolean }).isWellFormed()
    ? key
    : Buffer.from(key, 'utf16le');
}

/**
 * `entries[first, end)`, in a new array, with the keys {@link keyForFile} must write as bin
 * replaced and, given `stamps` (each entry's stamp at the dump), a value whose stamp has changed
 * since replaced by a copy holding the dumped one (see {@link stampsOf}).
 */
function entriesForFile(
  entries: readonly DumpEntry<StoredValue>[],
  stamps?: Float64Array,
  first = 0,
  end = entries.length,
): unknown[] {
  const out: unknown[] = new Array(end - first);
  for (let i = first; i < end; i++) {
    const [key, record] = entries[i]!;
    const value = record.value;
    const stamp = stamps?.[i] ?? value.stamp ?? 0;
    // The file's record of exactly these fields, the bytes as bytes (a held value may keep them as
    // a string, which msgpack would write as UTF-8 text).
    const { bytes, flags } = value;
    const written =
      value.tombstone === undefined
        ? { bytes, flags, stamp }
        : { bytes, flags, stamp, tombstone: value.tombstone };
    out[i - first] = [keyForFile(key), { ...record, value: written }];
  }
  return out;
}

/**
 * Each entry's stamp now. A save encodes its dump over several turns of the event loop, and a
 * touch meanwhile stamps the stored value in place (ReplicaStore.retouch), which the dump shares:
 * the file would pair the touch's stamp with the TTL from before it, and a peer holding the touch
 * would vouch for the restored entry. Given to {@link encodeSnapshotInPieces}, the dumped stamps
 * are what it writes.
 */
export function stampsOf(entries: readonly DumpEntry<StoredValue>[]): Float64Array {
  const stamps = new Float64Array(entries.length);
  for (let i = 0; i < entries.length; i++) stamps[i] = entries[i]![1].value.stamp ?? 0;
  return stamps;
}

/** Throws a RangeError when the snapshot would be bigger than a restore can read back. */
export function encodeSnapshot(document: SnapshotDocument): Buffer {
  const body = codec().pack({ ...document, entries: entriesForFile(document.entries) });
  const size = HEADER_BYTES + body.length;
  if (size > MAX_FILE_BYTES) {
    throw new RangeError(
      `the snapshot would be ${size} bytes, more than the ${MAX_FILE_BYTES} a restore can read`,
    );
  }
  return Buffer.concat([SNAPSHOT_MAGIC, digestOf(body), body]);
}

/** Entries packed between two turns of the event loop by {@link encodeSnapshotInPieces}, at most. */
export const ENTRIES_PER_PIECE = 4096;
/**
 * Key and value bytes packed between two turns, at most (but always one entry): 4,096 entries of
 * 64 KiB were one piece of 256 MiB, packed, copied and hashed in one go — seconds.
 */
export const BYTES_PER_PIECE = 8 << 20;

/** Where the piece starting at entry `at` ends: ENTRIES_PER_PIECE entries, or BYTES_PER_PIECE. */
function pieceEnd(entries: readonly DumpEntry<StoredValue>[], at: number): number {
  const last = Math.min(entries.length, at + ENTRIES_PER_PIECE);
  let bytes = 0;
  let end = at;
  while (end < last && bytes < BYTES_PER_PIECE) {
    const [key, record] = entries[end++]!;
    bytes += key.length + valueLength(record.value);
  }
  return end;
}

/** The msgpack header of an array of `length` items: fixarray, array 16 or array 32. */
function arrayHeader(length: number): Buffer {
  if (length <= 15) return Buffer.of(0x90 | length);
  if (length <= 0xffff) return Buffer.of(0xdc, length >>> 8, length & 0xff);
  const header = Buffer.alloc(5);
  header[0] = 0xdd;
  header.writeUInt32BE(length, 1);
  return header;
}

/** How many bytes the msgpack array header at the start of `packed` takes. */
function arrayHeaderBytes(packed: Uint8Array): number {
  const first = packed[0]!;
  if (first >= 0x90 && first <= 0x9f) return 1;
  return first === 0xdc ? 3 : 5;
}

/**
 * {@link encodeSnapshot}'s bytes, exactly, but packed and hashed a piece at a time (at most
 * ENTRIES_PER_PIECE entries or BYTES_PER_PIECE) with a turn of the event loop between pieces; the
 * node saves {@link encodeSnapshotPieces}' list as it is. Packing a few hundred thousand entries at
 * once holds the loop for a second or more: requests wait, clients may time out and mark the
 * node down, and the node's own stall detector would take it for a SIGSTOP and fence it.
 */
export async function encodeSnapshotInPieces(
  document: SnapshotDocument,
  stamps?: Float64Array,
): Promise<Buffer> {
  return Buffer.concat(await encodeSnapshotPieces(document, stamps));
}

/**
 * {@link encodeSnapshotInPieces}'s bytes as the list of its pieces, header first, to be written
 * one after the other: concatenating a big snapshot into one buffer holds the event loop too.
 */
export async function encodeSnapshotPieces(
  document: SnapshotDocument,
  stamps?: Float64Array,
): Promise<Buffer[]> {
  const { entries, ...fields } = document;
  const packr = codec();
  // The map with `entries` last and empty: its final byte is the empty array's header, which is
  // replaced by the real one, then the entries follow piece by piece without their own headers.
  const withoutEntries = packr.pack({ ...fields, entries: [] });
  const pieces: Buffer[] = [
    Buffer.from(withoutEntries.subarray(0, withoutEntries.length - 1)),
    arrayHeader(entries.length),
  ];
  const hash = createHash('sha256');
  let size = HEADER_BYTES;
  for (const piece of pieces) {
    hash.update(piece);
    size += piece.length;
  }
  for (let at = 0, end = 0; at < entries.length; at = end) {
    if (at > 0) await new Promise((resolve) => setImmediate(resolve));
    end = pieceEnd(entries, at);
    const packed = packr.pack(entriesForFile(entries, stamps, at, end));
    // A copy: the next pack reuses the Packr's buffer.
    const piece = Buffer.from(packed.subarray(arrayHeaderBytes(packed)));
    size += piece.length;
    if (size > MAX_FILE_BYTES) {
      throw new RangeError(
        `the snapshot would be more than the ${MAX_FILE_BYTES} bytes a restore can read`,
      );
    }
    hash.update(piece);
    pieces.push(piece);
  }
  return [SNAPSHOT_MAGIC as Buffer, hash.digest(), ...pieces];
}

/**
 * The document in `bytes`, read from `file`; throws a SnapshotError naming the file and the
 * problem. Checks the header, digest and document, and that every value is a StoredValue (the
 * core's `load` checks the rest of each entry, and refuses the whole snapshot if one is wrong).
 */
export function decodeSnapshot(file: string, bytes: Buffer): SnapshotDocument {
  const bad = (problem: string, cause?: unknown): SnapshotError =>
    new SnapshotError(file, `snapshot ${file} ${problem}`, cause === undefined ? {} : { cause });
  if (
    bytes.length < HEADER_BYTES ||
    !bytes.subarray(0, SNAPSHOT_MAGIC.length).equals(SNAPSHOT_MAGIC)
  ) {
    throw bad('is not a dcache snapshot: it does not start with the snapshot header');
  }
  const body = bytes.subarray(HEADER_BYTES);
  if (!digestOf(body).equals(bytes.subarray(SNAPSHOT_MAGIC.length, HEADER_BYTES))) {
    throw bad('is corrupt: its checksum does not match its content (damaged or truncated)');
  }
  let document: unknown;
  try {
    document = codec().unpack(body);
  } catch (error) {
    throw bad(`is corrupt: cannot decode it: ${(error as Error).message}`, error);
  }
  if (typeof document !== 'object' || document === null) {
    throw bad('is not a dcache snapshot: it holds no snapshot document');
  }
  const {
    format,
    version,
    savedAt,
    lastVersion,
    flushStamp = 0,
    tombstoneFloor = 0,
    entries,
  } = document as Record<string, unknown>;
  if (format !== SNAPSHOT_FORMAT) throw bad('is not a dcache snapshot: wrong format field');
  if (!READABLE_VERSIONS.includes(version)) {
    throw bad(
      `has version ${String(version)}; this node reads versions ${READABLE_VERSIONS.join(' and ')} (saved by a newer dcache?)`,
    );
  }
  if (typeof savedAt !== 'number' || !Number.isFinite(savedAt)) {
    throw bad('is corrupt: savedAt is not a time');
  }
  if (!Number.isSafeInteger(lastVersion) || (lastVersion as number) < 0) {
    throw bad('is corrupt: lastVersion is not a version');
  }
  if (!isStamp(flushStamp)) throw bad('is corrupt: flushStamp is not a stamp');
  if (!isStamp(tombstoneFloor)) throw bad('is corrupt: tombstoneFloor is not a stamp');
  if (!Array.isArray(entries)) throw bad('is corrupt: entries is not an array');
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as unknown[] | undefined;
    const key = Array.isArray(entry) ? entry[0] : undefined;
    if (key instanceof Uint8Array) {
      // A key with no UTF-8 form, as its UTF-16LE code units (keyForFile).
      if (key.byteLength % 2 !== 0) throw bad(`is corrupt: entry ${i} has a bad binary key`);
      entry![0] = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('utf16le');
    }
    const record = (entries[i] as unknown[] | undefined)?.[1] as
      Record<string, unknown> | undefined;
    const value = record?.value as Record<string, unknown> | undefined;
    const bytesOf = value?.bytes;
    const flags = value?.flags;
    const stamp = value?.stamp ?? 0;
    const tombstone = value?.tombstone;
    if (!isStamp(stamp) || (tombstone !== undefined && tombstone !== true)) {
      throw bad(`is corrupt: entry ${i} has a bad stamp or tombstone mark`);
    }
    if (
      !(bytesOf instanceof Uint8Array) ||
      typeof flags !== 'number' ||
      !Number.isInteger(flags) ||
      flags < 0 ||
      flags > 0xffff_ffff
    ) {
      throw bad(`is corrupt: entry ${i} does not hold a value { bytes, flags }`);
    }
    // A fresh record of exactly the known fields: nothing else from the file reaches the cache. A
    // plain Uint8Array over the Buffer msgpackr gives (its own copy), as HTTP stores them.
    const exact = new Uint8Array(bytesOf.buffer, bytesOf.byteOffset, bytesOf.byteLength);
    const loaded = tombstone ? tombstoneValue(stamp) : storedValue(exact, flags);
    loaded.stamp = stamp;
    record!.value = loaded;
  }
  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    savedAt,
    lastVersion: lastVersion as number,
    flushStamp,
    tombstoneFloor,
    entries: entries as DumpEntry<StoredValue>[],
  };
}
