import { describe, expect, it } from 'vitest';
import { batchCodec } from '../src/http/codec/msgpack.js';
import { Bin, MsgpackReader, NOT_SCALAR } from '../src/http/codec/msgpack-reader.js';
import { STRING_VALUE_MAX_BYTES } from '../src/operations/stored-value.js';
import { HEAD_ROOM, MsgpackWriter, withHead } from '../src/http/codec/msgpack-writer.js';

/**
 * The batch is decoded in place and its results written by hand, yet the wire stays what msgpackr
 * made of it before (docs/wire-protocol.md; clients decode it with msgpackr): every scalar reads
 * as `batchCodec.unpack` reads it, and every result is the bytes `batchCodec.pack` writes.
 */

/** Numbers on every msgpack boundary, both signs, and the ones that are no integer. */
const NUMBERS = [
  0,
  1,
  31,
  32,
  127,
  128,
  255,
  256,
  65_535,
  65_536,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 53 - 1,
  2 ** 53,
  -1,
  -31,
  -32,
  -33,
  -128,
  -129,
  -32_768,
  -32_769,
  -(2 ** 31),
  -(2 ** 31) - 1,
  -(2 ** 53),
  0.5,
  -0.5,
  1e300,
  Number.MIN_VALUE,
  -0,
  1_733_300_000_000 * 65_536,
];
const BIGINTS = [2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n, -(2n ** 63n)];
const STRINGS = [
  '',
  'k',
  'a'.repeat(31),
  'a'.repeat(32),
  'a'.repeat(255),
  'a'.repeat(256),
  'a'.repeat(65_536),
  'clé',
  '鍵'.repeat(20),
  '🔑',
  'bad_op',
  'an operation is an array',
];
const BINS = [0, 1, 255, 256, 65_535, 65_536].map((n) => new Uint8Array(n).fill(7));

function written(write: (out: MsgpackWriter) => void): Uint8Array {
  const out = new MsgpackWriter();
  write(out);
  return Uint8Array.from(out.finish());
}

describe('results are the bytes msgpackr packs', () => {
  it.each(NUMBERS)('number %d', (n) => {
    expect(written((out) => out.number(n))).toEqual(Uint8Array.from(batchCodec.pack(n)));
  });

  it.each(BIGINTS)('bigint %s', (n) => {
    expect(written((out) => out.bigint(n))).toEqual(Uint8Array.from(batchCodec.pack(n)));
  });

  it.each(STRINGS.map((s) => [s.length, s]))('string of %d chars', (_, s) => {
    expect(written((out) => out.str(s))).toEqual(Uint8Array.from(batchCodec.pack(s)));
  });

  it.each(BINS.map((b) => [b.length, b]))('bin of %d bytes', (_, b) => {
    expect(written((out) => out.bin(b))).toEqual(Uint8Array.from(batchCodec.pack(b)));
  });

  it('arrays, nil and booleans, and a whole batch answer across a chunk boundary', () => {
    const out = new MsgpackWriter();
    // Fill most of the first chunk, so the next response must move to a fresh one mid-write.
    out.bin(new Uint8Array(60_000));
    const first = Uint8Array.from(out.finish());
    const results = Array.from({ length: 70_000 }, (_, i) =>
      i % 3 === 0 ? [200, BINS[1]!, 16, i, null, 2 ** 40 + i, true] : [404, null, false],
    );
    out.array(results.length);
    for (const result of results) {
      out.array(result.length);
      for (const item of result) {
        if (item === null) out.nil();
        else if (typeof item === 'boolean') out.bool(item);
        else if (typeof item === 'number') out.number(item);
        else out.bin(item);
      }
    }
    expect(Uint8Array.from(out.finish())).toEqual(Uint8Array.from(batchCodec.pack(results)));
    expect(first).toEqual(Uint8Array.from(batchCodec.pack(new Uint8Array(60_000))));
  });

  it('rollback drops a half-written result, also after the chunk grew', () => {
    const out = new MsgpackWriter();
    out.array(2);
    out.number(1);
    const mark = out.mark();
    out.bin(new Uint8Array(200_000));
    out.rollback(mark);
    out.str('x');
    expect(Uint8Array.from(out.finish())).toEqual(Uint8Array.from(batchCodec.pack([1, 'x'])));
  });
});

describe('the room for a head before each response', () => {
  it('holds a head written before each response without touching the one before it, also in a new chunk', () => {
    const out = new MsgpackWriter();
    const wholes: Buffer[] = [];
    // Three responses, the last one too large for the chunk: it moves, with its room, to its own.
    for (const bytes of [BINS[1]!, new Uint8Array(300).fill(7), new Uint8Array(70_000).fill(9)]) {
      out.bin(bytes);
      const whole = withHead(out.finish(), `HEAD ${bytes.length}\r\n\r\n`);
      expect(whole).toBeDefined();
      wholes.push(whole!);
    }
    for (const [i, bytes] of [
      BINS[1]!,
      new Uint8Array(300).fill(7),
      new Uint8Array(70_000).fill(9),
    ].entries()) {
      const head = Buffer.from(`HEAD ${bytes.length}\r\n\r\n`, 'latin1');
      expect(Buffer.compare(wholes[i]!, Buffer.concat([head, batchCodec.pack(bytes)]))).toBe(0);
    }
  });

  it('leaves a head longer than the room to the caller', () => {
    const out = new MsgpackWriter();
    out.nil();
    const body = out.finish();
    expect(withHead(body, 'x'.repeat(HEAD_ROOM + 1))).toBeUndefined();
    expect(withHead(body, 'x'.repeat(HEAD_ROOM))?.length).toBe(HEAD_ROOM + 1);
  });
});

