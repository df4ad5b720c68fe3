import ky from 'ky';
import type { KyInstance } from 'ky';
import { Agent } from 'undici';
import { NodeRequestError } from './errors/node-request-error.js';
import { NodeTimeoutError } from './errors/node-timeout-error.js';
import { decodeBatch, encodeBatch } from './wire.js';
import type { BatchOp, BatchResult } from './wire.js';

export interface TransportOptions {
  timeout: number;
  token: string | undefined;
}

/**
 * The HTTP layer: one ky instance (created once, not per request) over fetch with a private
 * keep-alive undici Agent, no retries (failover is the cluster's job, not the request's) and HTTP
 * errors turned into NodeRequestError here rather than through ky's HTTPError.
 */
export class Transport {
  readonly #agent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000 });
  readonly #http: KyInstance;
  readonly #timeout: number;

  constructor(options: TransportOptions) {
    this.#timeout = options.timeout;
    const dispatcher = this.#agent;
    const headers: Record<string, string> = {};
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    this.#http = ky.create({
      retry: 0,
      // One AbortSignal per request instead (see #request): it also bounds reading the body.
      timeout: false,
      throwHttpErrors: false,
      headers,
      // Node's fetch takes an undici Agent as `dispatcher` (undici 7 still serves the handler API
      // of Node 20's bundled undici 6; their typings differ, hence the cast). undici's own fetch
      // cannot be used: it does not accept the global Request that ky builds.
      fetch: (input, init) => fetch(input, { ...init, dispatcher } as unknown as RequestInit),
    });
  }

  /** Sends one `POST /v1/batch`; resolves to one result per op, in order. */
  async batch(node: string, ops: readonly BatchOp[]): Promise<BatchResult[]> {
    const signal = AbortSignal.timeout(this.#timeout);
    const response = await this.#request(node, `${node}/v1/batch`, signal, {
      method: 'post',
      body: encodeBatch(ops),
      headers: { 'content-type': 'application/msgpack', accept: 'application/msgpack' },
    });
    const body = new Uint8Array(await this.#read(node, response, signal));
    let results: BatchResult[] | undefined;
    try {
      results = decodeBatch(body, ops.length);
    } catch (cause) {
      throw new NodeRequestError(node, 'unreadable batch response', { cause });
    }
    if (results === undefined) {
      throw new NodeRequestError(node, `batch response does not hold ${ops.length} results`);
    }
    return results;
  }

  /** `GET <path>` as JSON (used for /v1/stats). */
  async json(node: string, path: string): Promise<unknown> {
    const signal = AbortSignal.timeout(this.#timeout);
    const response = await this.#request(node, `${node}${path}`, signal, { method: 'get' });
    const text = new TextDecoder().decode(await this.#read(node, response, signal));
    try {
      return JSON.parse(text) as unknown;
    } catch (cause) {
      throw new NodeRequestError(node, `${path} did not answer JSON`, { cause });
    }
  }

  /** True when `GET /healthz` answers 2xx within the timeout. */
  async healthy(node: string): Promise<boolean> {
    try {
      const signal = AbortSignal.timeout(this.#timeout);
      const response = await this.#request(node, `${node}/healthz`, signal, { method: 'get' });
      await this.#read(node, response, signal);
      return true;
    } catch {
      return false;
    }
  }

  close(): Promise<void> {
    return this.#agent.close();
  }

  async #request(
    node: string,
    url: string,
    signal: AbortSignal,
    init: { method: string; body?: Uint8Array; headers?: Record<string, string> },
  ): Promise<Response> {
    let response: Response;
    try {
      response = await this.#http(url, { ...init, signal });
    } catch (cause) {
      throw this.#failure(node, 'request failed', cause, signal);
    }
    if (response.ok) return response;
    throw await this.#httpError(node, response);
  }

  async #read(node: string, response: Response, signal: AbortSignal): Promise<ArrayBuffer> {
    try {
      return await response.arrayBuffer();
    } catch (cause) {
      throw this.#failure(node, 'response body failed', cause, signal);
    }
  }

  #failure(node: string, what: string, cause: unknown, signal: AbortSignal): NodeRequestError {
    if (signal.aborted) return new NodeTimeoutError(node, this.#timeout, { cause });
    const detail =
      cause instanceof Error
        ? cause.cause instanceof Error
          ? cause.cause.message
          : cause.message
        : String(cause);
    return new NodeRequestError(node, `${what}: ${detail}`, { cause });
  }

  async #httpError(node: string, response: Response): Promise<NodeRequestError> {
    let code: string | undefined;
    let message = `HTTP ${response.status}`;
    try {
      const body = (await response.json()) as { error?: { code?: unknown; message?: unknown } };
      if (typeof body.error?.code === 'string') code = body.error.code;
      if (typeof body.error?.message === 'string') message += ` ${code}: ${body.error.message}`;
    } catch {
      // Not the JSON error shape (a proxy's page, say): the status alone must do.
    }
    return new NodeRequestError(node, message, { status: response.status, code });
  }
}
