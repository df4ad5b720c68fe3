import type { Agent } from 'undici';

/** The name of the ky option that carries a request body past the WHATWG Request (see below). */
export const RAW_BODY = 'dcacheBody';

type FetchInit = RequestInit & { [RAW_BODY]?: Uint8Array };

/** The bytes of each Response this adapter made, read whole before the Response existed. */
const bodies = new WeakMap<Response, Uint8Array>();

/**
 * The body of a Response from `dispatcherFetch`, without going through a web stream (which cost
 * more than the rest of the exchange); falls back to `arrayBuffer()` for any other Response.
 */
export async function bodyOf(response: Response): Promise<Uint8Array> {
  return bodies.get(response) ?? new Uint8Array(await response.arrayBuffer());
}

/**
 * A `fetch` for ky's `fetch` option that runs the Request ky built on undici's dispatcher API
 * (`Agent.request`, keep-alive connection reuse) instead of WHATWG fetch.
 *
 * Why: measured on Node 20 against a dcache node, warm, one batch request at a time, CPU per
 * request was ~1240 µs through ky + fetch, ~290 µs through ky + this adapter and ~100 µs for bare
 * `Agent.request`. Most of fetch's cost is web streams: the body of the Request (which ky clones,
 * teeing the stream) and of the Response. So the body bytes travel beside the Request, in the
 * `dcacheBody` option that ky hands to `fetch` untouched, and the answer is read whole and kept
 * beside the (body-less) Response for `bodyOf`.
 * Everything else — URL, method, headers (auth), abort signal — comes from ky's Request.
 */
export function dispatcherFetch(agent: Agent) {
  return async (input: Request | string | URL, init?: RequestInit): Promise<Response> => {
    const request = input instanceof Request ? input : new Request(input, init);
    const url = new URL(request.url);
    const headers: Record<string, string> = {};
    for (const [name, value] of request.headers) headers[name] = value;
    const answer = await agent.request({
      origin: url.origin,
      path: url.pathname + url.search,
      method: request.method as 'GET',
      headers,
      body: (init as FetchInit | undefined)?.[RAW_BODY],
      signal: request.signal,
    });
    const body = new Uint8Array(await answer.body.arrayBuffer());
    const type = answer.headers['content-type'];
    const response = new Response(null, {
      status: answer.statusCode,
      headers: typeof type === 'string' ? { 'content-type': type } : undefined,
    });
    bodies.set(response, body);
    return response;
  };
}
