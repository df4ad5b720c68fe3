/* global URL, Buffer, setTimeout, clearTimeout */
// Bench only, never shipped: a batch request as a hand-written HTTP/1.1 exchange on one keep-alive
// socket per node (requests written whole, answers matched in order and framed by content-length),
// to measure in the client benchmark what the batched data path would gain without undici. The
// client uses undici: the project takes a well-kept library over hand-written code, and issue #19
// let the batch path go as far as undici's dispatcher. This puts a number on that decision.
import { connect } from 'node:net';

/** One keep-alive connection to a node; requests may be pipelined, answers come back in order. */
export class HandWrittenConnection {
  #socket;
  #pending = [];
  #buffered = null;
  #host;
  #port;
  #hostHeader;

  constructor(origin) {
    const url = new URL(origin);
    this.#host = url.hostname;
    this.#port = Number(url.port || 80);
    this.#hostHeader = url.host;
  }

  /**
   * POST /v1/batch with `fields` (header lines, each ending in CRLF) and `body`; resolves to
   * `{ status, body, clock }` once the whole answer is in, rejects on a connection error or after
   * `timeoutMs` (which closes the connection, as undici does with an aborted request).
   */
  request(fields, body, timeoutMs) {
    const socket = this.#socket ?? this.#open();
    const head = `POST /v1/batch HTTP/1.1\r\nhost: ${this.#hostHeader}\r\n${fields}content-length: ${body.length}\r\n\r\n`;
    const bytes = Buffer.allocUnsafe(head.length + body.length);
    bytes.write(head, 0, 'latin1');
    bytes.set(body, head.length);
    socket.write(bytes);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          this.#drop(
            socket,
            new Error(`no answer from ${this.#hostHeader} within ${timeoutMs} ms`),
          ),
        timeoutMs,
      );
      this.#pending.push({ resolve, reject, timer });
    });
  }

  close() {
    this.#socket?.destroy();
  }

  #open() {
    const socket = connect({ host: this.#host, port: this.#port, noDelay: true });
    socket.on('data', (chunk) => this.#take(chunk));
    socket.on('error', (error) => this.#drop(socket, error));
    socket.on('close', () =>
      this.#drop(socket, new Error(`connection to ${this.#hostHeader} closed`)),
    );
    this.#socket = socket;
    return socket;
  }

  /**
   * Gives up the connection and fails what waits on it. Only the current one: a connection dropped
   * earlier (timed out) may close after the next has taken new requests.
   */
  #drop(socket, error) {
    if (this.#socket !== socket) return;
    this.#socket = undefined;
    socket.destroy();
    const pending = this.#pending;
    this.#pending = [];
    this.#buffered = null;
    for (const { reject, timer } of pending) {
      clearTimeout(timer);
      reject(error);
    }
  }

  #take(chunk) {
    let unread = this.#buffered === null ? chunk : Buffer.concat([this.#buffered, chunk]);
    for (;;) {
      const end = unread.indexOf('\r\n\r\n');
      if (end === -1) break;
      const head = unread.toString('latin1', 0, end);
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (unread.length < end + 4 + length) break;
      const clock = /\r\ndcache-clock: *(\d+)/i.exec(head)?.[1];
      // Copied out (the chunk may hold the next answer), as a plain Uint8Array as undici's path
      // hands msgpackr: bins then come back as Uint8Array too.
      const body = new Uint8Array(unread.subarray(end + 4, end + 4 + length));
      unread = unread.subarray(end + 4 + length);
      const pending = this.#pending.shift();
      if (pending === undefined) continue;
      clearTimeout(pending.timer);
      pending.resolve({
        status: Number(head.slice(9, 12)),
        body,
        clock: clock === undefined ? undefined : Number(clock),
      });
    }
    this.#buffered = unread.length === 0 ? null : Buffer.from(unread);
  }
}

/** One batch by hand, with the checks the client's transport makes of an answer. */
async function exchange(connection, ringNodes, node, ops, timeout, wire) {
  const ringField = ringNodes >= 2 ? `dcache-ring-nodes: ${ringNodes}\r\n` : '';
  const fields = `content-type: application/msgpack\r\n${ringField}`;
  const answer = await connection.request(fields, wire.encodeBatch(ops), timeout);
  if (answer.status < 200 || answer.status > 299)
    throw new Error(`${node} answered ${answer.status}`);
  const results = wire.decodeBatch(answer.body, ops.length);
  if (results === undefined) throw new Error(`${node}: batch answer does not hold ${ops.length}`);
  return results;
}

/**
 * Makes the clients built inside `build()` send their batches through a
 * {@link HandWrittenConnection} per node instead of undici; every other client keeps its transport.
 * `transport` and `wire` are the client build's `dist/transport.js` and `dist/wire.js` modules. The swapped `batch` keeps the original's
 * contract for the benchmark's traffic (results decoded, a non-2xx answer thrown), but does not
 * show node clocks to the client's stamp clock (its private hook): one call per batch left out.
 */
export function handWrittenTransports(transport, wire) {
  const { Transport } = transport;
  const chosen = new WeakMap();
  const connections = [];
  let building = false;
  const { ringNodes, batch } = Transport.prototype;
  // A client's cluster tells its new transport the ring's size as it is made.
  Transport.prototype.ringNodes = function ringNodesNoted(count) {
    const own = chosen.get(this);
    if (own !== undefined) own.count = count;
    else if (building) chosen.set(this, { count, byNode: new Map() });
    return ringNodes.call(this, count);
  };
  // Not async itself: the undici clients' batches pass through without an extra promise.
  Transport.prototype.batch = function batchByHand(node, ops, timeout = 10_000) {
    const own = chosen.get(this);
    if (own === undefined) return batch.call(this, node, ops, timeout);
    let connection = own.byNode.get(node);
    if (connection === undefined) {
      connection = new HandWrittenConnection(node);
      own.byNode.set(node, connection);
      connections.push(connection);
    }
    return exchange(connection, own.count, node, ops, timeout, wire);
  };
  return {
    build(make) {
      building = true;
      try {
        return make();
      } finally {
        building = false;
      }
    },
    close() {
      for (const connection of connections) connection.close();
    },
  };
}
