// What one node holds and counts, asked over its own HTTP API (not through the cluster client):
// the per-node view the replication and observability tests check.

import { pack, unpack } from 'msgpackr';

/** Long enough for a node on a loaded 2-core machine; a node under test never hangs on purpose. */
const ANSWER_MS = 5000;

export interface NodeValue {
  /** 200 (held), 404 (a miss on this node). */
  status: number;
  bytes: Uint8Array;
  /** The `Dcache-Flags` header (the client's value encoding). */
  flags: number | undefined;
}

/** `GET /v1/keys/<key>` on this one node. */
export async function readOnNode(url: string, key: string): Promise<NodeValue> {
  const response = await fetch(`${url}/v1/keys/${encodeURIComponent(key)}`, {
    signal: AbortSignal.timeout(ANSWER_MS),
  });
  const bytes = new Uint8Array(await response.arrayBuffer());
  const flags = response.headers.get('dcache-flags');
  return { status: response.status, bytes, flags: flags === null ? undefined : Number(flags) };
}

/**
 * What this one node holds for `key`, verified or not: a batch `get` (which repairs nothing), for
 * a node that may be fenced — its plain GET misses entries it cannot vouch for.
 */
export async function heldOnNode(
  url: string,
  key: string,
): Promise<{ status: number; bytes: Uint8Array; unverified: boolean }> {
  const response = await fetch(`${url}/v1/batch`, {
    method: 'POST',
    body: pack([['get', key]]),
    headers: { 'content-type': 'application/msgpack' },
    signal: AbortSignal.timeout(ANSWER_MS),
  });
  if (response.status !== 200) throw new Error(`${url}/v1/batch answered ${response.status}`);
  const [result] = unpack(new Uint8Array(await response.arrayBuffer())) as unknown[][];
  const status = result![0] as number;
  return status === 200
    ? { status, bytes: result![1] as Uint8Array, unverified: result![6] === true }
    : { status, bytes: new Uint8Array(0), unverified: false };
}

/** `GET /v1/stats` as JSON. */
export async function nodeStats(url: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}/v1/stats`, { signal: AbortSignal.timeout(ANSWER_MS) });
  if (response.status !== 200) throw new Error(`${url}/v1/stats answered ${response.status}`);
  return (await response.json()) as Record<string, unknown>;
}

/** `GET /metrics`: every sample without labels, by metric name. */
export async function nodeMetrics(url: string): Promise<Map<string, number>> {
  const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(ANSWER_MS) });
  if (response.status !== 200) throw new Error(`${url}/metrics answered ${response.status}`);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*) (\S+)$/.exec(line);
    if (match !== null) samples.set(match[1]!, Number(match[2]));
  }
  return samples;
}

/**
 * A stat by its name (docs/design/never-stale.md §11) at the top level of `/v1/stats`, or one
 * object down (a `replication` or `hints` section); undefined when the node does not report it.
 */
export function statNamed(stats: Record<string, unknown>, name: string): number | undefined {
  const top = stats[name];
  if (typeof top === 'number') return top;
  for (const section of Object.values(stats)) {
    if (typeof section !== 'object' || section === null || Array.isArray(section)) continue;
    const inner = (section as Record<string, unknown>)[name];
    if (typeof inner === 'number') return inner;
  }
  return undefined;
}

/** The Prometheus name of a §11 stat: `hintsStored` → `dcache_hints_stored_total`. */
export function metricName(stat: string, kind: 'counter' | 'level'): string {
  const snake = stat.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return kind === 'counter' ? `dcache_${snake}_total` : `dcache_${snake}`;
}

/** Polls `check` every 100 ms until it returns true or `ms` pass; returns its last answer. */
export async function eventually(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
