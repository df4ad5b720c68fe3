import type { Socket } from 'node:net';
import type { MemcachedCredentials } from './auth-file.js';
import { authenticationLine, completeAuthentication } from './auth.js';
import { BinaryRefusal } from './binary-refusal.js';
import { executeLine } from './dispatch.js';
import type { Flushable, FlushScheduler } from './flush-scheduler.js';
import { InputCarry } from './input-carry.js';
import { completeMetaStore } from './meta-set.js';
import { refuseForMemory } from './no-memory.js';
import { handleOutlet } from './handle-outlet.js';
import { SocketOutlet } from './reply-outlet.js';
import type { ReplyOutlet } from './reply-outlet.js';
import { ReplyWriter } from './reply-writer.js';
import type { PendingStore, ProtocolShared, Session } from './session.js';
import { completeTextStore } from './storage-commands.js';
import type { Tokens } from './tokenize.js';
import type { InputBudget } from './input-budget.js';
import type { UnsentBudget } from './unsent-budget.js';

/** What a connection answers to beyond the protocol itself (the listener's settings). */
export interface ConnectionLimits {
  /** The node-wide budget of unsent reply bytes; without one, only the socket's 'drain' paces. */
  budget?: UnsentBudget;
  /**
   * Holds the parts of data blocks gathered across reads; a block that does not fit is refused
   * (`SERVER_ERROR out of memory storing object`) and the rest of it dropped as it arrives. It
   * holds `get` lines past MAX_LINE_BYTES too (the line being read, the keys left of a stopped
   * one, input waiting while reading is paused); a connection whose line does not fit is closed
   * (`SERVER_ERROR out of memory reading request`, as memcached says when it cannot grow a read
   * buffer). Without one, each connection may hold a block of up to `maxValueBytes` and a `get`
   * line of up to MAX_GET_LINE_BYTES.
   */
  input?: InputBudget;
  /**
   * With `input`: ms a connection may hold one block or line across reads before it is closed.
   * Only time spent reading counts: not while reading is paused for the client's replies.
   */
  inputTimeoutMs?: number;
  /** When set, the client must log in (ASCII authentication) before any other command. */
  credentials?: MemcachedCredentials;
}

/**
 * memcached closes a connection whose buffered input holds no newline after 2048 bytes, unless
 * it is a multi-key get (those lines may be long). We bound those too, so a flood of garbage
 * can never grow a connection's memory without limit.
 */
export const MAX_LINE_BYTES = 2048;
export const MAX_GET_LINE_BYTES = 1024 * 1024;
/** Replies buffered beyond this are written out mid-chunk, so one chunk cannot balloon memory. */
const FLUSH_THRESHOLD_BYTES = 256 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const BINARY_REQUEST_MAGIC = 0x80;
/** Refusals of binary requests a client may leave unread before it is hung up on. */
const MAX_UNREAD_REFUSAL_BYTES = 256 * 1024;

/**
 * One client connection: a streaming parser over the input chunks the listener hands to
 * {@link receive}. Lines are found with `indexOf`, commands run straight from the bytes, data
 * blocks are awaited whole (chunks are gathered and joined once), and all replies to one input
 * chunk leave in one write — or, given a {@link FlushScheduler} (the listener's), all replies to
 * the chunks of one event-loop turn, once every connection's input of that turn was processed.
 * While the socket's write buffer is full, or the connection holds more unsent reply bytes than
 * the {@link UnsentBudget} allows, reading pauses and unprocessed input waits; a multi-key get
 * stops between two values and finishes once the client has read (a never-reading client cannot
 * make one `get k k k …` line hold a reply per key).
 *
 * A chunk is only valid during the call (the listener may reuse one read buffer for every
 * socket), so whatever outlives it — a partial line, part of a data block — is copied.
 */
