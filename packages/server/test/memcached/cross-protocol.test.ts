import { once } from 'node:events';
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startCliNode, stopCliNodes } from '../cli-node.js';
import type { CliNode } from '../cli-node.js';
import { RawClient } from './helpers.js';

/**
 * What reaches the memcached port that is not memcached: HTTP requests (a web page can make a
 * browser send a token-less `text/plain` POST to 127.0.0.1 without a CORS preflight) and binary
 * protocol clients. Against a node started through the CLI, with the replies memcached 1.6.18
 * gives (checked against the real binary).
 */
let node: CliNode;
const TOKEN = 'secret';

beforeAll(async () => {
  node = await startCliNode(['--token', TOKEN, '--memcached-port', '0', '--log-level', 'silent']);
}, 30_000);
afterAll(() => stopCliNodes());

async function connect(): Promise<RawClient> {
  const client = new RawClient(node.memcached!.port);
  await client.ready();
  return client;
}

/** A miss whose reply echoes a unique opaque: it ends every reply on a surviving connection. */
const MARKER = 'mg __marker Oend\r\n';
const MARKER_REPLY = 'EN Oend\r\n';

/** Sends `data` on a fresh connection: what came back, and whether the node hung up. */
async function sendOnce(data: string | Buffer): Promise<{ reply: string; closed: boolean }> {
  const client = await connect();
  try {
    // A marker after the data: answered only if the connection survived it.
    client.send(data);
    client.send(MARKER);
    const reply = await client.until(MARKER_REPLY);
    return { reply, closed: client.closed };
  } finally {
    client.close();
  }
}

function http(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${node.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, ...init.headers },
  });
}

describe('HTTP sent to the memcached port', () => {
  test('the token-less text/plain POST from the issue is hung up on: nothing flushed, nothing written', async () => {
    expect((await http('/v1/keys/kept', { method: 'PUT', body: 'still here' })).status).toBe(204);
    const body = 'flush_all\r\nset evil 0 0 4\r\npwnd\r\n';
    const request =
      'POST / HTTP/1.1\r\n' +
      `Host: 127.0.0.1:${node.memcached!.port}\r\n` +
      'Content-Type: text/plain\r\n' +
      `Content-Length: ${body.length}\r\n` +
      'Origin: http://attacker.example\r\n' +
      '\r\n' +
      body;
    const client = await connect();
    client.send(request);
    expect(await client.until('\u0000never')).toBe('');
    expect(client.closed).toBe(true);
    client.close();

    const kept = await http('/v1/keys/kept');
    expect(kept.status).toBe(200);
    expect(await kept.text()).toBe('still here');
    expect((await http('/v1/keys/evil')).status).toBe(404);
  });

  test.each([
    'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
    'POST /x HTTP/1.0\r\n\r\n',
    'PUT /v1/keys/a HTTP/1.1\r\n',
    'OPTIONS * HTTP/1.1\r\n',
    'HEAD / HTTP/1.1\r\n',
    'DELETE /v1/keys/a HTTP/1.1\r\n',
    'CONNECT 127.0.0.1:80 HTTP/1.1\r\n',
    'PATCH / HTTP/1.1\r\n',
    'TRACE / HTTP/1.1\r\n',
    'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
    'GET / HTTP/1.1\n',
    'GET  /  HTTP/1.1\r\n',
    'GET HTTP/1.1\r\n',
    'GET / HTTP/1.1\r\r\n',
    'FOO /x HTTP/9\r\n',
    'HTTP/1.1\r\n',
    'lrux HTTP/1.1\r\n',
    'wat HTTP/1.1\r\n',
  ])('%j closes the connection without a reply', async (line) => {
    expect(await sendOnce(line)).toEqual({ reply: '', closed: true });
  });

  test('commands earlier in the same read run, but their replies are dropped with the connection', async () => {
    expect(await sendOnce('set early 0 0 2\r\nok\r\nversion\r\nGET / HTTP/1.1\r\n')).toEqual({
      reply: '',
      closed: true,
    });
    expect(await sendOnce('get early\r\n')).toEqual({
      reply: `VALUE early 0 2\r\nok\r\nEND\r\n${MARKER_REPLY}`,
      closed: false,
    });
  });

  test.each([
    // memcached decides by the line's shape: these are memcached commands or plain errors.
    ['get / HTTP/1.1\r\n', 'END\r\n'],
    ['bget / HTTP/1.1\r\n', 'END\r\n'],
    ['GET foo\r\n', 'ERROR\r\n'],
    ['GET /\r\n', 'ERROR\r\n'],
    ['GET / http/1.1\r\n', 'ERROR\r\n'],
    ['GET / HTTP/1.1 x\r\n', 'ERROR\r\n'],
    ['GET / HTTP\r\n', 'ERROR\r\n'],
    ['G / HTTP/1.1\r\n', 'ERROR\r\n'],
    ['HTTP/1.1 200 OK\r\n', 'ERROR\r\n'],
    ['sz / HTTP/1.1\r\n', 'ERROR\r\n'],
    ['replace / HTTP/1.1\r\n', 'ERROR\r\n'],
    ['mn HTTP/1.1\r\n', 'MN\r\n'],
    ['version HTTP/1.1\r\n', 'VERSION 1.6.18\r\n'],
    ['flush_all HTTP/1.1\r\n', 'CLIENT_ERROR invalid exptime argument\r\n'],
    // memcached's own commands of other initials, matched before its HTTP check.
    ['lru HTTP/1.1\r\n', 'ERROR\r\n'],
    ['lru_crawler metadump HTTP/1.1\r\n', 'ERROR\r\n'],
    ['watch fetchers HTTP/1.1\r\n', 'ERROR\r\n'],
    ['extstore HTTP/1.1\r\n', 'ERROR\r\n'],
  ])('%j is answered %j and the connection stays', async (line, reply) => {
    expect(await sendOnce(line)).toEqual({ reply: `${reply}${MARKER_REPLY}`, closed: false });
  });
});

