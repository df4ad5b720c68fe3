import { afterEach, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from '../cli-node.js';
import { batchRequest, closeRawConnections, connectRaw, parseAnswers } from './raw-http.js';

/**
 * Node's parser (llhttp) reads `Proxy-Connection` as `Connection`: a batch that asks
 * `Proxy-Connection: close` gets a closing answer from Node's server, which runs none of what is
 * pipelined behind it. The lane must answer it the same.
 */

afterEach(async () => {
  closeRawConnections();
  await stopCliNodes();
});

const healthz = (host: string) => Buffer.from(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\n\r\n`);

/** The answers (status, Connection) to `request`, and whether the connection closed. */
async function outcome(url: string, request: Buffer, first: 'nothing' | 'healthz') {
  const host = new URL(url).host;
  const connection = await connectRaw(url);
  if (first === 'healthz') {
    connection.socket.write(healthz(host));
    await connection.answers(1);
  }
  const skipped = first === 'healthz' ? 1 : 0;
  connection.socket.write(request);
  await connection.answers(skipped + 1).catch(() => undefined);
  const closed = await Promise.race([
    connection.closed.then(() => true),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 500)),
  ]);
  const answers = parseAnswers(connection.received())
    .slice(skipped)
    .map((answer) => `${answer.status} ${answer.headers.connection}`);
  connection.socket.destroy();
  return { answers, closed };
}

it('a batch asking Proxy-Connection: close is answered with Connection: close, and its connection ends', async () => {
  const node = await startCliNode();
  const host = new URL(node.url).host;
  const request = batchRequest(host, [['get', 'a']], ['Proxy-Connection: close']);
  const viaNode = await outcome(node.url, request, 'healthz');
  expect(viaNode).toEqual({ answers: ['200 close'], closed: true });
  expect(await outcome(node.url, request, 'nothing')).toEqual(viaNode);
});

it('a batch pipelined behind a Proxy-Connection: close one is not run', async () => {
  const node = await startCliNode();
  const host = new URL(node.url).host;
  const request = Buffer.concat([
    batchRequest(host, [['get', 'a']], ['Proxy-Connection: close']),
    batchRequest(host, [['set', 'smuggled', new Uint8Array([0x21]), 0, null, null]]),
  ]);
  const viaNode = await outcome(node.url, request, 'healthz');
  expect(await outcome(node.url, request, 'nothing')).toEqual(viaNode);
  expect((await fetch(`${node.url}/v1/keys/smuggled`)).status).toBe(404);
});

it.each(['Connection: close', 'Proxy-Connection: close'])(
  'a batch asking %s with a request pipelined behind it gets its own answer (it ran), and what follows is not run',
  async (close) => {
    const node = await startCliNode();
    const host = new URL(node.url).host;
    for (const first of ['nothing', 'healthz'] as const) {
      const key = `asked-${first}`;
      const request = Buffer.concat([
        batchRequest(host, [['set', key, new Uint8Array([0x21]), 0, null, null]], [close]),
        batchRequest(host, [['set', 'smuggled', new Uint8Array([0x21]), 0, null, null]]),
      ]);
      // Its write is done: a 400 in place of its answer would tell its client it was not.
      expect(await outcome(node.url, request, first)).toEqual({
        answers: ['200 close'],
        closed: true,
      });
      expect((await fetch(`${node.url}/v1/keys/${key}`)).status).toBe(200);
    }
    expect((await fetch(`${node.url}/v1/keys/smuggled`)).status).toBe(404);
  },
);
