import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from '../cli-node.js';
import type { CliNode } from '../cli-node.js';
import { batchRequest, closeRawConnections, connectRaw, parseAnswers } from './raw-http.js';
import type { RawConnection } from './raw-http.js';

/**
 * Node's HTTP server closes an idle keep-alive connection a second after the `timeout=` it
 * advertises (its HTTP_SERVER_KEEP_ALIVE_TIMEOUT_BUFFER), so that a client reusing the connection
 * right up to the advertised time does not meet a reset; the keep-alive timeout also applies while
 * the next request's head arrives. Each test runs on a fresh connection (the batch lane's) and on
 * one Node's server already serves, and both must behave alike.
 */

afterEach(async () => {
  closeRawConnections();
  await stopCliNodes();
});

const hostOf = (node: CliNode) => new URL(node.url).host;

/** A connection the lane serves, and one handed to Node's server by a first GET, each answered once. */
async function bothDoors(node: CliNode): Promise<{ lane: RawConnection; handed: RawConnection }> {
  const host = hostOf(node);
  const lane = await connectRaw(node.url);
  lane.socket.write(batchRequest(host, [['get', 'a']]));
  await lane.answers(1);
  const handed = await connectRaw(node.url);
  handed.socket.write(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  await handed.answers(1);
  return { lane, handed };
}

it("takes the next batch on a connection idle past --keep-alive-timeout but within Node's extra second", async () => {
  const node = await startCliNode(['--keep-alive-timeout', '300']);
  const { lane, handed } = await bothDoors(node);
  await sleep(700);
  for (const connection of [lane, handed]) {
    connection.socket.write(batchRequest(hostOf(node), [['get', 'a']]));
  }
  const [, fromLane] = await lane.answers(2);
  const [, fromNode] = await handed.answers(2);
  expect(fromNode!.status).toBe(200);
  expect(fromLane!.status).toBe(200);
});

it('drops a kept-alive connection whose next head stalls, at the keep-alive deadline and without a 408', async () => {
  const node = await startCliNode(['--keep-alive-timeout', '300', '--headers-timeout', '8000']);
  const { lane, handed } = await bothDoors(node);
  const started = performance.now();
  for (const connection of [lane, handed]) {
    connection.socket.write(`POST /v1/batch HTTP/1.1\r\nHost: ${hostOf(node)}\r\n`);
  }
  await Promise.all([lane.closed, handed.closed]);
  // Node's server: 300 ms + its second; the headers timeout (8 s) is not what ends them.
  expect(performance.now() - started).toBeLessThan(4000);
  expect(parseAnswers(lane.received())).toHaveLength(1);
  expect(parseAnswers(handed.received())).toHaveLength(1);
});
