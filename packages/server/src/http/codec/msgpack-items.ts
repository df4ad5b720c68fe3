import { isUtf8 } from 'node:buffer';
import { MAX_NESTING } from './nesting.js';

/** Whole sizes of the fixed-size types from 0xc0 up (nil, bool, numbers); 0 = not one. */
const FIXED_SIZE = new Uint8Array(0x100);
for (const [type, size] of [
  [0xc0, 1],
  [0xc2, 1],
  [0xc3, 1],
  [0xca, 5],
  [0xcb, 9],
  [0xcc, 2],
  [0xcd, 3],
  [0xce, 5],
  [0xcf, 9],
  [0xd0, 2],
  [0xd1, 3],
  [0xd2, 5],
  [0xd3, 9],
] as const) {
  FIXED_SIZE[type] = size;
}

/** Why `scanItems` refused a body, or 'ok' when the decoder may have it. */
export type ItemsVerdict =
  | 'ok'
  | 'too_many_items'
  | 'too_deep'
  | 'extension'
  | 'trailing_bytes'
  | 'truncated'
  | 'invalid'
  | 'bad_utf8';

/** What `scanItems` accepts beyond its item count. */
export interface ScanShape {
  /** Deepest nesting of arrays and maps; a scalar alone is depth 0, `[1]` depth 1. @default MAX_NESTING */
  maxDepth?: number;
  /** 'refuse' answers 'extension' at the first one; 'skip' steps over it by its length. @default 'refuse' */
  extensions?: 'refuse' | 'skip';
  /**
   * 'check' answers 'bad_utf8' at a str that is not well-formed UTF-8, as msgpack requires: decoders
   * put U+FFFD in its place, so two different byte strings would read as one string (one key).
   * @default 'skip'
   */
  strings?: 'check' | 'skip';
}

/** What {@link strEnd} answers for a str that is not well-formed UTF-8. */
const BAD_UTF8 = -1;

/**
 * Where the str whose bytes start at `start` ends; BAD_UTF8 when `check` and they are not
 * well-formed UTF-8 (ASCII is told without leaving JavaScript). A str cut off by the body's end is
 * left to the truncation check.
 */
function strEnd(body: Uint8Array, start: number, length: number, check: boolean): number {
  const end = start + length;
  if (!check || end > body.length) return end;
  for (let i = start; i < end; i++) {
    if (body[i]! >= 0x80) return isUtf8(body.subarray(start, end)) ? end : BAD_UTF8;
  }
  return end;
}

/** Whole sizes of fixext 1–16 (0xd4–0xd8): type byte, ext type, data. */
const FIXEXT_SIZE = [3, 4, 6, 10, 18] as const;

/** Items still to read at each open level; reused, since a walk is synchronous. */
let left = new Float64Array(64);

/**
 * Walks the msgpack items of the first value in `body` (itself included) without decoding it.
 * Refuses, as soon as it sees them: more than `maxItems` items; nesting past `maxDepth`; any
 * extension type (fixext 0xd4–0xd8, ext 8/16/32 0xc7–0xc9, timestamps included) unless told to
 * skip them; bytes after the value; a body that ends inside the value ('truncated'); the never-used
 * type byte 0xc1 ('invalid'); with `strings: 'check'`, a str that is not UTF-8. Binaries (and
 * unchecked strings) are skipped by their length, so the walk costs one step per item, never one
 * per byte of a value. An 'ok' body is whole, so a reader may act on
 * its first items before reaching the last (the batch decodes its operations in place). Why: msgpackr builds every nested element before anyone can
 * look at it (an empty array is one byte of body but ~40 bytes of heap, so a 16 MiB body of them
 * costs ~0.6 GB), recurses once per level (overflowing the stack past ~1000), and it decodes some
 * extensions (Set, Error, RegExp, record definitions — even with `useRecords: false`) by reading
 * the NEXT value as their content, so a batch walk that skipped an extension by its stated length
 * would miss what follows.
 */
