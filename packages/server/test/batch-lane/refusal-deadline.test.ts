import { afterEach, expect, it, vi } from 'vitest';
import { EVENTUALLY } from '../eventually.js';
import { startCliNode, stopCliNodes } from '../cli-node.js';
import { batchRequest, closeRawConnections, connectRaw, parseAnswers } from './raw-http.js';

afterEach(async () => {
  closeRawConnections();
  await stopCliNodes();
});

const MB = 1024 * 1024;

it('a batch refused 503 (unread answers fill the budget) leaves its keep-alive connection idle: no 408 at the headers timeout', async () => {
  const node = await startCliNode([
    '--headers-timeout',
    '1000',
    '--request-timeout',
    '10000',
    '--max-inflight-body-bytes',
    '16mb',
  ]);
  const host = new URL(node.url).host;
  const setup = await connectRaw(node.url);
  setup.socket.write(
    batchRequest(host, [['set', 'big', new Uint8Array(MB).fill(0x76), 0, null, null]]),
  );
  await setup.answers(1);
  // Two clients that never read hold 15 MiB of answers each: the budget (16 MiB) is spent.
  for (let i = 0; i < 2; i++) {
    const holder = await connectRaw(node.url);
    holder.socket.pause();
    holder.socket.write(batchRequest(host, Array<unknown>(15).fill(['get', 'big'])));
  }
  await vi.waitFor(async () => {
    const stats = (await (await fetch(`${node.url}/v1/stats`)).json()) as {
      inflight: { answerBytes: number };
    };
    expect(stats.inflight.answerBytes).toBeGreaterThanOrEqual(16 * MB);
  }, EVENTUALLY);

  // On the lane, and on a connection Node's server serves (a GET first): the same refusal.
  const client = await connectRaw(node.url);
  const viaNode = await connectRaw(node.url);
  client.socket.write(batchRequest(host, [['get', 'absent']]));
  viaNode.socket.write(
    Buffer.concat([
      Buffer.from(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\n\r\n`),
      batchRequest(host, [['get', 'absent']]),
    ]),
  );
  const [refused] = await client.answers(1);
  expect(refused!.status).toBe(503);
  expect(refused!.headers.connection).toBe('keep-alive');
  expect((await viaNode.answers(2)).map((answer) => answer.status)).toEqual([200, 503]);
  // Idle after its answer, within --keep-alive-timeout (5 s) but past --headers-timeout:
  // nothing more comes, and the connection stays open.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect(parseAnswers(viaNode.received()).map((answer) => answer.status)).toEqual([200, 503]);
  expect(parseAnswers(client.received()).map((answer) => answer.status)).toEqual([503]);
  expect(client.socket.destroyed).toBe(false);
});
