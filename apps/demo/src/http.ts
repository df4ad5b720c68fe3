/** Small fetch wrappers with a timeout, for polling nodes; the walkthrough itself goes through @dcache/client. */

export interface RequestOptions {
  token?: string | undefined;
  timeoutMs?: number;
}

function headers(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

/** GETs JSON; throws on a network error, a timeout or a non-2xx status (naming the URL and status). */
export async function getJson<T>(url: string, options: RequestOptions = {}): Promise<T> {
  const response = await fetch(url, {
    headers: headers(options.token),
    signal: AbortSignal.timeout(options.timeoutMs ?? 1000),
  });
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`GET ${url} answered ${response.status}`);
  }
  return (await response.json()) as T;
}

/** True when `url` answers 2xx within the timeout; never throws. */
export async function answers(url: string, options: RequestOptions = {}): Promise<boolean> {
  try {
    const response = await fetch(url, {
      headers: headers(options.token),
      signal: AbortSignal.timeout(options.timeoutMs ?? 500),
    });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}
