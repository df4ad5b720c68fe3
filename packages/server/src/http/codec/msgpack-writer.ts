import { writeLatin1 } from '../../operations/stored-value.js';
/** Bytes of a fresh chunk; a response larger than that gets a chunk of its own. */
const CHUNK_BYTES = 64 * 1024;

/**
 * Bytes left free before every response in its chunk, for the transport to write the response's
 * HTTP head in ({@link withHead}): head and body then leave in one write of one buffer.
 */
export const HEAD_ROOM = 512;

declare const headRoom: unique symbol;

/** A response {@link MsgpackWriter.finish} cut: the HEAD_ROOM bytes before it are its own. */
export type FinishedResponse = Buffer & { readonly [headRoom]: true };

/**
 * `head` (latin1) written into the room before `body`, and the two as one buffer; undefined when
 * the head is longer than the room (the caller then writes them apart).
 */
export function withHead(body: FinishedResponse, head: string): Buffer | undefined {
  const length = head.length;
  if (length > HEAD_ROOM) return undefined;
  const whole = Buffer.from(body.buffer, body.byteOffset - length, length + body.length);
  whole.write(head, 0, length, 'latin1');
  return whole;
}

/**
 * Writes msgpack straight into one buffer — the batch's results, with no array per result and no
 * second copy — choosing every type exactly as msgpackr's `pack` (useRecords false, no float32)
 * does, so the bytes on the wire stay those of docs/wire-protocol.md (batch-results.test.ts
 * compares them). Responses are cut from a shared chunk one after another and never written over:
 * a response still queued in a socket keeps its bytes; a full chunk is left to those that hold it.
 * Each response starts HEAD_ROOM bytes after the one before, leaving room for its HTTP head.
 */
export class MsgpackWriter {
  #buf: Buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  #view = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength);
  /** Where the response being written starts (past its head room; may be past the chunk's end). */
  #start = HEAD_ROOM;
  #pos = HEAD_ROOM;

  /** The bytes written since the last `finish`, as one response; the next one starts after them. */
  finish(): FinishedResponse {
    const out = this.#buf.subarray(this.#start, this.#pos) as FinishedResponse;
    this.#start = this.#pos + HEAD_ROOM;
    this.#pos = this.#start;
    return out;
  }

  /** Drops what was written since the last `finish` (a batch refused as a whole). */
  discard(): void {
    this.#pos = this.#start;
  }

  /** A point to {@link rollback} to (relative to the response: stays valid when the chunk grows). */
  mark(): number {
    return this.#pos - this.#start;
  }

  rollback(mark: number): void {
    this.#pos = this.#start + mark;
  }

  array(length: number): void {
    this.#room(5);
    if (length < 0x10) this.#buf[this.#pos++] = 0x90 | length;
    else if (length < 0x10000) {
      this.#buf[this.#pos++] = 0xdc;
      this.#view.setUint16(this.#pos, length);
      this.#pos += 2;
    } else {
      this.#buf[this.#pos++] = 0xdd;
      this.#view.setUint32(this.#pos, length);
      this.#pos += 4;
    }
  }

  nil(): void {
    this.#room(1);
    this.#buf[this.#pos++] = 0xc0;
  }

  bool(value: boolean): void {
    this.#room(1);
    this.#buf[this.#pos++] = value ? 0xc3 : 0xc2;
  }

