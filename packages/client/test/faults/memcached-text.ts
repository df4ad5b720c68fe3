// A minimal memcached text-protocol client for the fault tests: one request at a time, `get` and
// `delete`, enough to see what a node's memcached port serves (memcached clients cannot stamp or
// verify, so the port is where a node's own judgement shows).
import { connect } from 'node:net';
import type { Socket } from 'node:net';

const ANSWER_MS = 5000;

export class MemcachedText {
  readonly #socket: Socket;
  #received = Buffer.alloc(0);
  #wake: (() => void) | undefined;
  #closed = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#received = Buffer.concat([this.#received, chunk]);
      this.#wake?.();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#wake?.();
    });
    socket.on('error', () => undefined);
  }

  static async connect(address: { host: string; port: number }): Promise<MemcachedText> {
    const socket = connect(address.port, address.host);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new MemcachedText(socket);
  }

  /** The stored bytes, or undefined for a miss (`END`). */
  async get(key: string): Promise<Uint8Array | undefined> {
    this.#socket.write(`get ${key}\r\n`);
    const reply = await this.#until((buffer) => {
      if (buffer.subarray(0, 5).toString('latin1') === 'END\r\n') return 5;
      const eol = buffer.indexOf('\r\n');
      if (eol < 0) return -1;
      const header = /^VALUE \S+ \d+ (\d+)/.exec(buffer.subarray(0, eol).toString('latin1'));
      if (header === null) throw new Error(`unexpected reply: ${buffer.toString('latin1')}`);
      const end = eol + 2 + Number(header[1]) + 2 + 5;
      return buffer.length >= end ? end : -1;
    });
    if (reply.subarray(0, 5).toString('latin1') === 'END\r\n') return undefined;
    const eol = reply.indexOf('\r\n');
    // What is left after the data block and its \r\n is the closing END\r\n.
    return new Uint8Array(reply.subarray(eol + 2, reply.length - 7));
  }

  /** `DELETED` or `NOT_FOUND`. */
  async delete(key: string): Promise<string> {
    this.#socket.write(`delete ${key}\r\n`);
    const reply = await this.#until((buffer) => {
      const eol = buffer.indexOf('\r\n');
      return eol < 0 ? -1 : eol + 2;
    });
    return reply.toString('latin1').trimEnd();
  }

  close(): void {
    this.#socket.destroy();
  }

  /** Waits until `complete` says how many buffered bytes make one reply; returns and consumes them. */
  async #until(complete: (buffer: Buffer) => number): Promise<Buffer> {
    const deadline = Date.now() + ANSWER_MS;
    for (;;) {
      const length = complete(this.#received);
      if (length >= 0) {
        const reply = this.#received.subarray(0, length);
        this.#received = this.#received.subarray(length);
        return reply;
      }
      if (this.#closed) throw new Error('the memcached port closed the connection');
      if (Date.now() >= deadline) throw new Error(`no whole reply in ${ANSWER_MS} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}
