import { Buffer } from 'node:buffer';

/** The only request line the lane takes: anything else is Node's HTTP server's to parse. */
const REQUEST_LINE_BYTES = Buffer.from('POST /v1/batch HTTP/1.1\r\n', 'latin1');
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/**
 * One header line as RFC 9110 allows it and nothing looser: a token name, the value without
 * control characters (tab allowed), optional whitespace around it. A line folded onto the next,
 * a bare CR or LF, a space before the colon: none match, and the request goes to Node's parser.
 */
// eslint-disable-next-line no-control-regex -- control characters are what a value must not hold
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([^\x00-\x08\x0a-\x1f\x7f]*?)[ \t]*$/;
const DIGITS = /^[0-9]{1,15}$/;
/**
 * A tab in a line's trailing whitespace. llhttp allows only spaces there in the fields it reads
 * itself: it refuses such a Content-Length (400) and does not read such a `close` as close.
 */
const TRAILING_TAB = /\t[ \t]*$/;

/** A `POST /v1/batch` head the lane can answer as it stands. */
export interface BatchHead {
  /** Bytes of the head, its blank line included: the body starts here. */
  readonly size: number;
  readonly contentLength: number;
  readonly contentType: string | undefined;
  /** Present: a head without one goes to Node's server. */
  readonly host: string;
  readonly authorization: string | undefined;
  readonly ringNodes: string | undefined;
  readonly requestId: string | undefined;
  /**
   * `Connection: close` (or `Proxy-Connection: close`, which Node's parser reads alike) asked for
   * the connection to end after this answer.
   */
  readonly close: boolean;
  /** Where the Content-Length's digits start and end in the head's bytes. */
  readonly lengthAt: number;
  readonly lengthEnd: number;
}

/** Not all of the head has arrived. */
export const INCOMPLETE = 'incomplete';
/** Not a request the lane answers: Node's HTTP server gets it, bytes untouched. */
export const OTHER = 'other';
/**
 * A head with more header fields than this goes to Node's server (which keeps every field: the
 * node sets its maxHeadersCount to 0), so the lane never splits a huge head into thousands of lines.
 */
const MAX_FIELDS = 2000;

/**
 * Reads the head at the start of `bytes` if it is a plain HTTP/1.1 `POST /v1/batch` with one
 * Content-Length and a Host, and nothing that changes how its bytes are framed or answered
 * (Transfer-Encoding, Expect, Upgrade, a repeated framing header). This is a recognizer, not a
 * parser: whatever it does not take whole goes to Node's own (llhttp), which answers it as
 * before — so it can be strict without being complete, and nothing is ever read two ways.
 */
export function readBatchHead(
  bytes: Buffer,
  maxHeadBytes: number,
): BatchHead | typeof INCOMPLETE | typeof OTHER {
  const lineBytes = Math.min(bytes.length, REQUEST_LINE_BYTES.length);
  if (bytes.compare(REQUEST_LINE_BYTES, 0, lineBytes, 0, lineBytes) !== 0) return OTHER;
  const end = bytes.indexOf(HEAD_END, REQUEST_LINE_BYTES.length - 2);
  // Past the limit Node's server decides (it counts a head otherwise than by its bytes, and takes
  // some longer ones). A head still arriving then has Node's headers timeout anew: a slow one
  // gets at most twice its time.
  if (end === -1) return bytes.length >= maxHeadBytes ? OTHER : INCOMPLETE;
  if (end + 4 > maxHeadBytes) return OTHER;
  // No header at all ends the request line with the blank line itself.
  if (end < REQUEST_LINE_BYTES.length) return OTHER;
  return headerFields(bytes.toString('latin1', REQUEST_LINE_BYTES.length, end), end + 4);
}

/**
 * A head taken before, cut around its Content-Length's digits: a client sends the same head batch
 * after batch but for the length, and one that matches it byte for byte needs no second reading.
 */
export interface KnownHead {
  readonly head: BatchHead;
  readonly before: Buffer;
  readonly after: Buffer;
}

export function knownHead(bytes: Buffer, head: BatchHead): KnownHead {
  return {
    head,
    before: Buffer.from(bytes.subarray(0, head.lengthAt)),
    after: Buffer.from(bytes.subarray(head.lengthEnd, head.size)),
  };
}

