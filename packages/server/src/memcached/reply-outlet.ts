import type { Socket } from 'node:net';

/**
 * Where a connection's replies are handed over: the socket's own write path
 * ({@link SocketOutlet}), or straight to its native handle (handle-outlet.ts).
 */
export interface ReplyOutlet {
  /** Hands `text` over as latin1 bytes; false when the connection must wait before producing more. */
  latin1(text: string): boolean;
  /** Hands `parts` over in order, as one write where it can; false as for {@link latin1}. */
  buffers(parts: readonly Buffer[]): boolean;
  /** Bytes handed over that the kernel has not taken yet. */
  readonly queued: number;
  /** True from a false return until what was queued has gone to the kernel. */
  readonly blocked: boolean;
}

/** Writes through the socket's Writable stream ('drain' ends a false return). */
export class SocketOutlet implements ReplyOutlet {
  constructor(
    private readonly socket: Socket,
    /** Runs as each write has been handed to the kernel. */
    private readonly written?: () => void,
  ) {}

  latin1(text: string): boolean {
    return this.socket.write(text, 'latin1', this.written);
  }

  buffers(parts: readonly Buffer[]): boolean {
    const socket = this.socket;
    const last = parts.length - 1;
    if (last === 0) return socket.write(parts[0]!, this.written);
    socket.cork();
    let ok = true;
    for (let i = 0; i <= last; i++) {
      ok = i === last ? socket.write(parts[i]!, this.written) : socket.write(parts[i]!);
    }
    socket.uncork();
    return ok;
  }

  get queued(): number {
    const queued = this.socket.writableLength;
    return queued > 0 ? queued : 0;
  }

  get blocked(): boolean {
    return this.socket.writableNeedDrain;
  }
}
