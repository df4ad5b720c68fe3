import { batchCodec } from './msgpack.js';
import { heldCopy } from '../../operations/stored-value.js';

/**
 * A msgpack bin as the reader answers it: its bytes, as a one-byte string up to
 * STRING_VALUE_MAX_BYTES (storedValue() keeps it so), else as bytes. Not a string itself, so that
 * a bin is never taken for a str (a key).
 */
export class Bin {
  constructor(readonly bytes: string | Uint8Array) {}
}

/** What {@link MsgpackReader.scalar} answers for an array, a map or an extension: not read. */
export const NOT_SCALAR: unique symbol = Symbol('not a scalar');

const TWO_53 = 2n ** 53n;
/** Longest ASCII string built from char codes in JS rather than by Buffer#toString. */
const SHORT_STRING = 32;
/** One reusable array of char codes per short length. */
const shortCodes = Array.from({ length: SHORT_STRING + 1 }, (_, n) => new Array<number>(n).fill(0));

/**
 * Reads msgpack items in place from a batch body that `scanItems` has walked whole (complete, no
 * extensions), giving each scalar the value msgpackr's `batchCodec` would (int64 'auto', bin as a
 * copy the stored value owns) without materialising the arrays around them. Non-ASCII strings
 * are handed to msgpackr itself, so even malformed UTF-8 decodes as it always did.
 */
export class MsgpackReader {
  #body: Uint8Array = new Uint8Array(0);
  #view = new DataView(this.#body.buffer);
  #latin1: Buffer = Buffer.alloc(0);
  /** Offset of the next item. */
  at = 0;

  reset(body: Uint8Array): void {
    this.#body = body;
    this.#view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    this.#latin1 = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    this.at = 0;
  }

  /** The element count of the array at `at` (moving past its header), or -1 when it is not one. */
  arrayLength(): number {
    const b = this.#body[this.at]!;
    if (b >= 0x90 && b <= 0x9f) {
      this.at += 1;
      return b & 0x0f;
    }
    if (b === 0xdc) {
      const n = this.#view.getUint16(this.at + 1);
      this.at += 3;
      return n;
    }
    if (b === 0xdd) {
      const n = this.#view.getUint32(this.at + 1);
      this.at += 5;
      return n;
    }
    return -1;
  }

  /** The next item as a value when it is a scalar (moving past it); NOT_SCALAR otherwise. */
  scalar(): unknown {
    const body = this.#body;
    const view = this.#view;
    const at = this.at;
    const b = body[at]!;
    if (b <= 0x7f) {
      this.at = at + 1;
      return b;
    }
    if (b >= 0xe0) {
      this.at = at + 1;
      return b - 0x100;
    }
    if (b >= 0xa0 && b <= 0xbf) return this.#str(at + 1, b & 0x1f);
    switch (b) {
      case 0xc0:
        this.at = at + 1;
        return null;
      case 0xc2:
        this.at = at + 1;
        return false;
      case 0xc3:
        this.at = at + 1;
        return true;
      case 0xc4:
        return this.#bin(at + 2, body[at + 1]!);
      case 0xc5:
        return this.#bin(at + 3, view.getUint16(at + 1));
      case 0xc6:
        return this.#bin(at + 5, view.getUint32(at + 1));
      case 0xca:
        this.at = at + 5;
        return view.getFloat32(at + 1);
      case 0xcb:
        this.at = at + 9;
        return view.getFloat64(at + 1);
      case 0xcc:
        this.at = at + 2;
        return body[at + 1]!;
      case 0xcd:
        this.at = at + 3;
        return view.getUint16(at + 1);
      case 0xce:
        this.at = at + 5;
        return view.getUint32(at + 1);
      case 0xcf: {
        this.at = at + 9;
        const value = view.getBigUint64(at + 1);
        return value <= TWO_53 ? Number(value) : value;
      }
      case 0xd0:
        this.at = at + 2;
        return view.getInt8(at + 1);
      case 0xd1:
        this.at = at + 3;
        return view.getInt16(at + 1);
      case 0xd2:
        this.at = at + 5;
        return view.getInt32(at + 1);
      case 0xd3: {
        this.at = at + 9;
        const value = view.getBigInt64(at + 1);
        return value >= -TWO_53 && value <= TWO_53 ? Number(value) : value;
      }
      case 0xd9:
        return this.#str(at + 2, body[at + 1]!);
      case 0xda:
        return this.#str(at + 3, view.getUint16(at + 1));
      case 0xdb:
        return this.#str(at + 5, view.getUint32(at + 1));
      default:
        return NOT_SCALAR;
    }
  }

  /** Moves past the next item, whatever it holds. */
  skip(): void {
    let items = 1;
    while (items > 0) {
      items--;
      const length = this.arrayLength();
      if (length >= 0) {
        items += length;
        continue;
      }
      const b = this.#body[this.at]!;
      if (b >= 0x80 && b <= 0x8f) {
        items += 2 * (b & 0x0f);
        this.at += 1;
      } else if (b === 0xde) {
        items += 2 * this.#view.getUint16(this.at + 1);
        this.at += 3;
      } else if (b === 0xdf) {
        items += 2 * this.#view.getUint32(this.at + 1);
        this.at += 5;
      } else if (this.scalar() === NOT_SCALAR) {
        throw new RangeError(
          `msgpack type 0x${b.toString(16)} at ${this.at}: scanItems lets none through`,
        );
      }
    }
  }

  /** The item from `start` to `at`, decoded by msgpackr (an operation that is not all scalars). */
  decoded(start: number): unknown {
    return batchCodec.unpack(this.#body.subarray(start, this.at));
  }

  #bin(start: number, length: number): Bin {
    this.at = start + length;
    // A copy, as msgpackr's copyBuffers makes: a stored value must not pin the request body. Made
    // as the value is held (stored-value.ts), once, here.
    return new Bin(heldCopy(this.#body, start, start + length));
  }

  #str(start: number, length: number): string {
    const end = start + length;
    const body = this.#body;
    for (let i = start; i < end; i++) {
      if (body[i]! >= 0x80) {
        const header = this.at;
        this.at = end;
        return batchCodec.unpack(body.subarray(header, end)) as string;
      }
    }
    this.at = end;
    if (length > SHORT_STRING) return this.#latin1.toString('latin1', start, end);
    // Short keys (the common case) without a call into C++: as msgpackr reads them.
    const codes = shortCodes[length]!;
    for (let i = 0; i < length; i++) codes[i] = body[start + i]!;
    return String.fromCharCode.apply(null, codes);
  }
}
