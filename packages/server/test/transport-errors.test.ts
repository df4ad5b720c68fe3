import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from './helpers.js';
import { startNode } from './helpers.js';

/** Sends raw bytes on a fresh connection and resolves with all the server wrote back. */
function exchange(port: number, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', reject);
    // The server closes these connections itself; ending our side too would race it.
    socket.on('close', () => resolve(answer));
    socket.write(raw);
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

describe('requests the app never sees still get the JSON error shape', () => {
  let node: RunningNode;
  beforeAll(async () => {
    node = await startNode();
  });
  afterAll(() => node.close());

  it.each([
    [
      'a backslash in the path',
      'GET /v1/keys/a\\b HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
    ],
    ['HTTP/1.0 without Host', 'GET /healthz HTTP/1.0\r\n\r\n'],
  ])('%s: 400 bad_request from @hono/node-server', async (_name, raw) => {
    const { status, headers, body } = parse(await exchange(node.address.port, raw));
    expect(status).toBe(400);
    expect(headers).toContain('content-type: application/json');
    expect(body).toEqual({ error: { code: 'bad_request', message: expect.any(String) } });
  });

  it.each([
    ['a malformed request line', 'NOT HTTP AT ALL\r\n\r\n', 400, 'bad_request'],
    ['a malformed header', 'GET /healthz HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n', 400, 'bad_request'],
    [
      'headers over the limit',
      `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      431,
      'too_large',
    ],
  ])("%s: Node's clientError, answered %i %s and closed", async (_name, raw, code, name) => {
    const { status, headers, body } = parse(await exchange(node.address.port, raw));
    expect(status).toBe(code);
    expect(headers).toContain('content-type: application/json');
    expect(headers).toContain('connection: close');
    expect(body).toEqual({ error: { code: name, message: expect.any(String) } });
  });

  it('counts them per status and keeps serving', async () => {
    const errors = (
      (await (await fetch(`${node.url}/v1/stats`)).json()) as {
        errors: Record<string, number>;
      }
    ).errors;
    expect(errors).toEqual({ 400: 4, 431: 1 });
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
  });
});