export class MemcachedConnection implements Session, Flushable {
  readonly out = new ReplyWriter();
  /** Input received but not yet processed (a partial line, or lines held back by back-pressure). */
  private readonly pending = new InputCarry();
  private waiting: PendingStore | undefined;
  private waitBytes = 0;
  /**
   * The parts of a data block gathered across reads, copied into blocks: a block trickled a byte
   * per read kept a Buffer per byte, ~80 bytes each the input budget did not count (20
   * connections took a node from 59 to 234 MiB in 8 s).
   */
  private readonly chunks = new InputCarry();
  private chunkBytes = 0;
  private swallowBytes = 0;
  private paused = false;
  private closing = false;
  private reportedWritten = 0;
  /** The rest of a multi-key get, as a command line, to run before any further input. */
  private deferred: Buffer | undefined;
  /** Unsent bytes last reported to the budget. */
  private accounted = 0;
  /** Bytes of long `get` lines (pending and deferred) reserved from the input budget. */
  private lineBytes = 0;
  private authenticated: boolean;
  private readonly budget: UnsentBudget | undefined;
  private readonly inputBudget: InputBudget | undefined;
  private readonly inputTimeoutMs: number;
  /**
   * Runs while the connection holds input across reads and is being read; cuts it off at
   * inputTimeoutMs. Stopped while reading is paused for output (see watchHolding).
   */
  private holdTimer: NodeJS.Timeout | undefined;
  /** A command or data block completed since the hold timer was last looked at. */
  private progressed = false;
  private readonly credentials: MemcachedCredentials | undefined;
  /** Where replies go: the socket's write path, or straight to its native handle. */
  private readonly outlet: ReplyOutlet;
  /** Owned by the flush scheduler (see Flushable). */
  flushQueued = false;
  /** Reply bytes in the kernel when {@link sending} last looked. */
  private lastSent = 0;
  /** A look at resuming is queued (see flush). */
  private resumeQueued = false;
  private readonly resumeLater = (): void => {
    this.resumeQueued = false;
    this.account();
    this.resumeIfRoom();
  };
  /** No input has arrived yet: the first byte tells a binary-protocol client apart. */
  private fresh = true;
  /** Set when the first byte was the binary request magic: every request is refused. */
  private binary: BinaryRefusal | undefined;

  constructor(
    readonly socket: Socket,
    readonly shared: ProtocolShared,
    /** Without one, the replies to each input chunk are written as soon as it is processed. */
    private readonly flushes?: FlushScheduler,
    limits: ConnectionLimits = {},
    /**
     * Write replies straight to the socket's native handle (handle-outlet.ts) when this Node
     * allows it; the listener asks for it on the sockets it reads through a shared buffer.
     */
    handleWrites = false,
  ) {
    this.budget = limits.budget;
    this.inputBudget = limits.input;
    this.inputTimeoutMs = limits.inputTimeoutMs ?? 0;
    this.credentials = limits.credentials;
    this.authenticated = limits.credentials === undefined;
    // Runs as each flush has been handed to the kernel: the budget follows the socket's queue.
    const written = limits.budget === undefined ? undefined : (): void => this.onWritten();
    this.outlet =
      (handleWrites && handleOutlet(socket, () => this.onWritten())) ||
      new SocketOutlet(socket, written);
    socket.setNoDelay(true);
    socket.on('drain', () => this.onDrain());
    // A reset by the peer is normal for a cache connection; 'close' follows and cleans up.
    socket.on('error', () => {});
    socket.once('close', () => {
      // Nothing runs after this: a look at resuming queued before it (a write's completion on
      // the next tick) would process held input and reserve its bytes again, for good.
      this.closing = true;
      this.pending.clear();
      this.budget?.change(-this.accounted);
      this.accounted = 0;
      this.deferred = undefined;
      this.dropChunks();
      this.inputBudget?.release(this.lineBytes);
      this.lineBytes = 0;
      this.watchHolding();
    });
  }

  expectData(pending: PendingStore, bytes: number): void {
    this.waiting = pending;
    this.waitBytes = bytes;
  }

  swallow(bytes: number): void {
    this.swallowBytes = bytes;
  }

  quit(): void {
    if (this.closing) return;
    this.end();
    // memcached closes the connection once quit's replies are written. end() alone half-closes it:
    // a client that keeps its side open would hold its connection slot and descriptor until it
    // closed it. 'finish' comes once libuv has shut down after the last reply.
    this.socket.once('finish', () => this.socket.destroy());
  }

  deferKeys(buf: Buffer, t: Tokens, first: number, next: number): boolean {
    if (!this.overLimit()) return false;
    const { maxKeyBytes } = this.shared;
    let bytes = 0;
    for (let i = 0; i < t.count; i++) {
      if (i >= first && i < next) continue;
      const n = t.ends[i]! - t.starts[i]!;
      // A bad key further on turns the whole reply into one error, which needs the reply so far.
      if (i >= next && n > maxKeyBytes) return false;
      bytes += n + 1;
    }
    const line = Buffer.allocUnsafe(bytes - 1);
    let at = 0;
    for (let i = 0; i < t.count; i++) {
      if (i >= first && i < next) continue;
      if (at > 0) line[at++] = 0x20;
      at += buf.copy(line, at, t.starts[i]!, t.ends[i]!);
    }
    this.deferred = line;
    this.pause();
    return true;
  }