describe('binary protocol sent to the text port', () => {
  /** A binary request: its 24-byte header (opcode, opaque) and `body` bytes. */
  function binaryRequest(opcode: number, opaque: number, body = Buffer.alloc(0)): Buffer {
    const header = Buffer.alloc(24);
    header[0] = 0x80;
    header[1] = opcode;
    header.writeUInt32BE(body.length, 8);
    header.writeUInt32BE(opaque, 12);
    return Buffer.concat([header, body]);
  }

  /** Reads `count` binary responses (header and body each) from `socket`. */
  function readResponses(socket: Socket, count: number): Promise<Buffer[]> {
    return new Promise((resolve, reject) => {
      let received = Buffer.alloc(0);
      const timer = setTimeout(() => reject(new Error(`no ${count} responses within 5 s`)), 5000);
      const onData = (chunk: Buffer): void => {
        received = Buffer.concat([received, chunk]);
        const responses: Buffer[] = [];
        let at = 0;
        while (received.length - at >= 24) {
          const end = at + 24 + received.readUInt32BE(at + 8);
          if (end > received.length) break;
          responses.push(received.subarray(at, end));
          at = end;
        }
        if (responses.length < count) return;
        clearTimeout(timer);
        socket.off('data', onData);
        resolve(responses);
      };
      socket.on('data', onData);
    });
  }

  test('every binary request is refused in the binary protocol (unknown command), and the connection stays', async () => {
    const socket = netConnect(node.memcached!.port, node.memcached!.host);
    await once(socket, 'connect');
    try {
      // A set with extras, key and value (its body passed over), split mid-header and mid-body,
      // then a version: one refusal each, with the request's opcode and opaque.
      const set = binaryRequest(0x01, 7, Buffer.alloc(8 + 1 + 5, 0x61));
      const version = binaryRequest(0x0b, 9);
      const both = Buffer.concat([set, version]);
      const replies = readResponses(socket, 2);
      for (const [from, to] of [
        [0, 10],
        [10, 30],
        [30, both.length],
      ] as const) {
        socket.write(both.subarray(from, to));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const [first, second] = await replies;
      for (const [reply, opcode, opaque] of [
        [first!, 0x01, 7],
        [second!, 0x0b, 9],
      ] as const) {
        expect(reply[0]).toBe(0x81);
        expect(reply[1]).toBe(opcode);
        expect(reply.readUInt16BE(6)).toBe(0x0081);
        expect(reply.readUInt32BE(12)).toBe(opaque);
      }
      expect(socket.destroyed).toBe(false);
      // Text after binary requests is not a binary request: hung up on.
      const closed = once(socket, 'close');
      socket.write('version\r\n'.repeat(3));
      await closed;
    } finally {
      socket.destroy();
    }
  });

  test('0x80 later on a text connection is just an unknown command', async () => {
    expect(await sendOnce(Buffer.from('version\r\n\x80version\r\n', 'latin1'))).toEqual({
      reply: `VERSION 1.6.18\r\nERROR\r\n${MARKER_REPLY}`,
      closed: false,
    });
  });
});
