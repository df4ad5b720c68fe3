import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { murmur3, murmur3Bytes } from './murmur3.js';

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

// Published MurmurHash3_x86_32 vectors. The byte vectors are the widely reproduced set from
// Stack Overflow question 14747343 ("MurmurHash3 test vectors"), which exercise the seed's
// unsigned arithmetic, block endianness and every tail length; the string vectors come from the
// same set and from spaolacci/murmur3's murmur_test.go (seeds 1 and 0x2a). "Hello world" =
// 2911983372 is the value Python's mmh3 prints for `mmh3.hash("Hello world", signed=False)`.
const byteVectors: [Uint8Array, number, number][] = [
  [bytes(), 0, 0x00000000],
  [bytes(), 1, 0x514e28b7],
  [bytes(), 0xffffffff, 0x81f16f39],
  [bytes(0xff, 0xff, 0xff, 0xff), 0, 0x76293b50],
  [bytes(0x21, 0x43, 0x65, 0x87), 0, 0xf55b516b],
  [bytes(0x21, 0x43, 0x65, 0x87), 0x5082edee, 0x2362f9de],
  [bytes(0x21, 0x43, 0x65), 0, 0x7e4a8634],
  [bytes(0x21, 0x43), 0, 0xa0f7b07a],
  [bytes(0x21), 0, 0x72661cf4],
  [bytes(0, 0, 0, 0), 0, 0x2362f9de],
  [bytes(0, 0, 0), 0, 0x85f0b427],
  [bytes(0, 0), 0, 0x30f4c306],
  [bytes(0), 0, 0x514e28b7],
];

const stringVectors: [string, number, number][] = [
  ['', 0, 0x00000000],
  ['', 1, 0x514e28b7],
  ['', 0xffffffff, 0x81f16f39],
  ['a', 0x9747b28c, 0x7fa09ea6],
  ['aa', 0x9747b28c, 0x5d211726],
  ['aaa', 0x9747b28c, 0x283e0130],
  ['aaaa', 0x9747b28c, 0x5a97808a],
  ['ab', 0x9747b28c, 0x74875592],
  ['abc', 0x9747b28c, 0xc84a62dd],
  ['abcd', 0x9747b28c, 0xf0478627],
  ['abc', 0, 0xb3dd93fa],
  ['Hello, world!', 0x9747b28c, 0x24884cba],
  ['Hello, world!', 1234, 0xfaf6cdb3],
  ['Hello, world!', 4321, 0xbf505788],
  ['ππππππππ', 0x9747b28c, 0xd58063c1],
  ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', 0, 0xee925b90],
  ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
  ['a'.repeat(256), 0x9747b28c, 0x37405bdc],
  ['hello', 1, 0xbb4abcad],
  ['hello, world', 1, 0x6f5cb2e9],
  ['The quick brown fox jumps over the lazy dog.', 1, 0x846f6a36],
  ['hello', 0x2a, 0xe2dbd2e1],
  ['hello, world', 0x2a, 0x7ec7c6c2],
  ['The quick brown fox jumps over the lazy dog.', 0x2a, 0xc02d1434],
  ['Hello world', 0, 2911983372],
];

describe('murmur3 (MurmurHash3 x86_32)', () => {
  it.each(byteVectors)('bytes %o with seed %i hash to the published value', (input, seed, want) => {
    expect(murmur3Bytes(input, seed)).toBe(want);
  });

  it.each(stringVectors)('%j with seed %i hashes to the published value', (input, seed, want) => {
    expect(murmur3(input, seed)).toBe(want);
  });

  it("passes SMHasher's verification test (0xB0F57EE3, aappleby/smhasher main.cpp)", () => {
    // Hash {}, {0}, {0,1}, ... {0..254} with seed 256 - length, then hash the 256 little-endian
    // results with seed 0: the reference implementation's own self-check.
    const key = new Uint8Array(256);
    const results = new Uint8Array(256 * 4);
    const view = new DataView(results.buffer);
    for (let length = 0; length < 256; length++) {
      key[length] = length;
      view.setUint32(length * 4, murmur3Bytes(key.subarray(0, length), 256 - length), true);
    }
    expect(murmur3Bytes(results, 0)).toBe(0xb0f57ee3);
  });

  it('hashes any string exactly as its UTF-8 bytes (ASCII fast path and encoder path agree)', () => {
    const encoder = new TextEncoder();
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' })),
        fc.nat({ max: 0xffffffff }),
        (text, seed) => murmur3(text, seed) === murmur3Bytes(encoder.encode(text), seed),
      ),
      { numRuns: 1000 },
    );
  });

  it('encodes a lone surrogate as U+FFFD, like TextEncoder and Buffer.from', () => {
    expect(murmur3('a\ud800b')).toBe(murmur3('a\ufffdb'));
    // Long non-ASCII keys grow the reused encode buffer past its initial 256 bytes.
    const long = 'é'.repeat(1000);
    expect(murmur3(long)).toBe(murmur3Bytes(Buffer.from(long)));
  });

  it('rejects a non-string key, non-bytes input and a seed outside uint32', () => {
    expect(() => murmur3(42 as unknown as string)).toThrow(TypeError);
    expect(() => murmur3Bytes('abc' as unknown as Uint8Array)).toThrow(TypeError);
    for (const seed of [-1, 2 ** 32, 1.5, Number.NaN]) {
      expect(() => murmur3('k', seed)).toThrow(RangeError);
    }
  });
});
