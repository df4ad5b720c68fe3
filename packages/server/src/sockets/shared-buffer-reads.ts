import { Socket } from 'node:net';

/**
 * Re-wraps an accepted connection so that its reads land in one caller-owned buffer, handed to
 * `onRead` synchronously, instead of arriving as 'data' events.
 *
 * Why: under memaslap a normal server socket costs ~15 µs of user CPU per request, most of it
 * Node allocating a fresh 64 KiB ArrayBuffer for every read and pushing it through the Readable
 * stream machinery. Node's public `onread` option removes both (measured: user CPU per op
 * 9.5 → 5–6 µs on a canned-reply server, 1.3–1.4× the requests per second), but Node only offers
 * it to sockets it constructs, and `net.Server` constructs the accepted ones. So the accepted
 * socket (created paused, via `pauseOnConnect`) gives up its native handle to a new Socket built
 * with `onread`. That touches the long-stable but undocumented `_handle` field; when it is not
 * there as expected, this returns undefined and the caller keeps the ordinary socket.
 *
 * `buffer` may be shared by every connection: libuv reads into it and `onRead` runs before the
 * next read of any socket, so a consumer that copies whatever it keeps past the call is safe.
 * `onRead` returning false stops the socket's reads until its Readable side is read from (after
 * `push`, as an ordinary socket's reads stop when its buffer is full).
 */
export function adoptWithSharedReadBuffer(
  accepted: Socket,
  buffer: Buffer,
  onRead: (chunk: Buffer) => boolean | void,
  options: AdoptOptions = {},
): Socket | undefined {
  const internals = accepted as unknown as AcceptedSocketInternals;
  const handle = internals._handle;
  if (
    handle === null ||
    typeof handle !== 'object' ||
    typeof handle.readStart !== 'function' ||
    typeof handle.useUserBuffer !== 'function'
  )
    return undefined;
  const server = internals._server;
  const countable =
    server !== null && typeof server === 'object' && typeof server._connections === 'number';
  if (options.keepServerCount === true && !countable) return undefined;
  const adopted = new Socket({
    handle,
    readable: true,
    writable: true,
    // As the server made the accepted one (http.Server's are half-open).
    allowHalfOpen: accepted.allowHalfOpen,
    readableHighWaterMark: accepted.readableHighWaterMark,
    writableHighWaterMark: accepted.writableHighWaterMark,
    onread: {
      buffer,
      callback: (bytes: number, buf: Uint8Array) => onRead((buf as Buffer).subarray(0, bytes)),
    },
  } as ConstructorParameters<typeof Socket>[0]);
  // The old wrapper must not close the handle it no longer owns.
  internals._handle = null;
  // A socket whose first read could not start is destroyed already, uncounted: the accepted one
  // keeps the count and gives it up below.
  if (options.keepServerCount === true && !adopted.destroyed) {
    // The connection stays counted by net.Server (its maxConnections, its close()), now through
    // the adopted socket, which uncounts it when destroyed as the accepted one would have.
    (adopted as unknown as AcceptedSocketInternals)._server = server;
    internals._server = null;
  }
  // Destroying the old wrapper without a handle only settles net.Server's count when it still
  // holds it (the memcached listener tracks adopted sockets itself).
  accepted.destroy();
  return adopted;
}

export interface AdoptOptions {
  /**
   * Keep the connection in net.Server's count (`maxConnections`, `close()`, `getConnections`):
   * the adopted socket takes the accepted one's place there. Without the count internals Node has
   * kept since its first versions, the socket is not adopted (undefined).
   */
  readonly keepServerCount?: boolean;
}

/** The parts of an accepted Socket's internals this relies on (checked at run time). */
interface AcceptedSocketInternals {
  _handle: { readStart?: unknown; useUserBuffer?: unknown } | null;
  _server: { _connections?: unknown } | null;
}
