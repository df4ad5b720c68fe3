import { connect } from 'node:net';
import { pack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from './cli-node.js';
import type { CliNode } from './cli-node.js';

/**
 * HTTP/1.1 pipelining against a node started through the CLI: requests sent in one write take
 * effect in the order they were sent, whichever of them waits for a body.
 */

let node: CliNode;
beforeAll(async () => {
  node = await startCliNode(['--log-level', 'silent']);
});
afterAll(() => stopCliNodes());

/** Sends `requests` in one write on a fresh connection; resolves with everything read until EOF. */
function pipeline(requests: (string | Buffer)[]): Promise<string> {
  const { hostname, port } = new URL(node.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer within 5 s')));
    socket.write(Buffer.concat(requests.map((r) => (typeof r === 'string' ? Buffer.from(r) : r))));
  });
}

const head = (line: string, headers: string[] = []) =>
  `${line} HTTP/1.1\r\nHost: localhost\r\n${headers.map((h) => `${h}\r\n`).join('')}`;
const put = (key: string, body: string) =>
  `${head(`PUT /v1/keys/${key}`, [`Content-Length: ${body.length}`])}\r\n${body}`;
const last = (line: string) => `${head(line, ['Connection: close'])}\r\n`;

/** The status codes of the answers read, in order. */
const statuses = (answers: string) =>
  [...answers.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1]));

async function read(key: string): Promise<number> {
  return (await fetch(`${node.url}/v1/keys/${key}`)).status;
}

describe('pipelined requests on one connection', () => {
  it('a DELETE behind a PUT deletes what the PUT wrote', async () => {
    const answers = await pipeline([put('ord1', 'abc'), last('DELETE /v1/keys/ord1')]);
    expect(statuses(answers)).toEqual([204, 204]);
    expect(await read('ord1')).toBe(404);
  });

  it('a GET behind a PUT reads what the PUT wrote', async () => {
    const answers = await pipeline([put('ord2', 'written'), last('GET /v1/keys/ord2')]);
    expect(statuses(answers)).toEqual([204, 200]);
    expect(answers.endsWith('written')).toBe(true);
  });

  it('an incr and a batch get behind a PUT see its value', async () => {
    const batch = pack([['get', 'ord3']]);
    const answers = await pipeline([
      put('ord3', '41'),
      `${head('POST /v1/keys/ord3/incr')}Content-Length: 0\r\n\r\n`,
      `${head('POST /v1/batch', ['Content-Type: application/msgpack', `Content-Length: ${batch.length}`, 'Connection: close'])}\r\n`,
      batch,
    ]);
    expect(statuses(answers)).toEqual([204, 200, 200]);
    expect(answers).toContain('42');
    // The batch get's hit: [200, <bin 42>, …], after the incr.
    expect(answers).toContain(Buffer.from([0xc4, 2, 0x34, 0x32]).toString('latin1'));
  });

  it('a burst of pipelined GETs is answered in order, without a listener warning', async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `burst${i}`);
    await Promise.all(
      keys.map((key) => fetch(`${node.url}/v1/keys/${key}`, { method: 'PUT', body: `v-${key}` })),
    );
    const before = node.output().length;
    const answers = await pipeline([
      ...keys.slice(0, -1).map((key) => `${head(`GET /v1/keys/${key}`)}\r\n`),
      last(`GET /v1/keys/${keys.at(-1)!}`),
    ]);
    expect(statuses(answers)).toEqual(keys.map(() => 200));
    const bodies = [...answers.matchAll(/v-burst\d+/g)].map((match) => match[0]);
    expect(bodies).toEqual(keys.map((key) => `v-${key}`));
    // A warning reaches the node's stderr pipe a little after the answers reach the socket.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(node.output().slice(before)).not.toMatch(/MaxListenersExceededWarning/);
  });
});
