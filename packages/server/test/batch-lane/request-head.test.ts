import { describe, expect, it } from 'vitest';
import {
  INCOMPLETE,
  knownHead,
  OTHER,
  readBatchHead,
  readKnownHead,
} from '../../src/http/batch-lane/request-head.js';
import type { BatchHead } from '../../src/http/batch-lane/request-head.js';

const MAX_HEAD = 16 * 1024;
const head = (lines: readonly string[]) => Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
const batchHead = (length: string, extra: readonly string[] = []) =>
  head([
    'POST /v1/batch HTTP/1.1',
    'host: 127.0.0.1:8001',
    'content-type: application/msgpack',
    `content-length: ${length}`,
    ...extra,
    'dcache-ring-nodes: 3',
  ]);

function taken(bytes: Buffer): BatchHead {
  const read = readBatchHead(bytes, MAX_HEAD);
  if (read === INCOMPLETE || read === OTHER) {
    throw new Error(`not taken: ${read}`);
  }
  return read;
}

describe('readBatchHead', () => {
  it('reads the fields the lane needs, and where the length lies', () => {
    const bytes = batchHead('1234', [
      'Connection: close',
      'Authorization: Bearer t',
      'X-Request-Id: r1',
    ]);
    const read = taken(bytes);
    expect(read).toMatchObject({
      size: bytes.length,
      contentLength: 1234,
      contentType: 'application/msgpack',
      authorization: 'Bearer t',
      ringNodes: '3',
      requestId: 'r1',
      close: true,
    });
    expect(bytes.toString('latin1', read.lengthAt, read.lengthEnd)).toBe('1234');
  });

  it('waits for the rest of a head that may still be a batch, and leaves anything else', () => {
    const bytes = batchHead('10');
    expect(readBatchHead(bytes.subarray(0, 10), MAX_HEAD)).toBe(INCOMPLETE);
    expect(readBatchHead(bytes.subarray(0, bytes.length - 1), MAX_HEAD)).toBe(INCOMPLETE);
    expect(readBatchHead(Buffer.from('GET /healthz HTTP/1.1\r\n'), MAX_HEAD)).toBe(OTHER);
    expect(readBatchHead(bytes, bytes.length - 1)).toBe(OTHER);
    expect(readBatchHead(bytes.subarray(0, 40), 40)).toBe(OTHER);
  });

  it("reads Proxy-Connection as Connection, as Node's parser (llhttp) does", () => {
    expect(taken(batchHead('10', ['Proxy-Connection: close'])).close).toBe(true);
    expect(taken(batchHead('10', ['Proxy-Connection: keep-alive'])).close).toBe(false);
    expect(readBatchHead(batchHead('10', ['Proxy-Connection: keep-alive, close']), MAX_HEAD)).toBe(
      OTHER,
    );
  });

  it('leaves a head of more fields than Node keeps to Node', () => {
    const many = Array.from({ length: 2000 }, (_, i) => `x-${i}: 1`);
    expect(readBatchHead(batchHead('10', many), MAX_HEAD * 4)).toBe(OTHER);
    expect(readBatchHead(batchHead('10', many.slice(10)), MAX_HEAD * 4)).not.toBe(OTHER);
  });
});

describe('readKnownHead', () => {
  const first = batchHead('1000');
  const known = knownHead(first, taken(first));

  it.each(['7', '1000', '999999', '000123'])(
    'takes the same head with Content-Length %s',
    (length) => {
      const bytes = Buffer.concat([batchHead(length), Buffer.from('body')]);
      const read = readKnownHead(bytes, known);
      const full = taken(bytes.subarray(0, bytes.length - 4));
      expect(read).toEqual(full);
    },
  );

  it.each<[string, Buffer]>([
    ['another header added', batchHead('10', ['Transfer-Encoding: chunked'])],
    [
      'a header changed',
      Buffer.from(
        batchHead('10').toString('latin1').replace('ring-nodes: 3', 'ring-nodes: 4'),
        'latin1',
      ),
    ],
    ['no digits', batchHead('')],
    ['a sign', batchHead('+10')],
    ['sixteen digits', batchHead('1234567890123456')],
    [
      'a second length after it',
      Buffer.from(
        batchHead('10').toString('latin1').replace('content-length: 10', 'content-length: 10, 10'),
        'latin1',
      ),
    ],
    ['only part of it so far', batchHead('10').subarray(0, 60)],
  ])('reads nothing when the head is not the same: %s', (_name, bytes) => {
    expect(readKnownHead(bytes, known)).toBeUndefined();
  });
});
