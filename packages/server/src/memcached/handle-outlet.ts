import type { Socket } from 'node:net';
import type { ReplyOutlet } from './reply-outlet.js';

/**
 * Hands replies straight to a TCP socket's native handle — what `socket.write` ends in — without
 * the Writable stream in front of it, or undefined when this Node does not offer what that needs.
 *
 * Why: under memaslap a small reply's trip through the Writable stream (a write request, the
 * stream's state machine, an after-write tick) costs ~0.6 µs of the ~4 µs a canned-reply Node
 * server spends per request; writing to the handle measured 1.15× its requests per second, and
 * the node's as well (MEMCACHED.md, "Performance"). Like the shared read buffer
 * (../sockets/shared-buffer-reads.ts) this leans on long-stable but undocumented parts of Node:
 * the socket's `_handle` and `process.binding('stream_wrap')` (the write request class, and the
 * flag the handle sets when a write could not finish at once). All are checked here; without them
 * the caller keeps the socket's own write path.
 *
 * Every write goes to the handle, so nothing can overtake bytes queued in the stream. A write the
 * kernel cannot take at once stays queued in libuv (its bytes are `queued`) and the outlet is
 * `blocked` until it has gone out; a failed write destroys the socket, as the stream would.
 * `socket.end()` still works: libuv shuts the socket down only after the writes queued before it.
 */
export function handleOutlet(socket: Socket, written: () => void): ReplyOutlet | undefined {
  const binding = streamWrap();
  const handle = handleOf(socket);
  if (
    binding === undefined ||
    handle === null ||
    typeof handle !== 'object' ||
    typeof handle.writeLatin1String !== 'function' ||
    typeof handle.writev !== 'function' ||
    typeof handle.writeQueueSize !== 'number'
  )
    return undefined;
  return new HandleOutlet(socket, binding, written);
}

class HandleOutlet implements ReplyOutlet {
  /** A write request for the next write; replaced only once one is kept by a queued write. */
  #request: WriteRequest;
  /** Writes queued in libuv, not yet complete. */
  #inFlight = 0;
  readonly #complete: (status: number) => void;

  constructor(
    private readonly socket: Socket,
    private readonly binding: StreamWrapBinding,
    written: () => void,
  ) {
    this.#complete = (status) => {
      this.#inFlight--;
      if (status < 0) socket.destroy();
      written();
    };
    this.#request = this.#newRequest();
  }

  latin1(text: string): boolean {
    const handle = handleOf(this.socket);
    if (handle === null) return true;
    const request = this.#request;
    return this.#after(request, handle.writeLatin1String(request, text), undefined);
  }

  buffers(parts: readonly Buffer[]): boolean {
    const handle = handleOf(this.socket);
    if (handle === null) return true;
    const request = this.#request;
    return this.#after(request, handle.writev(request, parts, true), parts);
  }

  get queued(): number {
    // libuv queues bytes only behind a write still in flight; asked after every command, so the
    // native getter is called only then.
    if (this.#inFlight === 0) return 0;
    const handle = handleOf(this.socket);
    return handle === null ? 0 : handle.writeQueueSize;
  }

  get blocked(): boolean {
    return this.#inFlight > 0;
  }

  #after(request: WriteRequest, error: number, parts: readonly Buffer[] | undefined): boolean {
    if (error !== 0) {
      this.socket.destroy();
      return true;
    }
    const { streamBaseState, kLastWriteWasAsync } = this.binding;
    if (streamBaseState[kLastWriteWasAsync] === 0) return true;
    // Queued: libuv sends the buffers themselves, so they must live until it completes.
    request.parts = parts;
    this.#inFlight++;
    this.#request = this.#newRequest();
    return false;
  }

  #newRequest(): WriteRequest {
    const request = new this.binding.WriteWrap();
    request.oncomplete = this.#complete;
    return request;
  }
}

/** The parts of Node's `process.binding('stream_wrap')` used here. */
interface StreamWrapBinding {
  WriteWrap: new () => WriteRequest;
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
}

interface WriteRequest {
  oncomplete?: (status: number) => void;
  parts?: readonly Buffer[] | undefined;
}

/** A connected TCP socket's native handle, as `net` writes to it. */
interface StreamHandle {
  writeLatin1String(request: WriteRequest, text: string): number;
  writev(request: WriteRequest, parts: readonly Buffer[], allBuffers: true): number;
  readonly writeQueueSize: number;
}

function handleOf(socket: Socket): StreamHandle | null {
  return (socket as unknown as { _handle: StreamHandle | null })._handle;
}

let binding: StreamWrapBinding | null | undefined;

function streamWrap(): StreamWrapBinding | undefined {
  if (binding === undefined) {
    binding = null;
    try {
      const found = (process as unknown as { binding(name: string): unknown }).binding(
        'stream_wrap',
      ) as Partial<StreamWrapBinding> | undefined;
      if (
        typeof found?.WriteWrap === 'function' &&
        found.streamBaseState instanceof Int32Array &&
        typeof found.kLastWriteWasAsync === 'number'
      )
        binding = found as StreamWrapBinding;
    } catch {
      // A Node without process.binding: the socket's own write path it is.
    }
  }
  return binding ?? undefined;
}
