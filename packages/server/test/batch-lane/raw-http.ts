import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { pack, unpack } from 'msgpackr';

/** One HTTP/1.1 answer read off a raw connection. */
export interface RawAnswer {
  status: number;
  /** Header names in lower case; a repeated one keeps its last value. */
  headers: Record<string, string>;
  body: Buffer;
}

/** The head of a `POST /v1/batch` whose body is `contentLength` bytes (`extra` header lines are added). */
export function batchHead(
  host: string,
  contentLength: number,
  extra: readonly string[] = [],
): Buffer {
  const head = [
    'POST /v1/batch HTTP/1.1',
    `Host: ${host}`,
    'Content-Type: application/msgpack',
    `Content-Length: ${contentLength}`,
    ...extra,
  ];
  return Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1');
}

/** A `POST /v1/batch` request's bytes, as a plain client sends it (`extra` header lines are added). */
export function batchRequest(host: string, ops: unknown[], extra: readonly string[] = []): Buffer {
  const body = pack(ops);
  return Buffer.concat([batchHead(host, body.length, extra), body]);
}

/** The whole answers in `bytes` (a 1xx is one too), in order; a partial one at the end is left out. */
export function parseAnswers(bytes: Buffer): RawAnswer[] {
  return scanAnswers(bytes).answers;
}

/**
 * parseAnswers, and the length `bytes` must reach before another answer can be whole: the end of
 * the partial answer's body when its head has arrived, else one byte more.
 */
function scanAnswers(bytes: Buffer): { answers: RawAnswer[]; needed: number } {
  const answers: RawAnswer[] = [];
  let at = 0;
  for (;;) {
    const end = bytes.indexOf('\r\n\r\n', at, 'latin1');
    if (end === -1) return { answers, needed: bytes.length + 1 };
    const lines = bytes.toString('latin1', at, end).split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(lines[0]!)?.[1]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = status < 200 ? 0 : Number(headers['content-length'] ?? 0);
    if (bytes.length < end + 4 + length) return { answers, needed: end + 4 + length };
    answers.push({ status, headers, body: bytes.subarray(end + 4, end + 4 + length) });
    at = end + 4 + length;
  }
}

/** A msgpack answer's results, with every stamp (a number ≥ 2^40) shown as 'stamp'. */
export function resultsOf(answer: RawAnswer): unknown {
  const masked = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(masked);
    if (value instanceof Uint8Array) return Buffer.from(value).toString('latin1');
    if (typeof value !== 'number') return value;
    // Versions start above the node's start time × 1000 (~1.8e15); stamps count 1/1024 ms since
    // 2025 (~5.5e13): both change from run to run.
    return value >= 2 ** 50 ? 'version' : value >= 2 ** 40 ? 'stamp' : value;
  };
  return masked(unpack(answer.body));
}

const open = new Set<Socket>();

/** A raw connection to a node's HTTP port that keeps every byte the node sends. */
export interface RawConnection {
  socket: Socket;
  received(): Buffer;
  /** Resolves once the connection has closed (either side). */
  closed: Promise<void>;
  /** Resolves with the first `count` whole answers (rejects if the connection closes first). */
  answers(count: number): Promise<RawAnswer[]>;
}

/** `allowHalfOpen`: the node's end of the connection does not end ours (we may go on writing). */
export async function connectRaw(
  url: string,
  { allowHalfOpen = false }: { allowHalfOpen?: boolean } = {},
): Promise<RawConnection> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port), allowHalfOpen });
  open.add(socket);
  const chunks: Buffer[] = [];
  let receivedBytes = 0;
  const received = () => Buffer.concat(chunks);
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    receivedBytes += chunk.length;
  });
  socket.on('error', () => undefined); // a reset is one of the outcomes tests look at
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      open.delete(socket);
      resolve();
    }),
  );
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const answers = (count: number) =>
    new Promise<RawAnswer[]>((resolve, reject) => {
      // Joined and parsed again only once the bytes could hold another whole answer: per chunk,
      // a 12 MB answer cost seconds of copying (quadratic), which a test timing the node counted.
      let needed = 0;
      const check = () => {
        if (receivedBytes < needed) return false;
        const scan = scanAnswers(received());
        const parsed = scan.answers;
        needed = scan.needed;
        if (parsed.length < count) return false;
        socket.off('data', check);
        resolve(parsed.slice(0, count));
        return true;
      };
      if (check()) return;
      socket.on('data', check);
      void closed.then(() => {
        if (!check()) reject(new Error(`closed after ${parseAnswers(received()).length} answers`));
      });
    });
  return { socket, received, closed, answers };
}

/** Ends every raw connection still open (afterEach). */
export function closeRawConnections(): void {
  for (const socket of open) socket.destroy();
  open.clear();
}
