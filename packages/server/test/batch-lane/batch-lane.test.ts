import { unpack } from 'msgpackr';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EVENTUALLY } from '../eventually.js';
import { startCliNode, stopCliNodes } from '../cli-node.js';
import type { CliNode } from '../cli-node.js';
import {
  batchHead,
  batchRequest,
  closeRawConnections,
  connectRaw,
  parseAnswers,
  resultsOf,
} from './raw-http.js';
import type { RawAnswer } from './raw-http.js';

/**
 * The batch lane answers plain HTTP/1.1 `POST /v1/batch` requests from the socket's bytes, before
 * Node's HTTP server; everything else goes to that server, bytes untouched. Nodes here are started
 * through the CLI with its defaults, and spoken to over raw connections.
 */

afterEach(async () => {
  closeRawConnections();
  await stopCliNodes();
});

const bytes = (text: string) => new TextEncoder().encode(text);
const hostOf = (node: CliNode) => new URL(node.url).host;
/** A node started by the CLI with its defaults, and a raw connection to it. */
async function nodeAndConnection() {
  const node = await startCliNode();
  return { node, host: hostOf(node), connection: await connectRaw(node.url) };
}

/** A request that makes a connection Node's server's before anything else is sent on it. */
const healthz = (host: string) => Buffer.from(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\n\r\n`);

/** A node whose batches, values and bodies in flight are each limited to 1 KiB. */
function tightBodyBudgetNode(): Promise<CliNode> {
  return startCliNode([
    '--max-batch-bytes',
    '1kb',
    '--max-value-bytes',
    '1kb',
    '--max-inflight-body-bytes',
    '1kb',
  ]);
}

describe('the batch lane', () => {
  it('answers pipelined batches in order and keeps the connection, with the headers Node would send', async () => {
    const { host, connection } = await nodeAndConnection();
    connection.socket.write(
      Buffer.concat([
        batchRequest(host, [['set', 'a', bytes('1'), 0, null, null]]),
        batchRequest(host, [['get', 'a']]),
        batchRequest(host, [
          ['get', 'b'],
          ['delete', 'a'],
          ['get', 'a'],
        ]),
      ]),
    );
    const [set, get, after] = await connection.answers(3);
    for (const answer of [set!, get!, after!]) {
      expect(answer.status).toBe(200);
      expect(answer.headers).toMatchObject({
        'content-type': 'application/msgpack',
        connection: 'keep-alive',
        'keep-alive': 'timeout=5',
      });
      expect(Number(answer.headers['dcache-clock'])).toBeGreaterThan(2 ** 40);
      expect(Date.parse(answer.headers.date!)).not.toBeNaN();
    }
    // The node's start, the same on every answer until it restarts.
    expect(Number(set!.headers['dcache-start'])).toBeGreaterThan(2 ** 40);
    expect(new Set([set, get, after].map((answer) => answer!.headers['dcache-start'])).size).toBe(
      1,
    );
    expect(resultsOf(set!)).toEqual([[204, 'version', 'stamp']]);
    expect(resultsOf(get!)).toEqual([[200, '1', 0, 'version', null, 'stamp']]);
    expect(resultsOf(after!)).toEqual([
      [404, null, 'stamp'],
      [204, 'stamp'],
      [404, 'stamp', 'stamp'],
    ]);
    // Still open, and still answering.
    connection.socket.write(batchRequest(host, [['get', 'b']]));
    expect((await connection.answers(4))[3]!.status).toBe(200);
  });

  it('answers a batch that arrives a few bytes at a time as a whole one', async () => {
    const { host, connection } = await nodeAndConnection();
    connection.socket.setNoDelay(true);
    const request = batchRequest(host, [
      ['set', 'slow', bytes('x'.repeat(200)), 0, null, null],
      ['get', 'slow'],
    ]);
    for (let at = 0; at < request.length; at += 7) {
      connection.socket.write(request.subarray(at, at + 7));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const [answer] = await connection.answers(1);
    expect(answer!.status).toBe(200);
    expect(resultsOf(answer!)).toEqual([
      [204, 'version', 'stamp'],
      [200, 'x'.repeat(200), 0, 'version', null, 'stamp'],
    ]);
  });

  it("keeps a request's bytes whole while other connections are read: the lane's connections share one read buffer", async () => {
    const { node, host, connection: first } = await nodeAndConnection();
    const second = await connectRaw(node.url);
    first.socket.setNoDelay(true);
    second.socket.setNoDelay(true);
    const mine = batchRequest(host, [['set', 'mine', bytes('m'.repeat(300)), 0, null, null]]);
    const theirs = batchRequest(host, [['set', 'theirs', bytes('t'.repeat(300)), 0, null, null]]);
    // The first connection's head and part of its body wait on the node (its body bytes held in
    // the budget) while other connections' requests — this stats request's, then the second
    // connection's whole batch — are read into the same memory; then the rest arrives.
    const cut = mine.length - 100;
    first.socket.write(mine.subarray(0, cut));
    await vi.waitFor(async () => {
      const stats = (await (await fetch(`${node.url}/v1/stats`)).json()) as {
        inflight: { bodyBytes: number };
      };
      expect(stats.inflight.bodyBytes).toBeGreaterThan(0);
    }, EVENTUALLY);
    second.socket.write(theirs);
    await second.answers(1);
    first.socket.write(mine.subarray(cut));
    const [stored] = await first.answers(1);
    expect(resultsOf(stored!)).toEqual([[204, 'version', 'stamp']]);
    second.socket.write(
      batchRequest(host, [
        ['get', 'mine'],
        ['get', 'theirs'],
      ]),
    );
    const [read] = (await second.answers(2)).slice(1);
    expect(resultsOf(read!)).toEqual([
      [200, 'm'.repeat(300), 0, 'version', null, 'stamp'],
      [200, 't'.repeat(300), 0, 'version', null, 'stamp'],
    ]);
    // Stored after theirs, so the node's next version.
    const [mineRead, theirsRead] = unpack(read!.body) as [number, unknown, number, number][];
    expect(mineRead![3]).toBe(theirsRead![3] + 1);
  });

  it('hands the connection to Node at the first request it does not take; later batches are answered there', async () => {
    const { node, host, connection } = await nodeAndConnection();
    connection.socket.write(
      Buffer.concat([
        batchRequest(host, [['set', 'k', bytes('v'), 0, null, null]]),
        healthz(host),
        batchRequest(host, [['get', 'k']]),
      ]),
    );
    const [set, health, get] = await connection.answers(3);
    expect([set!.status, health!.status, get!.status]).toEqual([200, 200, 200]);
    expect(JSON.parse(health!.body.toString())).toMatchObject({ status: 'ok' });
    expect(resultsOf(get!)).toEqual([[200, 'v', 0, 'version', null, 'stamp']]);
    // The first batch on the lane, the second by Node's server; this stats request is handed over too.
    const stats = (await (await fetch(`${node.url}/v1/stats`)).json()) as Record<string, unknown>;
    expect(stats).toMatchObject({ requests: { batch: 2 }, batchLane: { batches: 1, handOffs: 2 } });
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    expect(metrics).toMatch(/^dcache_batch_lane_batches_total 1$/m);
    // At least the two above (the metrics request may have come on a connection of its own).
    const handOffs = Number(/^dcache_batch_lane_handoffs_total (\d+)$/m.exec(metrics)?.[1]);
    expect(handOffs).toBeGreaterThanOrEqual(2);
  });

  it('answers a batch as Node does on a connection it has taken', async () => {
    const node = await startCliNode();
    const host = hostOf(node);
    const request = batchRequest(host, [['get', 'missing'], ['nope', 'k'], ['get', ''], 'x']);
    const lane = await connectRaw(node.url);
    lane.socket.write(request);
    const [fromLane] = await lane.answers(1);
    const handed = await connectRaw(node.url);
    handed.socket.write(Buffer.concat([healthz(host), request]));
    const [, fromNode] = await handed.answers(2);
    const shape = (answer: RawAnswer) => ({
      status: answer.status,
      headers: Object.keys(answer.headers).sort(),
      type: answer.headers['content-type'],
      connection: answer.headers.connection,
      keepAlive: answer.headers['keep-alive'],
      results: resultsOf(answer),
    });
    expect(shape(fromLane!)).toEqual(shape(fromNode!));
  });

  it('ends the connection after answering a batch that asks for Connection: close', async () => {
    const node = await startCliNode();
    const connection = await connectRaw(node.url);
    connection.socket.write(batchRequest(hostOf(node), [['get', 'a']], ['Connection: close']));
    const [answer] = await connection.answers(1);
    expect(answer!.headers.connection).toBe('close');
    await connection.closed;
  });
});

describe('requests the lane leaves to Node: answered as on a connection Node already serves', () => {
  const TOKEN = 's3cret';
  const auth = `Authorization: Bearer ${TOKEN}`;
  const smuggled = (host: string) =>
    batchRequest(host, [['set', 'smuggled', bytes('!'), 0, null, null]]);

  /** Variants of an authorized batch; each must reach Node's server as sent. */
  const variants: [string, (host: string) => Buffer][] = [
    [
      'Content-Length and Transfer-Encoding (a smuggling attempt)',
      (host) => {
        const inner = smuggled(host);
        const body = Buffer.concat([Buffer.from('0\r\n\r\n'), inner]);
        return Buffer.concat([
          Buffer.from(
            `POST /v1/batch HTTP/1.1\r\nHost: ${host}\r\n${auth}\r\nContent-Type: application/msgpack\r\n` +
              `Content-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n\r\n`,
          ),
          body,
        ]);
      },
    ],
    [
      'two Content-Lengths',
      (host) => {
        const request = batchRequest(host, [['get', 'a']], [auth]).toString('latin1');
        return Buffer.from(request.replace('\r\n\r\n', '\r\nContent-Length: 1\r\n\r\n'), 'latin1');
      },
    ],
    [
      'no Host',
      (host) => withHead(batchRequest(host, [['get', 'a']], [auth]), /Host: [^\r]*\r\n/, ''),
    ],
    [
      'HTTP/1.0',
      (host) => withHead(batchRequest(host, [['get', 'a']], [auth]), 'HTTP/1.1', 'HTTP/1.0'),
    ],
    [
      'a lower-case method',
      (host) => withHead(batchRequest(host, [['get', 'a']], [auth]), 'POST', 'post'),
    ],
    [
      'a query string',
      (host) => withHead(batchRequest(host, [['get', 'a']], [auth]), '/v1/batch', '/v1/batch?x=1'),
    ],
    [
      'Expect: 100-continue',
      (host) => batchRequest(host, [['get', 'a']], [auth, 'Expect: 100-continue']),
    ],
    [
      'a header folded onto the next line',
      (host) => batchRequest(host, [['get', 'a']], [auth, 'X-Long: a', ' b']),
    ],
    [
      'a space before a colon',
      (host) => batchRequest(host, [['get', 'a']], [auth, 'X-Spaced : a']),
    ],
    [
      'a bare LF inside the head',
      (host) => batchRequest(host, [['get', 'a']], [auth, 'X-A: a\nX-B: b']),
    ],
    [
      'a signed Content-Length',
      (host) =>
        withHead(
          batchRequest(host, [['get', 'a']], [auth]),
          'Content-Length: ',
          'Content-Length: +',
        ),
    ],
    // llhttp refuses a tab after a Content-Length's digits (400), and does not read `close`
    // followed by one as close (it keeps the connection): trailing tabs are otherwise only space.
    [
      'a tab after the Content-Length',
      (host) =>
        withHead(batchRequest(host, [['get', 'a']], [auth]), /(Content-Length: \d+)/, '$1 \t'),
    ],
    [
      'Connection: close and a tab',
      (host) => batchRequest(host, [['get', 'a']], [auth, 'Connection: close\t']),
    ],
    [
      'Proxy-Connection: close and a tab',
      (host) => batchRequest(host, [['get', 'a']], [auth, 'Proxy-Connection: close\t ']),
    ],
    [
      'Connection: upgrade',
      (host) =>
        batchRequest(host, [['get', 'a']], [auth, 'Connection: upgrade', 'Upgrade: websocket']),
    ],
    ['a wrong token', (host) => batchRequest(host, [['get', 'a']], ['Authorization: Bearer nope'])],
    ['no token', (host) => batchRequest(host, [['get', 'a']])],
    [
      'a JSON body',
      (host) =>
        withHead(
          batchRequest(host, [['get', 'a']], [auth]),
          'application/msgpack',
          'application/json',
        ),
    ],
    [
      'a head over 16 KiB',
      (host) => batchRequest(host, [['get', 'a']], [auth, `X-Pad: ${'p'.repeat(17 * 1024)}`]),
    ],
    [
      'more header fields than Node keeps, the Content-Type after them',
      (host) =>
        withHead(
          batchRequest(host, [['get', 'a']], [auth]),
          'Content-Type: application/msgpack\r\n',
          `${Array.from({ length: 2000 }, (_, i) => `X-${i}: 1\r\n`).join('')}Content-Type: application/msgpack\r\n`,
        ),
    ],
    [
      'Connection: close with another request behind it',
      (host) =>
        Buffer.concat([
          batchRequest(host, [['get', 'a']], [auth, 'Connection: close']),
          batchRequest(host, [['get', 'a']], [auth]),
        ]),
    ],
    // Hosts @hono/node-server refuses (400) though Node's parser lets them through: the set in
    // the batch must not run on any door.
    ...(['', 'a b', 'x/y', 'x:99999999'] as const).map(
      (bad): [string, (host: string) => Buffer] => [
        `Host: ${JSON.stringify(bad)}`,
        () => batchRequest(bad, [['set', 'smuggled', new Uint8Array([1])]], [auth]),
      ],
    ),
    [
      'a body over --max-batch-bytes',
      (host) =>
        batchRequest(
          host,
          [['get', 'a'.repeat(300)]].concat(Array(4).fill(['get', 'b'.repeat(300)])),
          [auth],
        ),
    ],
  ];

  function withHead(request: Buffer, from: string | RegExp, to: string): Buffer {
    const end = request.indexOf('\r\n\r\n') + 4;
    const head = request.toString('latin1', 0, end).replace(from, to);
    return Buffer.concat([Buffer.from(head, 'latin1'), request.subarray(end)]);
  }

  it.each(variants)('%s', async (_name, make) => {
    const node = await startCliNode(['--token', TOKEN, '--max-batch-bytes', '1kb']);
    const host = hostOf(node);
    /**
     * The answers to the variant: on a fresh connection, on one Node's server already serves, and
     * on one the lane has answered a batch on (whose head the variant's is compared with first).
     */
    const outcome = async (first: 'nothing' | 'healthz' | 'batch') => {
      const connection = await connectRaw(node.url);
      if (first !== 'nothing') {
        // Answered before the variant is sent: Node drops a bad request pipelined behind another.
        connection.socket.write(
          first === 'healthz' ? healthz(host) : batchRequest(host, [['get', 'b']], [auth]),
        );
        await connection.answers(1);
      }
      connection.socket.write(make(host));
      // Every variant is answered (asserted below): wait for that first answer however slow a
      // loaded machine is (a fixed quiet window alone once ended before it), then for whatever
      // else Node answers, and whether it closes: read until it closes or goes quiet.
      const skipped = first === 'nothing' ? 0 : 1;
      await connection.answers(skipped + 1).catch(() => undefined);
      await Promise.race([connection.closed, new Promise((resolve) => setTimeout(resolve, 300))]);
      const answers = parseAnswers(connection.received()).slice(skipped);
      connection.socket.destroy();
      return answers.map((answer) => ({
        status: answer.status,
        // Whether the connection stays open after it, as the answer says.
        connection: answer.headers.connection?.toLowerCase(),
        code:
          answer.headers['content-type'] === 'application/json'
            ? (JSON.parse(answer.body.toString()) as { error?: { code?: string } }).error?.code
            : undefined,
      }));
    };
    const direct = await outcome('nothing');
    expect(direct).toEqual(await outcome('healthz'));
    expect(await outcome('batch')).toEqual(direct);
    expect(direct.length).toBeGreaterThan(0);
    const stored = await fetch(`${node.url}/v1/keys/smuggled`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(stored.status).toBe(404);
  });
});

describe('deadlines and budgets on the lane', () => {
  const stats = async (node: CliNode) =>
    (await (await fetch(`${node.url}/v1/stats`)).json()) as {
      requests: { batch: number };
      errors: Record<string, number>;
    };

  it('a head not whole within --headers-timeout is answered 408 and closed', async () => {
    const node = await startCliNode(['--headers-timeout', '500']);
    const connection = await connectRaw(node.url);
    const started = performance.now();
    connection.socket.write(`POST /v1/batch HTTP/1.1\r\nHost: ${hostOf(node)}\r\n`);
    await connection.closed;
    expect(performance.now() - started).toBeGreaterThanOrEqual(450);
    expect(connection.received().toString('latin1')).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
  });

  it('a body not whole within --request-timeout is answered 408 and closed, as Node answers it, and counted as Node counts it', async () => {
    const node = await startCliNode(['--headers-timeout', '500', '--request-timeout', '1000']);
    const host = hostOf(node);
    const request = batchRequest(host, [['get', 'a'.repeat(100)]]);
    const partial = request.subarray(0, request.length - 10);
    const lane = await connectRaw(node.url);
    const started = performance.now();
    lane.socket.write(partial);
    await lane.closed;
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    // The same request on a connection Node's server serves.
    const handed = await connectRaw(node.url);
    handed.socket.write(healthz(host));
    await handed.answers(1);
    handed.socket.write(partial);
    await handed.closed;
    const [fromLane] = parseAnswers(lane.received());
    const [, fromNode] = parseAnswers(handed.received());
    expect(fromNode!.status).toBe(408);
    expect(fromLane).toEqual(fromNode);
    // Each counted once, as a batch whose body did not arrive (400).
    const after = await stats(node);
    expect(after.requests.batch).toBe(2);
    expect(after.errors).toEqual({ 400: 2 });
  });

  it('an idle connection is closed at --keep-alive-timeout', async () => {
    const node = await startCliNode(['--keep-alive-timeout', '500']);
    const connection = await connectRaw(node.url);
    connection.socket.write(batchRequest(hostOf(node), [['get', 'a']]));
    const [answer] = await connection.answers(1);
    expect(answer!.headers['keep-alive']).toBe('timeout=0');
    const started = performance.now();
    await connection.closed;
    expect(performance.now() - started).toBeGreaterThanOrEqual(400);
  });

  it('a body that would pass --max-inflight-body-bytes mid-way is refused 503, and the one holding it still answered', async () => {
    const node = await tightBodyBudgetNode();
    const host = hostOf(node);
    // A batch of 1000 bytes exactly: a set padded to fit.
    let pad = 960;
    let request = batchRequest(host, [['set', 'k', bytes('v'.repeat(pad)), 0, null, null]]);
    const bodyOf = (r: Buffer) => r.length - (r.indexOf('\r\n\r\n') + 4);
    while (bodyOf(request) !== 1000) {
      pad += 1000 - bodyOf(request);
      request = batchRequest(host, [['set', 'k', bytes('v'.repeat(pad)), 0, null, null]]);
    }
    const holding = await connectRaw(node.url);
    holding.socket.write(request.subarray(0, request.length - 400));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const refused = await connectRaw(node.url);
    refused.socket.write(request.subarray(0, request.length - 400));
    const [overloaded] = await refused.answers(1);
    expect(overloaded!.status).toBe(503);
    expect(overloaded!.headers['retry-after']).toBe('1');
    expect(overloaded!.headers.connection).toBe('close');
    expect(JSON.parse(overloaded!.body.toString())).toMatchObject({
      error: { code: 'overloaded' },
    });
    await refused.closed;
    holding.socket.write(request.subarray(request.length - 400));
    const [stored] = await holding.answers(1);
    expect(stored!.status).toBe(200);
    expect(resultsOf(stored!)).toEqual([[204, 'version', 'stamp']]);
  });

  it('a batch refused mid-body or left by its client counts on the lane as in requests.batch, and /metrics agrees', async () => {
    const node = await tightBodyBudgetNode();
    const host = hostOf(node);
    // One client leaves mid-body, its 600 bytes held; another's 600 then pass the budget: 503.
    const left = await connectRaw(node.url);
    left.socket.write(Buffer.concat([batchHead(host, 1000), Buffer.alloc(600, 0x90)]));
    await vi.waitFor(async () => {
      const held = (await (await fetch(`${node.url}/v1/stats`)).json()) as {
        inflight: { bodyBytes: number };
      };
      expect(held.inflight.bodyBytes).toBe(600);
    }, EVENTUALLY);
    const refused = await connectRaw(node.url);
    refused.socket.write(Buffer.concat([batchHead(host, 1000), Buffer.alloc(600, 0x90)]));
    expect((await refused.answers(1))[0]!.status).toBe(503);
    left.socket.destroy();
    await vi.waitFor(async () => expect((await stats(node)).requests.batch).toBe(2), EVENTUALLY);
    const after = (await (await fetch(`${node.url}/v1/stats`)).json()) as {
      batchLane: { batches: number };
    };
    expect(after.batchLane.batches).toBe(2);
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    expect(metrics).toMatch(/^dcache_requests_total\{op="batch"\} 2$/m);
    expect(metrics).toMatch(/^dcache_batch_lane_batches_total 2$/m);
  });

  const MB = 1024 * 1024;

  /** A node whose whole body budget a body still arriving holds. */
  async function nodeWithBudgetHeld(): Promise<CliNode> {
    const node = await startCliNode([
      '--max-batch-bytes',
      '1mb',
      '--max-value-bytes',
      '1mb',
      '--max-inflight-body-bytes',
      '1mb',
    ]);
    const holding = await connectRaw(node.url);
    holding.socket.write(Buffer.concat([batchHead(hostOf(node), MB), Buffer.alloc(MB - 1, 0x90)]));
    await vi.waitFor(async () => {
      const stats = (await (await fetch(`${node.url}/v1/stats`)).json()) as {
        inflight: { bodyBytes: number };
      };
      expect(stats.inflight.bodyBytes).toBe(MB - 1);
    }, EVENTUALLY);
    return node;
  }

  /**
   * A client refused 503 mid-body (its first 64 KiB pass the budget) that goes on writing after
   * the node's end of the connection, as an HTTP client still uploading does (allowHalfOpen: the
   * node's FIN does not close its side): it writes `more` bytes, then ends. Resolves to the
   * answers it read and the errors its socket met.
   */
  async function refusedThenWriting(node: CliNode, more: number) {
    const refused = await connectRaw(node.url, { allowHalfOpen: true });
    const errors: Error[] = [];
    refused.socket.on('error', (error) => errors.push(error));
    const ended = new Promise((resolve) => refused.socket.once('end', resolve));
    refused.socket.write(
      Buffer.concat([batchHead(hostOf(node), MB), Buffer.alloc(64 * 1024, 0x90)]),
    );
    await ended;
    for (let sent = 0; sent < more && !refused.socket.destroyed; sent += 64 * 1024) {
      if (!refused.socket.write(Buffer.alloc(64 * 1024, 0x90))) {
        await new Promise((resolve) => {
          refused.socket.once('drain', resolve);
          refused.socket.once('close', resolve);
        });
      }
    }
    refused.socket.end();
    await refused.closed;
    return { answers: parseAnswers(refused.received()), errors };
  }

  it('a client refused 503 that goes on sending its body is read to the end, never reset (a lingering close)', async () => {
    const node = await nodeWithBudgetHeld();
    // The rest of its body: a node that closed at once would answer it with a reset (EPIPE or
    // ECONNRESET here), which can also cost a client an answer it has not read yet.
    const { answers, errors } = await refusedThenWriting(node, MB - 64 * 1024);
    expect(answers).toHaveLength(1);
    expect(answers[0]!.status).toBe(503);
    expect(answers[0]!.headers.connection).toBe('close');
    expect(errors).toEqual([]);
  });

  it('a refused client sending far more than its body is cut: the linger reads the rest of the body and 64 KiB more', async () => {
    const node = await nodeWithBudgetHeld();
    const { answers, errors } = await refusedThenWriting(node, 32 * MB);
    expect(answers.map((answer) => answer.status)).toEqual([503]);
    expect(errors.map((error) => (error as NodeJS.ErrnoException).code)).toContainEqual(
      expect.stringMatching(/^(EPIPE|ECONNRESET)$/),
    );
  });
});

describe('answers never taken', () => {
  const MB = 1024 * 1024;
  const flags = [
    '--headers-timeout',
    '1000',
    '--request-timeout',
    '2000',
    '--max-inflight-body-bytes',
    '16mb',
  ];

  /** Stores a 1 MiB value as `big`; returns a batch of `gets` gets of it (15 MiB: more than any socket takes while its client does not read). */
  async function withBigValue(node: CliNode, gets = 15): Promise<Buffer> {
    const host = hostOf(node);
    const setup = await connectRaw(node.url);
    setup.socket.write(batchRequest(host, [['set', 'big', bytes('v'.repeat(MB)), 0, null, null]]));
    await setup.answers(1);
    return batchRequest(host, Array<unknown>(gets).fill(['get', 'big']));
  }

  const stats = async (node: CliNode) =>
    (await (await fetch(`${node.url}/v1/stats`)).json()) as {
      inflight: { answerBytes: number; bodyBytes: number };
    };

  it('pipelined answers queued behind an unread one on a connection Node serves give their budget back when the client leaves', async () => {
    const node = await startCliNode(flags);
    const batch = await withBigValue(node, 3);
    for (let client = 0; client < 6; client++) {
      const connection = await connectRaw(node.url);
      connection.socket.pause(); // never reads
      // A GET gives the connection to Node's server; the batches queue behind its answer there.
      connection.socket.write(
        Buffer.concat([healthz(hostOf(node)), ...Array<Buffer>(6).fill(batch)]),
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      connection.socket.destroy();
    }
    // Every held answer is let go once its client is gone (at the latest, the send timeout).
    await vi.waitFor(
      async () =>
        expect((await stats(node)).inflight).toMatchObject({ answerBytes: 0, bodyBytes: 0 }),
      EVENTUALLY,
    );
  });

  it.each([
    ['the start of another batch', 'POST /v1/batch HTTP/1.1\r\n'],
    ['the start of a request Node serves', 'G'],
  ])(
    'a held answer followed by %s: its bytes held, the connection cut at the send timeout, the budget whole again',
    async (_name, next) => {
      const node = await startCliNode(flags);
      const request = await withBigValue(node);
      const connection = await connectRaw(node.url);
      connection.socket.pause(); // never reads
      // The body's last byte arrives with the next request's first ones.
      connection.socket.write(request.subarray(0, request.length - 1));
      await new Promise((resolve) => setTimeout(resolve, 100));
      connection.socket.write(
        Buffer.concat([request.subarray(request.length - 1), Buffer.from(next)]),
      );
      await vi.waitFor(
        async () => expect((await stats(node)).inflight.answerBytes).toBeGreaterThan(MB),
        EVENTUALLY,
      );
      // Cut at the send timeout (the request timeout): the bytes go, and so does the connection.
      await vi.waitFor(
        async () => expect((await stats(node)).inflight.answerBytes).toBe(0),
        EVENTUALLY,
      );
      connection.socket.resume();
      await connection.closed;
    },
  );

  it('a connection whose held answers go out once the node is stopping is then closed, not kept to --keep-alive-timeout', async () => {
    // A send timeout a loaded machine cannot reach before the client reads.
    const node = await startCliNode([
      '--request-timeout',
      '10000',
      '--max-inflight-body-bytes',
      '16mb',
      '--keep-alive-timeout',
      '20000',
    ]);
    const request = await withBigValue(node, 12);
    const connection = await connectRaw(node.url);
    connection.socket.pause(); // not reading yet: the answer waits, held
    connection.socket.write(request);
    await vi.waitFor(
      async () => expect((await stats(node)).inflight.answerBytes).toBeGreaterThan(0),
      EVENTUALLY,
    );
    const stopping = performance.now();
    const stopped = node.stop();
    await new Promise((resolve) => setTimeout(resolve, 200));
    connection.socket.resume();
    const [answer] = await connection.answers(1);
    expect(answer!.status).toBe(200);
    await stopped;
    // Gone with its last answer: the keep-alive timeout (20 s) does not hold the node up.
    expect(performance.now() - stopping).toBeLessThan(5000);
  });

  it('answers to Connection: close batches are held too: the budget fills, then empties when their clients go', async () => {
    const node = await startCliNode(flags);
    const request = await withBigValue(node);
    const closing = Buffer.from(
      request.toString('latin1').replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'),
      'latin1',
    );
    const readers: Awaited<ReturnType<typeof connectRaw>>[] = [];
    for (let i = 0; i < 3; i++) {
      const connection = await connectRaw(node.url);
      connection.socket.pause();
      connection.socket.write(closing);
      readers.push(connection);
    }
    await vi.waitFor(async () => {
      const probe = await connectRaw(node.url);
      probe.socket.write(batchRequest(hostOf(node), [['get', 'absent']]));
      expect((await probe.answers(1))[0]!.status).toBe(503);
    }, EVENTUALLY);
    for (const reader of readers) reader.socket.destroy();
    await vi.waitFor(
      async () => expect((await stats(node)).inflight.answerBytes).toBe(0),
      EVENTUALLY,
    );
  });
});