  hangUp(): void {
    this.closing = true;
    this.pending.clear();
    this.waiting = undefined;
    this.deferred = undefined;
    this.socket.destroy();
  }

  /** Stops reading, sends what is queued and closes (used by `quit` and the listener's close). */
  end(): void {
    if (this.closing) return;
    this.closing = true;
    this.pending.clear();
    this.deferred = undefined;
    this.flush();
    this.socket.end();
  }

  /**
   * Whether reply bytes reached the kernel since the last call and the reply is not done (bytes
   * still queued, or keys of a stopped get left). Writes straight to the handle do not refresh
   * the socket's idle timer as its own writes do, so the listener asks before it kicks a
   * connection: one still taking in a long reply is not idle, one that stopped reading is.
   */
  sending(): boolean {
    const queued = this.outlet.queued;
    const sent = this.out.bytesWritten - queued;
    const moved = sent !== this.lastSent;
    this.lastSent = sent;
    return moved && (queued > 0 || this.deferred !== undefined);
  }

  /** Processes one input chunk; the chunk may be overwritten once this returns. */
  receive(chunk: Buffer): void {
    this.shared.counters.bytes_read += chunk.length;
    if (this.closing) return;
    if (this.fresh) {
      this.fresh = false;
      // memcached's binary protocol (request magic 0x80), which this port does not speak: each
      // request is refused in that protocol, not answered as text the client cannot parse.
      if (chunk[0] === BINARY_REQUEST_MAGIC) this.binary = new BinaryRefusal();
    }
    if (this.binary !== undefined) return this.refuseBinary(this.binary, chunk);
    const pending = this.pending;
    if (pending.length === 0) this.process(chunk, 0);
    else if (pending.searched === pending.length && chunk.indexOf(LF) === -1) {
      // The held line goes on without ending: nothing to run, so the read is appended alone.
      pending.append(chunk, true);
      if (this.overLong(pending.length, pending)) this.cutOff();
    } else {
      const searched = pending.searched;
      pending.append(chunk);
      this.process(pending.takeAll(), searched);
    }
    this.holdLines();
    this.watchHolding();
    if (this.flushes === undefined) this.flush();
    else this.flushes.add(this);
  }

  /**
   * Writes the refusals of the binary requests in `chunk`; hangs up on bytes that are not binary
   * requests, or on a client that sends faster than it reads them.
   */
  private refuseBinary(binary: BinaryRefusal, chunk: Buffer): void {
    const replies = binary.receive(chunk);
    if (replies === undefined || this.socket.writableLength > MAX_UNREAD_REFUSAL_BYTES) {
      this.hangUp();
      return;
    }
    if (replies.length > 0) this.socket.write(replies);
  }

  flushReplies(): void {
    this.flush();
  }

  abandon(): void {
    this.closing = true;
    this.socket.destroy();
  }

  private onDrain(): void {
    this.account();
    this.resumeIfRoom();
  }

  private onWritten(): void {
    this.account();
    this.resumeIfRoom();
  }

  /** Unsent bytes: replies not yet handed to the socket, and those the socket still queues. */
  private unsent(): number {
    return this.out.pendingBytes + this.outlet.queued;
  }

  private overLimit(): boolean {
    return this.budget !== undefined && this.unsent() >= this.budget.limit();
  }

  /** Reports the socket's queue to the budget (replies not yet handed over are reported at flush). */
  private account(): void {
    if (this.budget === undefined) return;
    const now = this.outlet.queued;
    this.budget.change(now - this.accounted);
    this.accounted = now;
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
    // Whatever input is held now waits for the client to READ, not to send: stop the clock (a
    // pause can come from a flush after the last watchHolding; resumeIfRoom re-arms it).
    this.stopHoldTimer();
  }

  private resumeIfRoom(): void {
    if (!this.paused || this.closing || this.outlet.blocked || this.overLimit()) return;
    this.paused = false;
    this.socket.resume();
    const rest = this.deferred;
    this.deferred = undefined;
    if (rest !== undefined) this.run(rest, 0, rest.length);
    if (this.pending.length > 0) {
      const searched = this.pending.searched;
      this.process(this.pending.takeAll(), searched);
    }
    this.holdLines();
    this.watchHolding();
    this.flush();
  }