  /** An integer as the smallest msgpack int holding it; any other number as a float64. */
  number(value: number): void {
    this.#room(9);
    const buf = this.#buf;
    if (value >>> 0 === value) {
      if (value < 0x80) buf[this.#pos++] = value;
      else if (value < 0x100) {
        buf[this.#pos++] = 0xcc;
        buf[this.#pos++] = value;
      } else if (value < 0x10000) {
        buf[this.#pos++] = 0xcd;
        this.#view.setUint16(this.#pos, value);
        this.#pos += 2;
      } else {
        buf[this.#pos++] = 0xce;
        this.#view.setUint32(this.#pos, value);
        this.#pos += 4;
      }
    } else if (value >> 0 === value) {
      if (value >= -0x20) buf[this.#pos++] = 0x100 + value;
      else if (value >= -0x80) {
        buf[this.#pos++] = 0xd0;
        buf[this.#pos++] = value + 0x100;
      } else if (value >= -0x8000) {
        buf[this.#pos++] = 0xd1;
        this.#view.setInt16(this.#pos, value);
        this.#pos += 2;
      } else {
        buf[this.#pos++] = 0xd2;
        this.#view.setInt32(this.#pos, value);
        this.#pos += 4;
      }
    } else {
      buf[this.#pos++] = 0xcb;
      this.#view.setFloat64(this.#pos, value);
      this.#pos += 8;
    }
  }

  /** A bigint as int64 while it fits, else uint64 (msgpackr's order); wider ones are refused. */
  bigint(value: bigint): void {
    this.#room(9);
    if (value < 0x8000000000000000n && value >= -0x8000000000000000n) {
      this.#buf[this.#pos++] = 0xd3;
      this.#view.setBigInt64(this.#pos, value);
    } else if (value < 0x10000000000000000n && value > 0n) {
      this.#buf[this.#pos++] = 0xcf;
      this.#view.setBigUint64(this.#pos, value);
    } else {
      throw new RangeError(`${value} does not fit 64 bits`);
    }
    this.#pos += 8;
  }

  /** A bin of `bytes`: a one-byte string (a held value's `data`) is one character per byte. */
  bin(bytes: Uint8Array | string): void {
    // `length`, not `byteLength` (the same for a Uint8Array): V8 on Node 20 reads `byteLength`
    // through a builtin call that also loads the ArrayBuffer, one more cache miss per stored value
    // served.
    const length = bytes.length;
    this.#room(5 + length);
    this.#sized(length, 0xc4); // bin 8, 16, 32
    if (typeof bytes === 'string') writeLatin1(this.#buf, bytes, this.#pos);
    else this.#buf.set(bytes, this.#pos);
    this.#pos += length;
  }

  str(value: string): void {
    const length = Buffer.byteLength(value, 'utf8');
    this.#room(5 + length);
    if (length < 0x20) this.#buf[this.#pos++] = 0xa0 | length;
    else this.#sized(length, 0xd9); // str 8, 16, 32
    this.#pos += this.#buf.write(value, this.#pos, length, 'utf8');
  }

  /** A number that may be a bigint (a counter past 2^53). */
  integer(value: number | bigint): void {
    if (typeof value === 'bigint') this.bigint(value);
    else this.number(value);
  }

  /** The header of a sized type whose 8-, 16- and 32-bit forms are `type8` and the two after it. */
  #sized(length: number, type8: number): void {
    if (length < 0x100) {
      this.#buf[this.#pos++] = type8;
      this.#buf[this.#pos++] = length;
    } else if (length < 0x10000) {
      this.#buf[this.#pos++] = type8 + 1;
      this.#view.setUint16(this.#pos, length);
      this.#pos += 2;
    } else {
      this.#buf[this.#pos++] = type8 + 2;
      this.#view.setUint32(this.#pos, length);
      this.#pos += 4;
    }
  }

  /**
   * Makes room for `bytes` more: a new chunk, holding the response so far after its head room,
   * when this one is full.
   */
  #room(bytes: number): void {
    if (this.#pos + bytes <= this.#buf.length) return;
    const used = this.#pos - this.#start;
    const next = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, HEAD_ROOM + 2 * (used + bytes)));
    if (used > 0) this.#buf.copy(next, HEAD_ROOM, this.#start, this.#pos);
    this.#buf = next;
    this.#view = new DataView(next.buffer, next.byteOffset, next.byteLength);
    this.#start = HEAD_ROOM;
    this.#pos = HEAD_ROOM + used;
  }
}
