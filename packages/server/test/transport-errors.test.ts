import { EventEmitter } from 'node:events';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createNodeState, nodeStore } from '../src/http/app.js';
import { resolveOptions } from '../src/options.js';
import { statsSnapshot } from '../src/observability/stats.js';
import { clientErrorResponder } from '../src/http/transport-errors.js';
import type { RunningNode } from './helpers.js';
import { startNode } from './helpers.js';
import type { CliNode } from './cli-node.js';
import { startCliNode, stopCliNodes } from './cli-node.js';

function cliPort(node: CliNode): number {
  return Number(new URL(node.url).port);
}

/** Sends raw bytes (one per character) on a fresh connection; resolves with all it wrote back. */
function exchange(port: number, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', reject);
    // The server closes these connections itself; ending our side too would race it.
    socket.on('close', () => resolve(answer));
    // Byte for byte: a msgpack body is not UTF-8.
    socket.write(raw, 'latin1');
  });
}

function parse(answer: string): { status: number; headers: string; body: unknown } {
  const split = answer.indexOf('\r\n\r\n');
  const head = answer.slice(0, split);
  return {
    status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]),
    headers: head.toLowerCase(),
    body: JSON.parse(answer.slice(split + 4)) as unknown,
  };
}

/** Requests @hono/node-server cannot turn into a web Request: [name, raw]. */
const UNPARSABLE_BY_HONO: [string, string][] = [
  [
    'a backslash in the path',
    'GET /v1/keys/a\\b HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
  ],
  ['HTTP/1.0 without Host', 'GET /healthz HTTP/1.0\r\n\r\n'],
  // Node's own 400 for it has an empty body: the node lets it through to the adapter.
  ['HTTP/1.1 without Host', 'GET /v1/keys/a HTTP/1.1\r\nConnection: close\r\n\r\n'],
  [
    'a batch without Host',
    'POST /v1/batch HTTP/1.1\r\nContent-Type: application/msgpack\r\nContent-Length: 1\r\n' +
      'Connection: close\r\n\r\nx',
  ],
];

