/**
 * Just enough msgpack to hand-craft batch requests and read their results, including payloads a
 * real encoder would refuse to produce. Independent of the client's and server's msgpackr on
 * purpose: these tests check the wire format, not one library against itself.
 */
export type Packable = null | boolean | number | string | Uint8Array | readonly Packable[];

function header(prefix: number, length: number, fix?: { base: number; max: number }): number[] {
  if (fix !== undefined && length <= fix.max) return [fix.base | length];
  if (length < 0x100 && prefix !== 0xdc) return [prefix, length];
  if (length < 0x10000) return [prefix + (prefix === 0xdc ? 0 : 1), length >> 8, length & 0xff];
  return [
    prefix + (prefix === 0xdc ? 1 : 2),
    length >>> 24,
    (length >> 16) & 0xff,
    (length >> 8) & 0xff,
    length & 0xff,
  ];
}

function encodeInto(value: Packable, out: number[]): void {
  if (value === null) out.push(0xc0);
  else if (typeof value === 'boolean') out.push(value ? 0xc3 : 0xc2);
  else if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0 && value < 0x80) out.push(value);
    else if (Number.isInteger(value) && value >= -32 && value < 0) out.push(value & 0xff);
    else if (Number.isInteger(value) && value >= 0 && value <= 0xffffffff) {
      out.push(0xce, value >>> 24, (value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff);
    } else if (Number.isInteger(value) && value >= -0x80000000 && value < 0) {
      out.push(0xd2, (value >> 24) & 0xff, (value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff);
    } else {
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setFloat64(0, value);
      out.push(0xcb, ...bytes);
    }
  } else if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    out.push(...header(0xd9, bytes.length, { base: 0xa0, max: 31 }));
    for (const byte of bytes) out.push(byte);
  } else if (value instanceof Uint8Array) {
    out.push(...header(0xc4, value.length));
    for (const byte of value) out.push(byte);
  } else {
    out.push(...header(0xdc, value.length, { base: 0x90, max: 15 }));
    for (const item of value) encodeInto(item, out);
  }
}

export function pack(value: Packable): Uint8Array {
  const out: number[] = [];
  encodeInto(value, out);
  return Uint8Array.from(out);
}

export type Unpacked = null | boolean | number | string | Uint8Array | Unpacked[];

/** Decodes the subset the batch results use: nil, booleans, ints, floats, str, bin and arrays. */
export function unpack(bytes: Uint8Array): Unpacked {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const text = (length: number): string =>
    Buffer.from(bytes.subarray(at, (at += length))).toString('utf8');
  const array = (length: number): Unpacked[] => Array.from({ length }, () => next());
  function next(): Unpacked {
    const byte = bytes[at++];
    if (byte === undefined) throw new RangeError('truncated msgpack');
    if (byte < 0x80) return byte;
    if (byte >= 0xe0) return byte - 0x100;
    if ((byte & 0xf0) === 0x90) return array(byte & 0x0f);
    if ((byte & 0xe0) === 0xa0) return text(byte & 0x1f);
    const u8 = (): number => view.getUint8((at += 1) - 1);
    const u16 = (): number => view.getUint16((at += 2) - 2);
    const u32 = (): number => view.getUint32((at += 4) - 4);
    switch (byte) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4: {
        const n = u8();
        return bytes.slice(at, (at += n));
      }
      case 0xc5: {
        const n = u16();
        return bytes.slice(at, (at += n));
      }
      case 0xc6: {
        const n = u32();
        return bytes.slice(at, (at += n));
      }
      case 0xcb:
        return view.getFloat64((at += 8) - 8);
      case 0xcc:
        return u8();
      case 0xcd:
        return u16();
      case 0xce:
        return u32();
      case 0xcf:
        return Number(view.getBigUint64((at += 8) - 8));
      case 0xd0:
        return view.getInt8((at += 1) - 1);
      case 0xd1:
        return view.getInt16((at += 2) - 2);
      case 0xd2:
        return view.getInt32((at += 4) - 4);
      case 0xd3:
        return Number(view.getBigInt64((at += 8) - 8));
      case 0xd9:
        return text(u8());
      case 0xda:
        return text(u16());
      case 0xdb:
        return text(u32());
      case 0xdc:
        return array(u16());
      case 0xdd:
        return array(u32());
      default:
        throw new RangeError(`unsupported msgpack byte 0x${byte.toString(16)}`);
    }
  }
  return next();
}
