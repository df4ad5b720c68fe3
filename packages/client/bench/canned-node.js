#!/usr/bin/env node
// A stand-in node for the client benchmark's ceiling row: Node's own HTTP server that decodes each
// `POST /v1/batch` with msgpackr and answers every get with the same hit and every set with
// "stored", holding nothing. What the client bench reads against three of these is the most any
// Node HTTP node could give this client: the gap to the real nodes is the node's own work, the
// gap to Redis is Node's HTTP server and the kernel under it.
// Usage: node bench/canned-node.js <stamp>; prints "listening on http://127.0.0.1:<port>".
import { Buffer } from 'node:buffer';
import { createServer } from 'node:http';
import { Packr } from 'msgpackr';

const packr = new Packr({ useRecords: false, int64AsType: 'auto' });
const stamp = Number(process.argv[2]);
// What a node answers for a hit on a 100-character string (the client's codec: msgpack, flags 256).
const value = packr.pack('v'.repeat(100));
const hit = [200, value, 256, 1, null, stamp];

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    if (req.url !== '/v1/batch') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
      return;
    }
    const ops = packr.unpack(Buffer.concat(chunks));
    const results = ops.map((op) => (op[0] === 'get' ? hit : [204, 1, op[op.length - 1]]));
    const body = packr.pack(results);
    res.writeHead(200, ['content-type', 'application/msgpack', 'content-length', `${body.length}`]);
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
process.on('SIGINT', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