  /**
   * Starts the clock when the connection begins to hold input across reads, stops it when it holds
   * none: a client that stalls mid-block or mid-line gives its bytes back at inputTimeoutMs,
   * however it trickles. A timer only for such connections.
   *
   * The clock runs only while the connection is being read. Paused for output (the socket's write
   * buffer full, or the connection over its unsent-reply budget), the node is the one not reading:
   * the client may well have sent the rest already, and held input — a pipeline's unprocessed
   * lines, the keys left of a stopped get, a block begun before the pause — waits for it to take
   * its replies, which with a slow reader can take longer than the timeout between two writes the
   * kernel accepts (a slow reader of a big pipeline was reset mid-read; memcached keeps it). The
   * clock starts afresh when reading resumes. A client that never reads is kept, as memcached
   * keeps it: it cannot send more while paused, what it holds is charged to the input budget
   * (holdLines, takeData), and the listener's idle timeout closes it when set.
   */
  private watchHolding(): void {
    const holding = !this.closing && (this.chunkBytes > 0 || this.lineBytes > 0);
    // The clock is per block or line: one that completed restarts it for the next, so a client
    // streaming values back to back (a block always in progress at the end of a read) is not cut.
    if (!holding || this.progressed || this.paused) this.stopHoldTimer();
    this.progressed = false;
    if (holding && !this.paused && this.holdTimer === undefined && this.inputTimeoutMs > 0) {
      this.holdTimer = setTimeout(() => {
        this.holdTimer = undefined;
        this.abandon();
      }, this.inputTimeoutMs);
      this.holdTimer.unref();
    }
  }

  private stopHoldTimer(): void {
    if (this.holdTimer === undefined) return;
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
  }

  /**
   * Reserves what the long `get` lines kept past this call hold (each line's bytes are reserved
   * only once they outlive the read that brought them); closes the connection when they do not fit.
   */
  private holdLines(): void {
    if (this.inputBudget === undefined) return;
    // The carry's blocks whole: the last one has room ahead of the line it holds.
    const pending = this.pending.length > MAX_LINE_BYTES ? this.pending.footprint : 0;
    const deferred = this.deferred !== undefined ? this.deferred.length : 0;
    const held = pending + (deferred > MAX_LINE_BYTES ? deferred : 0);
    if (held <= this.lineBytes) {
      this.inputBudget.release(this.lineBytes - held);
    } else if (!this.inputBudget.tryReserve(held - this.lineBytes)) {
      // Closed as an over-long line is (keep): a client that does not read cannot hold it open.
      this.out.ascii('SERVER_ERROR out of memory reading request\r\n');
      this.closing = true;
      this.pending.clear();
      this.deferred = undefined;
      this.flush();
      this.socket.destroy();
      this.inputBudget.release(this.lineBytes);
      this.lineBytes = 0;
      return;
    }
    this.lineBytes = held;
  }

  /** Runs the commands in `buf`; its first `searched` bytes are known to hold no newline. */
  private process(buf: Buffer, searched: number): void {
    let pos = 0;
    const length = buf.length;
    /** The loop stopped for want of a newline: what is left holds none. */
    let newlineFree = false;
    while (pos < length) {
      if (this.swallowBytes > 0) {
        const n = Math.min(this.swallowBytes, length - pos);
        this.swallowBytes -= n;
        pos += n;
        continue;
      }
      if (this.waiting !== undefined) {
        pos = this.takeData(buf, pos);
        continue;
      }
      if (this.paused || this.closing) break;
      const nl = buf.indexOf(LF, pos > searched ? pos : searched);
      searched = 0;
      if (nl === -1) {
        newlineFree = true;
        break;
      }
      const end = nl - pos > 1 && buf[nl - 1] === CR ? nl - 1 : nl;
      const start = pos;
      pos = nl + 1;
      this.run(buf, start, end);
      if (this.out.pendingBytes > FLUSH_THRESHOLD_BYTES) this.flush();
      if (this.overLimit()) this.pause();
    }
    if (pos < length && !this.closing) this.keep(buf.subarray(pos), newlineFree);
  }

