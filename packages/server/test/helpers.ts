import { request } from 'node:http';
import type { ClientRequest } from 'node:http';
import { CacheServer } from '../src/index.js';
import type { ServerAddress, ServerOptions } from '../src/index.js';

export interface RunningNode {
  server: CacheServer;
  address: ServerAddress;
  url: string;
  close(): Promise<void>;
}

/**
 * The one way tests start a node: 127.0.0.1, an ephemeral port; call close() in afterEach/afterAll.
 * Its stall detector is off: the node shares the test's event loop, whose pauses (GC, a loaded
 * machine) are not the node's stalls; fence.test.ts covers stalls on CLI nodes.
 */
export async function startNode(options: ServerOptions = {}): Promise<RunningNode> {
  const server = new CacheServer({ logLevel: 'silent', stallThreshold: 0, ...options });
  const address = await server.listen({ host: '127.0.0.1', port: 0 });
  return { server, address, url: address.url, close: () => server.close() };
}

/** A clock tests move by hand. */
export function manualClock(start = 1_000_000): { now: () => number; advance(ms: number): void } {
  let time = start;
  return { now: () => time, advance: (ms) => void (time += ms) };
}

/** The `{ error: { code, message } }` body of an error response. */
export async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  const body = (await res.json()) as { error: { code: string; message: string } };
  return body.error;
}

/** What {@link startUpload} sends besides the body. */
export interface UploadOptions {
  /** @default 'PUT' */
  method?: string;
  /** @default { 'content-type': 'text/plain' } */
  headers?: Record<string, string | number>;
}

/**
 * Starts a request to `url` (a text PUT unless told) and sends `firstPart` of its body without
 * ending it, so tests can act while the request is in flight; `req.end(rest)` finishes it,
 * `status` resolves with the answer's status and `body` with its bytes.
 */
export function startUpload(
  url: string,
  firstPart: string | Uint8Array,
  { method = 'PUT', headers = { 'content-type': 'text/plain' } }: UploadOptions = {},
): { req: ClientRequest; status: Promise<number>; body: Promise<Buffer> } {
  const req = request(url, { method, headers });
  let answered: (body: Buffer) => void = () => undefined;
  const body = new Promise<Buffer>((resolve) => (answered = resolve));
  const status = new Promise<number>((resolve, reject) => {
    req.once('error', reject);
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', () => answered(Buffer.concat(chunks)));
      resolve(res.statusCode!);
    });
  });
  req.write(firstPart);
  req.flushHeaders();
  return { req, status, body };
}
