import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { createApp, VERSION } from '../src/index.js';

async function stats(app: ReturnType<typeof createApp>): Promise<Record<string, unknown>> {
  return (await (await app.request('/v1/stats')).json()) as Record<string, unknown>;
}

function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`no sample ${name}`);
  return Number(line.slice(name.length + 1));
}

describe('GET /v1/stats, /metrics and /healthz', () => {
  it('reports the core counters at the top level, plus node identity and request counts', async () => {
    const app = createApp({ nodeId: 'node-a', maxMemory: '2mb' });
    await app.request('/v1/keys/a', {
      method: 'PUT',
      body: 'x',
      headers: { 'content-type': 'text/plain' },
    });
    await app.request('/v1/keys/a');
    await app.request('/v1/keys/b');
    await app.request('/v1/keys/b', { method: 'POST' });
    const s = await stats(app);
    expect(s).toMatchObject({
      hits: 1,
      misses: 1,
      sets: 1,
      items: 1,
      maxMemory: 2 * 1024 * 1024,
      evictions: 0,
      nodeId: 'node-a',
      version: VERSION,
      requests: { get: 2, set: 1, delete: 0, batch: 0 },
      errors: { 405: 1 },
    });
    expect(s.memoryUsed).toBeGreaterThan(0);
    expect(typeof s.uptime).toBe('number');
  });

  it('counts refused requests per status in errors, but not a 404 for a missing key', async () => {
    const app = createApp();
    const put = (path: string, headers: Record<string, string> = {}) =>
      app.request(path, {
        method: 'PUT',
        body: 'x',
        headers: { 'content-type': 'text/plain', ...headers },
      });
    await put('/v1/keys/a');
    await app.request('/v1/keys/missing'); // 404 miss: not counted
    await app.request('/v1/keys/missing', { method: 'HEAD' }); // 404 miss: not counted
    await app.request('/v1/keys/missing', { method: 'DELETE' }); // 404: not counted
    await app.request('/v1/keys/missing/incr', { method: 'POST' }); // 404: not counted
    await app.request('/nowhere'); // 404 no such route: counted
    await app.request('/v1/keys/a', { method: 'POST' }); // 405
    await put('/v1/keys/a?ttl=-1'); // 400
    await put('/v1/keys/a', { 'if-none-match': '*' }); // 412
    await app.request('/v1/batch', {
      method: 'POST',
      body: pack([
        ['get', ''],
        ['get', 'missing'],
      ]), // per-op 400 and 404: the batch is a 200
      headers: { 'content-type': 'application/msgpack' },
    });
    const expected = { 400: 1, 404: 1, 405: 1, 412: 1 };
    expect((await stats(app)).errors).toEqual(expected);
    const text = await (await app.request('/metrics')).text();
    for (const [status, count] of Object.entries(expected)) {
      expect(sample(text, `dcache_errors_total{status="${status}"}`)).toBe(count);
    }
  });

  it('exposes the same counters in Prometheus format with _total suffixes', async () => {
    const app = createApp({ nodeId: 'node-b', maxItems: 1 });
    for (const key of ['a', 'b']) {
      await app.request(`/v1/keys/${key}`, {
        method: 'PUT',
        body: 'x',
        headers: { 'content-type': 'text/plain' },
      });
    }
    await app.request('/v1/keys/b');
    await app.request('/v1/keys/a');
    const res = await app.request('/metrics');
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const s = await stats(app);
    expect(sample(text, 'dcache_hits_total')).toBe(s.hits);
    expect(sample(text, 'dcache_misses_total')).toBe(s.misses);
    expect(sample(text, 'dcache_evictions_total')).toBe(1);
    expect(sample(text, 'dcache_evictions_total')).toBe(s.evictions);
    expect(sample(text, 'dcache_items')).toBe(s.items);
    expect(sample(text, 'dcache_memory_bytes')).toBe(s.memoryUsed);
    expect(sample(text, 'dcache_requests_total{op="get"}')).toBe(2);
    expect(sample(text, 'dcache_requests_total{op="set"}')).toBe(2);
    expect(text).toContain('dcache_info{node_id="node-b",version="');
    expect(sample(text, 'dcache_request_duration_seconds_count{op="get"}')).toBe(2);
    expect(sample(text, 'dcache_request_duration_seconds_bucket{op="get",le="+Inf"}')).toBe(2);
    expect(text).toMatch(/# TYPE dcache_request_duration_seconds histogram/);
  });

  it('histogram buckets are cumulative and end at the count', async () => {
    const app = createApp();
    for (let i = 0; i < 5; i++) await app.request('/v1/keys/x');
    const text = await (await app.request('/metrics')).text();
    const buckets = text
      .split('\n')
      .filter((l) => l.startsWith('dcache_request_duration_seconds_bucket{op="get"'))
      .map((l) => Number(l.split(' ')[1]));
    expect(buckets.length).toBeGreaterThan(2);
    for (let i = 1; i < buckets.length; i++)
      expect(buckets[i]).toBeGreaterThanOrEqual(buckets[i - 1]!);
    expect(buckets.at(-1)).toBe(5);
  });

  it('/healthz answers ok with the node id', async () => {
    const res = await createApp({ nodeId: 'n1' }).request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', nodeId: 'n1' });
  });
});