  /** Runs one command; a failure of ours must not cost the client its connection. */
  private run(buf: Buffer, start: number, end: number): void {
    this.progressed = true;
    try {
      if (this.authenticated) executeLine(this, buf, start, end);
      else authenticationLine(this, buf, start, end);
    } catch {
      this.waiting = undefined;
      this.out.ascii('SERVER_ERROR internal error\r\n');
    }
  }

  /** Consumes data-block bytes from `buf` at `pos`; completes the store once all have arrived. */
  private takeData(buf: Buffer, pos: number): number {
    const need = this.waitBytes + 2;
    const have = buf.length - pos;
    let data: Buffer;
    if (this.chunkBytes === 0 && have >= need) {
      data = buf.subarray(pos, pos + need);
      pos += need;
    } else {
      const take = Math.min(need - this.chunkBytes, have);
      if (this.inputBudget !== undefined && !this.inputBudget.tryReserve(take)) {
        return this.refuseData(pos, need);
      }
      this.chunks.append(buf.subarray(pos, pos + take));
      this.chunkBytes += take;
      pos += take;
      if (this.chunkBytes < need) return pos;
      data = this.chunks.takeAll();
      this.dropChunks();
    }
    const pending = this.waiting!;
    this.waiting = undefined;
    this.progressed = true;
    try {
      if (pending.kind === 'text') completeTextStore(this, pending, data, this.waitBytes);
      else if (pending.kind === 'meta') completeMetaStore(this, pending, data, this.waitBytes);
      else if (this.credentials !== undefined)
        this.authenticated = completeAuthentication(this, this.credentials, data, this.waitBytes);
    } catch {
      this.out.ascii('SERVER_ERROR internal error\r\n');
    }
    return pos;
  }

  /** The node cannot hold the rest of this data block: answer now, and drop it as it arrives. */
  private refuseData(pos: number, need: number): number {
    const pending = this.waiting!;
    this.waiting = undefined;
    this.swallowBytes = need - this.chunkBytes;
    this.dropChunks();
    refuseForMemory(this, pending);
    return pos;
  }

  /** Forgets the parts of a data block gathered so far, returning their bytes to the budget. */
  private dropChunks(): void {
    this.inputBudget?.release(this.chunkBytes);
    this.chunks.clear();
    this.chunkBytes = 0;
  }

  /** Holds unprocessed input; closes the connection on an over-long line, as memcached does. */
  private keep(rest: Buffer, newlineFree: boolean): void {
    if (this.overLong(rest.length, rest)) return this.cutOff();
    this.pending.keep(rest, newlineFree);
  }

  /**
   * Whether `length` bytes held without a line end are past what a line may be (read, not held
   * for a pause): 2 KiB, or 1 MiB for a `get`/`gets` line. `held` gives its first bytes.
   */
  private overLong(length: number, held: Buffer | InputCarry): boolean {
    if (this.paused || length <= MAX_LINE_BYTES) return false;
    if (length > MAX_GET_LINE_BYTES) return true;
    return !isGetLine(held instanceof InputCarry ? held.head(GET_LINE_HEAD_BYTES) : held);
  }

  private cutOff(): void {
    this.closing = true;
    this.pending.clear();
    this.flush();
    this.socket.destroy();
  }

  private flush(): void {
    if (this.socket.destroyed) return;
    const wrote = this.out.pendingBytes > 0;
    const ok = this.out.flush(this.outlet);
    this.shared.counters.bytes_written += this.out.bytesWritten - this.reportedWritten;
    this.reportedWritten = this.out.bytesWritten;
    this.account();
    if (this.closing) return;
    if (!ok) this.pause();
    else if (wrote && this.paused && !this.resumeQueued) {
      // Paused for the budget and the kernel took everything at once: no completion will come
      // to resume it, so look again once this write is done (the socket's own path does the same
      // from its after-write tick).
      this.resumeQueued = true;
      process.nextTick(this.resumeLater);
    }
  }
}

/** isGetLine reads at most this many bytes: leading spaces, then `gets `. */
const GET_LINE_HEAD_BYTES = 106;

/** memcached lets only `get `/`gets ` lines (after at most 100 spaces) grow past 2048 bytes. */
function isGetLine(buf: Buffer): boolean {
  let i = 0;
  while (i < buf.length && buf[i] === 0x20) i++;
  if (i > 100) return false;
  const head = buf.toString('latin1', i, i + 5);
  return head.startsWith('get ') || head.startsWith('gets ');
}
