import { describe, expect, it } from 'vitest';
import { FINGERPRINT_BITS, writeFingerprint } from './write-fingerprint.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('writeFingerprint', () => {
  it('is the same for the same write, whatever buffer holds its bytes', () => {
    const stamp = 70_000_000_000_000;
    const copy = Buffer.from(bytes('value'));
    const inLargerBuffer = new Uint8Array([9, ...bytes('value'), 9]).subarray(1, 6);
    expect(writeFingerprint(stamp, 3, copy)).toBe(writeFingerprint(stamp, 3, bytes('value')));
    expect(writeFingerprint(stamp, 3, inLargerBuffer)).toBe(
      writeFingerprint(stamp, 3, bytes('value')),
    );
  });

  it('differs when the stamp, the flags or the bytes differ', () => {
    const base = writeFingerprint(1_000, 0, bytes('a'));
    expect(writeFingerprint(1_001, 0, bytes('a'))).not.toBe(base);
    expect(writeFingerprint(1_000, 1, bytes('a'))).not.toBe(base);
    expect(writeFingerprint(1_000, 0, bytes('b'))).not.toBe(base);
    expect(writeFingerprint(1_000, 0, bytes(''))).not.toBe(base);
  });

  it('keeps the fields apart: a flag byte moved into the bytes is another write', () => {
    // Fixed widths for the stamp and flags: no (stamp, flags, bytes) reads as another's.
    expect(writeFingerprint(0, 0x01, bytes(''))).not.toBe(
      writeFingerprint(0, 0, new Uint8Array([1])),
    );
    expect(writeFingerprint(0, 0xffff_ffff, bytes('x'))).not.toBe(
      writeFingerprint(0, 0x7fff_ffff, bytes('x')),
    );
  });

  it('is a safe integer of at most 52 bits, spread over that range', () => {
    let high = 0;
    for (let stamp = 0; stamp < 2_000; stamp++) {
      const fingerprint = writeFingerprint(stamp, 0, bytes('v'));
      expect(Number.isSafeInteger(fingerprint)).toBe(true);
      expect(fingerprint).toBeGreaterThanOrEqual(0);
      expect(fingerprint).toBeLessThan(2 ** FINGERPRINT_BITS);
      if (fingerprint >= 2 ** (FINGERPRINT_BITS - 1)) high++;
    }
    // About half have the top bit set: the top bits are hash bits, not padding.
    expect(high).toBeGreaterThan(800);
    expect(high).toBeLessThan(1_200);
  });
});
