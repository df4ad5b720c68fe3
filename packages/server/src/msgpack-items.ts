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
export type ItemsVerdict = 'ok' | 'too_many_items' | 'extension' | 'trailing_bytes';

/**
 * Walks the msgpack items of the first value in `body` (itself included) without decoding it.
 * Refuses, as soon as it sees them: more than `limit` items; any extension type (fixext 0xd4–0xd8,
 * ext 8/16/32 0xc7–0xc9, timestamps included); bytes after the value. Strings and binaries are
 * skipped by their length, so the walk costs one step per item, never one per byte of a value. A
 * truncated or invalid body answers 'ok': the decoder reports those. Why: msgpackr builds every
 * nested element before anyone can look at it (an empty array is one byte of body but ~40 bytes of
 * heap, so a 16 MiB body of them costs ~0.6 GB), and it decodes some extensions (Set, Error,
 * RegExp, record definitions — even with `useRecords: false`) by reading the NEXT value as their
 * content, so a walk that skipped an extension by its stated length would miss what follows.
 */
export function scanItems(body: Uint8Array, limit: number): ItemsVerdict {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let at = 0;
  let pending = 1; // items still to read
  let items = 0;
  try {
    while (pending > 0 && at < body.length) {
      pending--;
      if (++items > limit) return 'too_many_items';
      const b = body[at]!;
      if (b <= 0x7f || b >= 0xe0)
        at += 1; // fixint
      else if (b <= 0x8f) {
        pending += 2 * (b & 0x0f); // fixmap
        at += 1;
      } else if (b <= 0x9f) {
        pending += b & 0x0f; // fixarray
        at += 1;
      } else if (b <= 0xbf)
        at += 1 + (b & 0x1f); // fixstr
      else if (FIXED_SIZE[b]! > 0) at += FIXED_SIZE[b]!;
      else if (b === 0xc4 || b === 0xd9)
        at += 2 + view.getUint8(at + 1); // bin 8, str 8
      else if (b === 0xc5 || b === 0xda)
        at += 3 + view.getUint16(at + 1); // bin 16, str 16
      else if (b === 0xc6 || b === 0xdb)
        at += 5 + view.getUint32(at + 1); // bin 32, str 32
      else if ((b >= 0xc7 && b <= 0xc9) || (b >= 0xd4 && b <= 0xd8)) return 'extension';
      else if (b === 0xdc || b === 0xde) {
        pending += (b === 0xde ? 2 : 1) * view.getUint16(at + 1); // array 16, map 16
        at += 3;
      } else if (b === 0xdd || b === 0xdf) {
        pending += (b === 0xdf ? 2 : 1) * view.getUint32(at + 1); // array 32, map 32
        at += 5;
      } else return 'ok'; // 0xc1 is never used: invalid, and the decoder says so
    }
  } catch (error) {
    if (error instanceof RangeError) return 'ok'; // a length field cut off: truncated
    throw error;
  }
  return pending === 0 && at < body.length ? 'trailing_bytes' : 'ok';
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
