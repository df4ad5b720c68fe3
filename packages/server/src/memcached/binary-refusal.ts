/**
 * What this port answers a client speaking memcached's binary protocol (a connection whose first
 * byte is the request magic 0x80): every request, however many and however split, gets the binary
 * protocol's "unknown command" status, so the client fails each call at once. Closing the
 * connection instead leaves some clients waiting for ever: memjs (and Keyv's memcache store, built
 * on it) neither retries nor fails the requests it had sent when the server hangs up.
 */

/** Bytes of a binary packet's header (protocol_binary.h). */
const HEADER_BYTES = 24;
const REQUEST_MAGIC = 0x80;
const RESPONSE_MAGIC = 0x81;
/** PROTOCOL_BINARY_RESPONSE_UNKNOWN_COMMAND. */
const UNKNOWN_COMMAND = 0x0081;
const MESSAGE = Buffer.from('Unknown command: this port speaks the text protocol only', 'latin1');

export class BinaryRefusal {
  readonly #header = Buffer.alloc(HEADER_BYTES);
  /** Header bytes of the request being read. */
  #have = 0;
  /** Body bytes of the request answered last, still to pass over. */
  #skip = 0;

  /**
   * Reads `chunk` (which may be overwritten once this returns) and answers every request whose
   * header is complete; undefined when the bytes are not binary requests (then hang up).
   */
  receive(chunk: Buffer): Buffer | undefined {
    const replies: Buffer[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.#skip > 0) {
        const passed = Math.min(this.#skip, chunk.length - at);
        this.#skip -= passed;
        at += passed;
        continue;
      }
      const copied = chunk.copy(this.#header, this.#have, at, at + HEADER_BYTES - this.#have);
      this.#have += copied;
      at += copied;
      if (this.#have < HEADER_BYTES) break;
      this.#have = 0;
      if (this.#header[0] !== REQUEST_MAGIC) return undefined;
      // Extras, key and value: the total body length, which the request's data fills.
      this.#skip = this.#header.readUInt32BE(8);
      replies.push(this.#reply());
    }
    return Buffer.concat(replies);
  }

  /** The error response to the request in `#header`: its opcode and opaque, no extras or key. */
  #reply(): Buffer {
    const reply = Buffer.alloc(HEADER_BYTES + MESSAGE.length);
    reply[0] = RESPONSE_MAGIC;
    reply[1] = this.#header[1]!;
    reply.writeUInt16BE(UNKNOWN_COMMAND, 6);
    reply.writeUInt32BE(MESSAGE.length, 8);
    this.#header.copy(reply, 12, 12, 16);
    MESSAGE.copy(reply, HEADER_BYTES);
    return reply;
  }
}
