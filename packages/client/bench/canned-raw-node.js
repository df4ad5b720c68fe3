#!/usr/bin/env node
// A stand-in node for the client benchmark's ceiling row of the batch lane: a bare TCP server that
// reads HTTP/1.1 requests off the socket as the server's batch lane does (into one shared read
// buffer; no IncomingMessage or ServerResponse), decodes each `POST /v1/batch` with msgpackr and
// answers every get with the same hit and every set with "stored", holding nothing. The gap between
// the real nodes and three of these is the node's own work per operation; the gap to "canned Node
// HTTP nodes" is what Node's HTTP server costs per request.
// Usage: node bench/canned-raw-node.js <stamp>; prints "listening on http://127.0.0.1:<port>".
import { Buffer } from 'node:buffer';
import { createServer } from 'node:net';
import { Packr } from 'msgpackr';

// The lane's own way of reading a connection, from the server's build beside this package; without
// that build each connection is read the ordinary way (a little slower than the lane can read).
let adoptWithSharedReadBuffer = () => undefined;
try {
  ({ adoptWithSharedReadBuffer } =
    await import('../../server/dist/sockets/shared-buffer-reads.js'));
} catch {
  console.error(
    'canned-raw-node: @dcache/server is not built; reading connections the ordinary way',
  );
}

const packr = new Packr({ useRecords: false, int64AsType: 'auto' });
const stamp = Number(process.argv[2]);
// What a node answers for a hit on a 100-character string (the client's codec: msgpack, flags 256).
const hit = [200, packr.pack('v'.repeat(100)), 256, 1, null, stamp];
const HEAD_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:\s*(\d+)/i;

/** The answer to one request: a batch's results, `{}` for anything else (stats, health). */
function answer(head, body) {
  if (!head.startsWith('POST /v1/batch ')) {
    return 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}';
  }
  const ops = packr.unpack(body);
  const results = packr.pack(ops.map((op) => (op[0] === 'get' ? hit : [204, 1, op.at(-1)])));
  return Buffer.concat([
    Buffer.from(
      `HTTP/1.1 200 OK\r\ncontent-type: application/msgpack\r\ncontent-length: ${results.length}\r\n\r\n`,
      'latin1',
    ),
    results,
  ]);
}

// Every connection reads into one buffer, as the lane's do (whatever is kept past a read is copied).
const readBuffer = Buffer.allocUnsafe(64 * 1024);

const server = createServer({ noDelay: true, pauseOnConnect: true }, (accepted) => {
  let unread = null;
  const onRead = (chunk) => {
    unread = unread === null ? chunk : Buffer.concat([unread, chunk]);
    socket.cork();
    while (unread !== null) {
      const end = unread.indexOf(HEAD_END);
      if (end === -1) break;
      const head = unread.toString('latin1', 0, end);
      const total = end + 4 + Number(CONTENT_LENGTH.exec(head)?.[1] ?? 0);
      if (unread.length < total) break;
      socket.write(answer(head, unread.subarray(end + 4, total)));
      unread = unread.length === total ? null : unread.subarray(total);
    }
    socket.uncork();
    if (unread !== null && unread.buffer === readBuffer.buffer) unread = Buffer.from(unread);
  };
  const socket = adoptWithSharedReadBuffer(accepted, readBuffer, onRead) ?? accepted;
  if (socket === accepted) {
    socket.on('data', onRead);
    socket.resume();
  }
  socket.on('error', () => socket.destroy());
});
server.listen(0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
process.on('SIGINT', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