export function scanItems(body: Uint8Array, maxItems: number, shape: ScanShape = {}): ItemsVerdict {
  const { maxDepth = MAX_NESTING, extensions = 'refuse', strings = 'skip' } = shape;
  const checkStrings = strings === 'check';
  if (left.length < maxDepth + 1) left = new Float64Array(maxDepth + 1);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let at = 0;
  let depth = 0;
  left[0] = 1;
  let items = 0;
  try {
    while (at < body.length) {
      left[depth]!--;
      if (++items > maxItems) return 'too_many_items';
      const b = body[at]!;
      let children = 0;
      let container = false;
      if (b <= 0x7f || b >= 0xe0)
        at += 1; // fixint
      else if (b <= 0x8f) {
        children = 2 * (b & 0x0f); // fixmap
        container = true;
        at += 1;
      } else if (b <= 0x9f) {
        children = b & 0x0f; // fixarray
        container = true;
        at += 1;
      } else if (b <= 0xbf)
        at = strEnd(body, at + 1, b & 0x1f, checkStrings); // fixstr
      else if (FIXED_SIZE[b]! > 0) at += FIXED_SIZE[b]!;
      else if (b === 0xc4)
        at += 2 + view.getUint8(at + 1); // bin 8
      else if (b === 0xc5)
        at += 3 + view.getUint16(at + 1); // bin 16
      else if (b === 0xc6)
        at += 5 + view.getUint32(at + 1); // bin 32
      else if (b === 0xd9)
        at = strEnd(body, at + 2, view.getUint8(at + 1), checkStrings); // str 8
      else if (b === 0xda)
        at = strEnd(body, at + 3, view.getUint16(at + 1), checkStrings); // str 16
      else if (b === 0xdb)
        at = strEnd(body, at + 5, view.getUint32(at + 1), checkStrings); // str 32
      else if ((b >= 0xc7 && b <= 0xc9) || (b >= 0xd4 && b <= 0xd8)) {
        if (extensions === 'refuse') return 'extension';
        if (b >= 0xd4) at += FIXEXT_SIZE[b - 0xd4]!;
        else if (b === 0xc7)
          at += 3 + view.getUint8(at + 1); // ext 8
        else if (b === 0xc8)
          at += 4 + view.getUint16(at + 1); // ext 16
        else at += 6 + view.getUint32(at + 1); // ext 32
      } else if (b === 0xdc || b === 0xde) {
        children = (b === 0xde ? 2 : 1) * view.getUint16(at + 1); // array 16, map 16
        container = true;
        at += 3;
      } else if (b === 0xdd || b === 0xdf) {
        children = (b === 0xdf ? 2 : 1) * view.getUint32(at + 1); // array 32, map 32
        container = true;
        at += 5;
      } else return 'invalid'; // 0xc1 is never used
      if (at === BAD_UTF8) return 'bad_utf8';
      // An empty container counts as a level too, as `[]` does in JSON.
      if (container && depth === maxDepth) return 'too_deep';
      if (children > 0) left[++depth] = children;
      while (depth > 0 && left[depth] === 0) depth--;
      if (depth === 0 && left[0] === 0) break;
    }
  } catch (error) {
    if (error instanceof RangeError) return 'truncated'; // a length field cut off
    throw error;
  }
  if (depth > 0 || left[0]! > 0 || at > body.length) return 'truncated';
  return at < body.length ? 'trailing_bytes' : 'ok';
}

/** The element count a msgpack array header at the start of `body` declares, if it is one. */
export function declaredArrayLength(body: Uint8Array): number | undefined {
  const first = body[0];
  if (first === undefined) return undefined;
  if (first >= 0x90 && first <= 0x9f) return first & 0x0f; // fixarray
  if (first === 0xdc && body.length >= 3) return (body[1]! << 8) | body[2]!; // array 16
  if (first === 0xdd && body.length >= 5) {
    return new DataView(body.buffer, body.byteOffset, 5).getUint32(1); // array 32
  }
  return undefined;
}