/** Requests Node's parser refuses: [name, raw, status, code]. */
const UNPARSABLE_BY_NODE: [string, string, number, string][] = [
  ['a malformed request line', 'NOT HTTP AT ALL\r\n\r\n', 400, 'bad_request'],
  ['a malformed header', 'GET /healthz HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n', 400, 'bad_request'],
  [
    'headers over the limit',
    `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    431,
    'too_large',
  ],
];

describe('requests the app never sees still get the JSON error shape', () => {
  let node: RunningNode;
  beforeAll(async () => {
    node = await startNode();
  });
  afterAll(() => node.close());

  it.each(UNPARSABLE_BY_HONO)('%s: 400 bad_request from @hono/node-server', async (_name, raw) => {
    const { status, headers, body } = parse(await exchange(node.address.port, raw));
    expect(status).toBe(400);
    expect(headers).toContain('content-type: application/json');
    expect(body).toEqual({ error: { code: 'bad_request', message: expect.any(String) } });
  });

  it.each(UNPARSABLE_BY_NODE)(
    "%s: Node's clientError, answered %i %s and closed",
    async (_name, raw, code, name) => {
      const { status, headers, body } = parse(await exchange(node.address.port, raw));
      expect(status).toBe(code);
      expect(headers).toContain('content-type: application/json');
      expect(headers).toContain('connection: close');
      expect(body).toEqual({ error: { code: name, message: expect.any(String) } });
    },
  );

  it('an Expect other than 100-continue: 417 expectation_failed, in JSON', async () => {
    const raw =
      'PUT /v1/keys/e HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: foo\r\nContent-Length: 1\r\n' +
      'Connection: close\r\n\r\nx';
    const { status, headers, body } = parse(await exchange(node.address.port, raw));
    expect(status).toBe(417);
    expect(headers).toContain('content-type: application/json');
    expect(body).toEqual({ error: { code: 'expectation_failed', message: expect.any(String) } });
    expect((await fetch(`${node.url}/v1/keys/e`)).status).toBe(404);
  });

  it('counts them per status and keeps serving', async () => {
    const own = await startNode();
    try {
      for (const [, raw] of [...UNPARSABLE_BY_HONO, ...UNPARSABLE_BY_NODE]) {
        await exchange(own.address.port, raw);
      }
      const { errors } = (await (await fetch(`${own.url}/v1/stats`)).json()) as {
        errors: Record<string, number>;
      };
      expect(errors).toEqual({ 400: 6, 431: 1 });
      expect((await fetch(`${own.url}/healthz`)).status).toBe(200);
    } finally {
      await own.close();
    }
  });
});

describe("Node's clientError on a request the app already has, or behind a response under way", () => {
  afterEach(() => stopCliNodes());

  /** A key write and a batch, each with a bad chunk size after a good chunk. */
  const BAD_CHUNKS: [string, string][] = [
    ['PUT /v1/keys/a', 'PUT /v1/keys/a HTTP/1.1\r\nHost: 127.0.0.1\r\n'],
    [
      'POST /v1/batch',
      'POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/msgpack\r\n',
    ],
  ];

  it.each(BAD_CHUNKS)(
    '%s: a bad chunk size inside the body is a JSON 400, counted once by the request that owns it',
    async (_name, head) => {
      const node = await startCliNode();
      const raw = `${head}Transfer-Encoding: chunked\r\n\r\n1\r\n\x91\r\nzz\r\n`;
      const answer = parse(await exchange(cliPort(node), raw));
      expect(answer.status).toBe(400);
      expect(answer.headers).toContain('connection: close');
      expect(answer.body).toMatchObject({ error: { code: 'bad_request' } });
      const { errors } = (await (await fetch(`${node.url}/v1/stats`)).json()) as {
        errors: Record<string, number>;
      };
      expect(errors).toEqual({ 400: 1 });
      expect((await fetch(`${node.url}/v1/keys/a`)).status).toBe(404);
    },
  );
});

describe('a request with more than one Host header (RFC 9112 §3.2)', () => {
  afterEach(() => stopCliNodes());

  /** Each door a request can reach: [name, request line and headers before Host, body]. */
  const DOORS: [string, string, string][] = [
    ['GET /healthz', 'GET /healthz HTTP/1.1\r\n', ''],
    ['GET /v1/keys/a (the GET fast path)', 'GET /v1/keys/a HTTP/1.1\r\n', ''],
    ['PUT /v1/keys/a', 'PUT /v1/keys/a HTTP/1.1\r\nContent-Length: 1\r\n', 'x'],
    [
      'POST /v1/batch (the lane hands it to Node)',
      'POST /v1/batch HTTP/1.1\r\nContent-Type: application/msgpack\r\nContent-Length: 1\r\n',
      '\x90',
    ],
  ];

  it('is a JSON 400 at every door, closes, changes nothing and is counted', async () => {
    const node = await startCliNode();
    const port = cliPort(node);
    expect((await fetch(`${node.url}/v1/keys/kept`, { method: 'PUT', body: 'v' })).status).toBe(
      204,
    );
    // Pipelined behind the refused request, on its connection: neither may run (RFC 9112 §9.6).
    const behind =
      'DELETE /v1/keys/kept HTTP/1.1\r\nHost: localhost\r\n\r\n' +
      'PUT /v1/keys/late HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\n\r\nx';
    for (const [name, head, body] of DOORS) {
      for (const hosts of ['Host: localhost\r\nHost: b\r\n', 'Host: localhost\r\nhost: a\r\n']) {
        const raw = `${head}${hosts}\r\n${body}${behind}`;
        const answer = await exchange(port, raw);
        expect(answer.match(/^HTTP\/1\.1 /gm), name).toHaveLength(1);
        const { status, headers, body: error } = parse(answer);
        expect(status, name).toBe(400);
        expect(headers).toContain('connection: close');
        expect(error).toEqual({
          error: { code: 'bad_request', message: 'a request must carry exactly one Host header' },
        });
      }
    }
    expect((await fetch(`${node.url}/v1/keys/a`)).status).toBe(404);
    expect((await fetch(`${node.url}/v1/keys/late`)).status).toBe(404);
    expect(await (await fetch(`${node.url}/v1/keys/kept`)).text()).toBe('v');
    const { errors } = (await (await fetch(`${node.url}/v1/stats`)).json()) as {
      errors: Record<string, number>;
    };
    expect(errors).toEqual({ 400: 2 * DOORS.length });
    // One Host is served as before, the batch by the lane.
    const one = await exchange(
      port,
      `${DOORS[3]![1]}Host: localhost\r\nConnection: close\r\n\r\n\x90`,
    );
    expect(one).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('is seen past a thousand other header fields', async () => {
    const node = await startCliNode();
    const fillers = Array.from({ length: 1500 }, (_, i) => `x${i}: y\r\n`).join('');
    const raw = `GET /healthz HTTP/1.1\r\nHost: localhost\r\n${fillers}Host: b\r\nConnection: close\r\n\r\n`;
    expect(raw.length).toBeLessThan(16 * 1024); // within Node's default header size
    expect(parse(await exchange(cliPort(node), raw)).status).toBe(400);
    const one = `GET /healthz HTTP/1.1\r\nHost: localhost\r\n${fillers}Connection: close\r\n\r\n`;
    expect(await exchange(cliPort(node), one)).toMatch(/^HTTP\/1\.1 200 /);
  });
});

describe('a request Node cannot parse, pipelined behind requests it can', () => {
  afterEach(() => stopCliNodes());

  /** Answers' status lines, in order (a body holds no "HTTP/1.1 " here). */
  const statuses = (answer: string) =>
    [...answer.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
  const duplicateLength =
    'GET /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx';

  it("is answered after them: its 400 never takes the place of an earlier request's answer", async () => {
    const node = await startCliNode();
    const put = 'PUT /v1/keys/k HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello';
    const answer = await exchange(cliPort(node), put + duplicateLength);
    // The PUT ran: the client must read its 204, not a 400 about the next request's bytes.
    expect(await (await fetch(`${node.url}/v1/keys/k`)).text()).toBe('hello');
    expect(statuses(answer)).toEqual(['204', '400']);
    expect(answer).toContain('Duplicate Content-Length');
  });

  it('is answered after them also when its body is what Node cannot parse (a bad chunk)', async () => {
    const node = await startCliNode();
    const put = 'PUT /v1/keys/k HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello';
    const badChunk =
      'PUT /v1/keys/c HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n';
    const answer = await exchange(cliPort(node), put + badChunk);
    // The PUT ran: its client must get its 204, not a connection closed without a word.
    expect(await (await fetch(`${node.url}/v1/keys/k`)).text()).toBe('hello');
    expect(statuses(answer)).toEqual(['204', '400']);
    expect((await fetch(`${node.url}/v1/keys/c`)).status).toBe(404);
  });

  it('is answered after an earlier answer already under way (headers out), which goes out whole first', async () => {
    const node = await startCliNode();
    const value = 'v'.repeat(900 * 1024);
    expect((await fetch(`${node.url}/v1/keys/big`, { method: 'PUT', body: value })).status).toBe(
      204,
    );
    const get = 'GET /v1/keys/big HTTP/1.1\r\nHost: localhost\r\n\r\n';
    const answer = await exchange(cliPort(node), get + duplicateLength);
    expect(statuses(answer)).toEqual(['200', '400']);
    expect(answer).toContain(value);
  });
});

describe('clientErrorResponder', () => {
  function setUp(extra: { _httpMessage?: unknown; parser?: unknown }) {
    const options = resolveOptions({ logLevel: 'silent' });
    const state = createNodeState(options, nodeStore(options));
    const written: string[] = [];
    const socket = Object.assign(
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          written.push(chunk.toString('latin1'));
          callback();
        },
      }),
      extra,
    ) as unknown as Duplex;
    const error = Object.assign(new Error('Parse Error: Invalid method'), {
      code: 'HPE_INVALID_METHOD',
    });
    clientErrorResponder(state)(error, socket);
    return { written, socket, errors: statsSnapshot(state).errors };
  }

  it('answers a request nobody saw when no response is under way, and counts it', () => {
    const { written, errors } = setUp({ _httpMessage: null });
    expect(written.join('')).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(errors).toEqual({ 400: 1 });
  });

  for (const headerSent of [false, true]) {
    it(`answers a bad request behind an earlier one only once that one's answer (headers ${headerSent ? 'out' : 'not out'}) has gone`, () => {
      const earlier = Object.assign(new EventEmitter(), { _headerSent: headerSent });
      const { written, socket, errors } = setUp({ _httpMessage: earlier });
      expect(written).toEqual([]);
      expect(socket.destroyed).toBe(false);
      expect(errors).toEqual({ 400: 1 });
      // Node's server detaches a finished answer before the listeners added after its own run.
      (socket as unknown as { _httpMessage: unknown })._httpMessage = null;
      earlier.emit('finish');
      expect(written.join('')).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    });
  }

  it('answers a request whose body was arriving, leaving the count to the app', () => {
    const incoming = { complete: false };
    const { written, errors } = setUp({
      parser: { incoming },
      _httpMessage: { _headerSent: false, req: incoming },
    });
    expect(written.join('')).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(errors).toEqual({});
  });

  it('writes nothing after the app answered a request whose body was arriving (a 413 while it drains)', () => {
    const incoming = { complete: false };
    const { written, socket, errors } = setUp({
      parser: { incoming },
      _httpMessage: { _headerSent: true, req: incoming },
    });
    expect(written).toEqual([]);
    expect(socket.destroyed).toBe(true);
    expect(errors).toEqual({});
  });

  it("answers a body arriving behind an earlier pipelined request once that one's answer has gone", () => {
    const incoming = { complete: false };
    const earlier = Object.assign(new EventEmitter(), {
      _headerSent: false,
      req: { complete: true },
    });
    const { written, socket, errors } = setUp({ parser: { incoming }, _httpMessage: earlier });
    // Cut now, the earlier request (a PUT already stored) would get no answer at all.
    expect(written).toEqual([]);
    expect(socket.destroyed).toBe(false);
    // Node's server hands the socket to the next answer, this request's, as the earlier finishes.
    (socket as unknown as { _httpMessage: unknown })._httpMessage = {
      _headerSent: false,
      req: incoming,
    };
    earlier.emit('finish');
    expect(written.join('')).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(errors).toEqual({});
  });

  it('counts a bad request after a complete one on the same connection', () => {
    const { written, errors } = setUp({ parser: { incoming: { complete: true } } });
    expect(written.join('')).toMatch(/^HTTP\/1\.1 400 /);
    expect(errors).toEqual({ 400: 1 });
  });
});
