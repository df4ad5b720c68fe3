import { afterEach, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from '../cli-node.js';
import { batchRequest, closeRawConnections, connectRaw, parseAnswers } from './raw-http.js';

/**
 * An answer that closes its connection lingers once it is out (a refused body's rest and 64 KiB
 * more are read and dropped). Until it is out, what its client sends is dropped uncounted, as
 * Node's server drops what follows a `Connection: close` request while it answers it: a client
 * that writes on before it reads must still get the whole answer.
 */

afterEach(async () => {
  closeRawConnections();
  await stopCliNodes();
});

const MB = 1024 * 1024;
const healthz = (host: string) => Buffer.from(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends `request` (asking Connection: close) without reading, then `more` bytes, then reads:
 * resolves to the answers' statuses and body sizes, and the errors the client's socket met.
 */
async function outcome(url: string, request: Buffer, more: number, first: 'nothing' | 'healthz') {
  const host = new URL(url).host;
  const connection = await connectRaw(url, { allowHalfOpen: true });
  const errors: string[] = [];
  connection.socket.on('error', (error: NodeJS.ErrnoException) => errors.push(String(error.code)));
  if (first === 'healthz') {
    connection.socket.write(healthz(host));
    await connection.answers(1);
  }
  connection.socket.pause();
  connection.socket.write(request);
  // The answer is under way (more of it than the sockets take while nobody reads) before the
  // client writes on, in pieces each read on its own.
  await sleep(100);
  for (let sent = 0; sent < more && !connection.socket.destroyed; sent += 16 * 1024) {
    connection.socket.write(Buffer.alloc(16 * 1024, 0x41));
    await sleep(2);
  }
  await sleep(100);
  connection.socket.resume();
  await Promise.race([connection.closed, sleep(5_000)]);
  const answers = parseAnswers(connection.received())
    .slice(first === 'healthz' ? 1 : 0)
    .map((answer) => `${answer.status} ${answer.headers.connection} ${answer.body.length}`);
  connection.socket.destroy();
  return { answers, errors };
}

it('a Connection: close batch whose client writes 256 KiB more before reading gets its whole answer, as from Node', async () => {
  const node = await startCliNode(['--max-inflight-body-bytes', '32mb']);
  const host = new URL(node.url).host;
  const setup = await connectRaw(node.url);
  setup.socket.write(
    batchRequest(host, [['set', 'big', new Uint8Array(MB).fill(0x76), 0, null, null]]),
  );
  expect((await setup.answers(1))[0]!.status).toBe(200);
  // 15 MiB of answer: more than the sockets between them take while the client does not read.
  const request = batchRequest(host, Array<unknown>(15).fill(['get', 'big']), [
    'Connection: close',
  ]);
  const viaNode = await outcome(node.url, request, 256 * 1024, 'healthz');
  expect(viaNode.answers).toHaveLength(1);
  expect(viaNode.answers[0]).toMatch(/^200 close \d{8}$/);
  expect(viaNode.errors).toEqual([]);
  expect(await outcome(node.url, request, 256 * 1024, 'nothing')).toEqual(viaNode);
});