describe('scalars read as msgpackr reads them', () => {
  /** Items of every type an operation may hold, as any msgpack encoder may write them. */
  const encoded: Uint8Array[] = [
    ...NUMBERS.map((n) => batchCodec.pack(n)),
    ...BIGINTS.map((n) => batchCodec.pack(n)),
    ...STRINGS.map((s) => batchCodec.pack(s)),
    ...BINS.map((b) => batchCodec.pack(b)),
    batchCodec.pack(null),
    batchCodec.pack(true),
    batchCodec.pack(false),
    // 64-bit integers as Go or Java write them, on both sides of ±2^53 ('auto' turns to BigInt past it)
    Uint8Array.from([0xcf, 0, 0x20, 0, 0, 0, 0, 0, 0]), // 2^53
    Uint8Array.from([0xcf, 0, 0x20, 0, 0, 0, 0, 0, 1]), // 2^53 + 1
    Uint8Array.from([0xcf, 0, 0, 0, 0, 0, 0, 0, 5]),
    Uint8Array.from([0xd3, 0xff, 0xe0, 0, 0, 0, 0, 0, 0]), // -2^53
    Uint8Array.from([0xd3, 0xff, 0xdf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // -2^53 - 1
    Uint8Array.from([0xca, 0x3f, 0xc0, 0, 0]), // float32 1.5
    Uint8Array.from([0xca, 0x3d, 0xcc, 0xcc, 0xcd]), // float32 0.1
    Uint8Array.from([0xd0, 0x05]), // int8 used for a positive number
    Uint8Array.from([0xd9, 3, 0x61, 0x62, 0x63]), // str8 for a short string
    Uint8Array.from([0xa3, 0x61, 0xff, 0x62]), // invalid UTF-8
    Uint8Array.from([0xa4, 0xf0, 0x9f, 0x94, 0x91]), // 4-byte UTF-8
    Uint8Array.from([0xa2, 0xc3, 0x28]), // invalid continuation
  ];

  it.each(encoded.map((bytes) => [Buffer.from(bytes).toString('hex').slice(0, 24), bytes]))(
    '%s…',
    (_, bytes) => {
      const reader = new MsgpackReader();
      // After a prefix, so offsets other than 0 are read too.
      const body = Buffer.concat([Buffer.from([0x92, 0x01]), bytes]);
      reader.reset(body);
      expect(reader.arrayLength()).toBe(2);
      expect(reader.scalar()).toBe(1);
      const value = reader.scalar();
      expect(reader.at).toBe(body.length);
      const expected: unknown = batchCodec.unpack(bytes);
      if (expected instanceof Uint8Array) {
        // A bin: its bytes, as a one-byte string up to the size values are held so, else as bytes.
        expect(value).toBeInstanceOf(Bin);
        const { bytes: held } = value as Bin;
        expect(typeof held === 'string').toBe(expected.length <= STRING_VALUE_MAX_BYTES);
        const got = typeof held === 'string' ? Buffer.from(held, 'latin1') : Buffer.from(held);
        expect(got).toEqual(Buffer.from(expected));
        return;
      }
      expect(value).toEqual(expected);
      expect(typeof value).toBe(typeof expected);
    },
  );

  it('a bin is a copy: the stored value does not pin the request body', () => {
    const body = Buffer.from(batchCodec.pack(new Uint8Array([1, 2, 3])));
    const reader = new MsgpackReader();
    reader.reset(body);
    const value = reader.scalar() as Bin;
    body[2] = 9;
    expect(value.bytes).toBe('\x01\x02\x03');
    // Past the size values are held as strings: bytes of their own.
    const large = Buffer.from(batchCodec.pack(new Uint8Array(STRING_VALUE_MAX_BYTES + 1).fill(1)));
    reader.reset(large);
    const bytes = (reader.scalar() as Bin).bytes as Uint8Array;
    expect(bytes.buffer).not.toBe(large.buffer);
    large[5] = 9;
    expect(bytes.every((byte) => byte === 1)).toBe(true);
  });

  it('leaves arrays and maps to msgpackr, and skips past them', () => {
    const body = Buffer.from(batchCodec.pack([['get', { a: [1, 2] }], 'next']));
    const reader = new MsgpackReader();
    reader.reset(body);
    expect(reader.arrayLength()).toBe(2);
    const start = reader.at;
    expect(reader.arrayLength()).toBe(2);
    expect(reader.scalar()).toBe('get');
    expect(reader.scalar()).toBe(NOT_SCALAR);
    reader.at = start;
    reader.skip();
    expect(reader.decoded(start)).toEqual(['get', { a: [1, 2] }]);
    expect(reader.scalar()).toBe('next');
  });
});