/** Longest Content-Length taken, in digits (as DIGITS). */
const MAX_DIGITS = 15;

/**
 * The head at the start of `bytes` when it is `known`'s bytes with other digits for the
 * Content-Length — the same head, which {@link readBatchHead} took — else undefined.
 *
 * Its size is not checked again: more digits make it at most MAX_DIGITS - 1 bytes longer than a
 * head within the limit, and Node counts only the URL, field names and values against
 * `maxHeaderSize` (refusing at the limit), not the method, version, colons and line ends — at
 * least 24 bytes in any head taken here — so Node's server would take it too.
 */
export function readKnownHead(bytes: Buffer, known: KnownHead): BatchHead | undefined {
  const { before, after, head } = known;
  const digitsAt = before.length;
  if (bytes.length <= digitsAt || bytes.compare(before, 0, digitsAt, 0, digitsAt) !== 0) {
    return undefined;
  }
  let at = digitsAt;
  let contentLength = 0;
  for (; at < bytes.length && at - digitsAt < MAX_DIGITS; at++) {
    const digit = bytes[at]! - 0x30;
    if (digit < 0 || digit > 9) break;
    contentLength = contentLength * 10 + digit;
  }
  const size = at + after.length;
  if (
    at === digitsAt ||
    bytes.length < size ||
    bytes.compare(after, 0, after.length, at, size) !== 0
  ) {
    return undefined;
  }
  return { ...head, size, contentLength, lengthEnd: at };
}

/**
 * The fields the lane reads, each allowed once: a repeat goes to Node's server, which joins,
 * keeps the first of, or refuses it, each in its own way.
 */
const READ_ONCE = new Set([
  'content-length',
  'host',
  'content-type',
  'authorization',
  'dcache-ring-nodes',
  'x-request-id',
]);
/**
 * Fields that change how a request is framed or answered: Node's server handles them. `origin`
 * and `sec-fetch-site` mark a web browser's request, which the app refuses (browser-guard.ts).
 */
const NOT_THE_LANES = new Set([
  'transfer-encoding',
  'expect',
  'upgrade',
  'origin',
  'sec-fetch-site',
]);

function headerFields(text: string, size: number): BatchHead | typeof OTHER {
  const lines = text.split('\r\n');
  if (lines.length > MAX_FIELDS) return OTHER;
  const read = new Map<string, string>();
  let close = false;
  let lengthAt = 0;
  /** Where the line being read starts in the head's bytes. */
  let lineAt = REQUEST_LINE_BYTES.length;
  for (const line of lines) {
    const field = HEADER_LINE.exec(line);
    if (field === null) return OTHER;
    const name = field[1]!.toLowerCase();
    const value = field[2]!;
    if (READ_ONCE.has(name)) {
      if (read.has(name)) return OTHER;
      if (name === 'content-length' && TRAILING_TAB.test(line)) return OTHER;
      read.set(name, value);
      if (name === 'content-length') lengthAt = lineAt + line.indexOf(value, name.length + 1);
    } else if (name === 'connection' || name === 'proxy-connection') {
      // Node's parser (llhttp) reads Proxy-Connection as Connection: `close` there ends the
      // connection after the answer too, and runs nothing pipelined behind it.
      const token = value.toLowerCase();
      if (TRAILING_TAB.test(line)) return OTHER;
      if (token === 'close') close = true;
      else if (token !== 'keep-alive') return OTHER;
    } else if (NOT_THE_LANES.has(name)) {
      return OTHER;
    }
    lineAt += line.length + 2;
  }
  const contentLength = read.get('content-length');
  const host = read.get('host');
  if (contentLength === undefined || !DIGITS.test(contentLength) || host === undefined)
    return OTHER;
  return {
    size,
    contentLength: Number(contentLength),
    contentType: read.get('content-type'),
    host,
    authorization: read.get('authorization'),
    ringNodes: read.get('dcache-ring-nodes'),
    requestId: read.get('x-request-id'),
    close,
    lengthAt,
    lengthEnd: lengthAt + contentLength.length,
  };
}
