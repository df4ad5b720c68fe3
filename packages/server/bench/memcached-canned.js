// The ceiling for bench/memcached.js: a Node server that answers memaslap's get and set with canned
// replies — no cache, no protocol beyond finding lines and skipping data blocks — over the node's
// own read path (one shared read buffer via `onread`) and write path (each connection's replies
// in one latin1 write per event-loop turn, straight to the socket's handle). What dcache reaches of this is what its protocol and
// cache cost; what this reaches of memcached is what one Node thread costs. Prints "PORT <n>".
import { Buffer } from 'node:buffer';
import { createServer } from 'node:net';
import { setImmediate } from 'node:timers';
import { handleOutlet } from '../dist/memcached/handle-outlet.js';
import { adoptWithSharedReadBuffer } from '../dist/sockets/shared-buffer-reads.js';

const VALUE_BYTES = Number(process.env.DCACHE_BENCH_VALUE_BYTES ?? 100);
const HIT_TAIL = ` 0 ${VALUE_BYTES}\r\n${'x'.repeat(VALUE_BYTES)}\r\nEND\r\n`;
const LF = 0x0a;
const SPACE = 0x20;

const readBuffer = Buffer.allocUnsafe(64 * 1024);
/** Connections with replies to write at the end of this turn. */
const queued = new Set();
let scheduled = false;
const flushAll = () => {
  scheduled = false;
  for (const conn of queued) conn.flush();
  queued.clear();
};

class CannedConnection {
  outlet = undefined;
  socket = undefined;
  out = '';
  /** Data-block bytes still to skip. */
  skip = 0;
  /** A partial line carried to the next read. */
  rest = undefined;

  receive(chunk) {
    let buf = chunk;
    if (this.rest !== undefined) {
      buf = Buffer.concat([this.rest, chunk]);
      this.rest = undefined;
    }
    let pos = 0;
    while (pos < buf.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length - pos);
        this.skip -= n;
        pos += n;
        continue;
      }
      const nl = buf.indexOf(LF, pos);
      if (nl === -1) break;
      const line = pos;
      pos = nl + 1;
      if (buf[line] === 0x67) {
        // get <key>
        this.out += `VALUE ${buf.latin1Slice(line + 4, nl - 1)}${HIT_TAIL}`;
      } else {
        // set <key> <flags> <exptime> <bytes>: skip the data block, answer STORED.
        const sp = buf.lastIndexOf(SPACE, nl);
        this.skip = Number(buf.latin1Slice(sp + 1, nl - 1)) + 2;
        this.out += 'STORED\r\n';
      }
    }
    if (pos < buf.length) this.rest = Buffer.from(buf.subarray(pos));
    queued.add(this);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flushAll);
    }
  }

  flush() {
    if (this.out === '' || this.socket.destroyed) return;
    this.outlet.latin1(this.out);
    this.out = '';
  }
}

const server = createServer({ pauseOnConnect: true }, (accepted) => {
  const conn = new CannedConnection();
  const socket = adoptWithSharedReadBuffer(accepted, readBuffer, (chunk) => conn.receive(chunk));
  if (socket === undefined) throw new Error('this Node does not allow the shared read buffer');
  conn.socket = socket;
  conn.outlet = handleOutlet(socket, () => {});
  if (conn.outlet === undefined) throw new Error('this Node does not allow writing to the handle');
  socket.setNoDelay(true);
  socket.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`PORT ${server.address().port}\n`);
});
const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
