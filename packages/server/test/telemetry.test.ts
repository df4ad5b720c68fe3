import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { metrics, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import type { DataPoint, MetricData } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CacheServer } from '../src/index.js';
import { otelMetricOf, parsePrometheus } from '../src/observability/telemetry-metrics.js';
import { routeOf } from '../src/observability/telemetry-spans.js';
import { loadOtelApi, tracing } from '../src/observability/telemetry.js';
import { startCliNode, stopCliNodes } from './cli-node.js';

/** A reader the test collects from when it wants, instead of on a timer. */
class OnDemandReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

const spans = new InMemorySpanExporter();
const reader = new OnDemandReader();
const servers: CacheServer[] = [];

beforeAll(() => {
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }),
  );
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});

afterAll(() => {
  trace.disable();
  metrics.disable();
  propagation.disable();
});

beforeEach(() => spans.reset());

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await stopCliNodes();
});

async function startNode(nodeId: string): Promise<string> {
  const server = new CacheServer({ logLevel: 'silent', nodeId, closeTimeout: 200 });
  servers.push(server);
  return (await server.listen({ host: '127.0.0.1', port: 0 })).url;
}

/** The spans ended so far, once `count` have (a span ends on the response's 'close'). */
async function endedSpans(count: number): Promise<ReadableSpan[]> {
  const deadline = Date.now() + 5000;
  while (spans.getFinishedSpans().length < count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return spans.getFinishedSpans();
}

async function collect(): Promise<MetricData[]> {
  const { resourceMetrics } = await reader.collect();
  return resourceMetrics.scopeMetrics
    .filter((scope) => scope.scope.name === '@dcache/server')
    .flatMap((scope) => scope.metrics);
}

function pointsOf(
  collected: readonly MetricData[],
  name: string,
  nodeId: string,
): DataPoint<number>[] {
  const metric = collected.find((m) => m.descriptor.name === name);
  const points = (metric?.dataPoints ?? []) as DataPoint<number>[];
  return points.filter((point) => point.attributes.node_id === nodeId);
}

describe('server spans: one per HTTP request, while an SDK is registered', () => {
  it('names each after its /metrics op, fast paths included, with route, method and status', async () => {
    const url = await startNode('span-node');
    const key = `${url}/v1/keys/secret-key`;
    await fetch(key, { method: 'PUT', body: 'v', headers: { 'content-type': 'text/plain' } });
    await (await fetch(key)).text(); // a hit: the GET fast path
    await (await fetch(`${url}/v1/keys/missing`)).text(); // a miss: the hono route
    await (await fetch(`${key}/incr`, { method: 'POST' })).text();
    const emptyBatch = new Uint8Array([0x90]); // msgpack [] (the batch fast path)
    await (
      await fetch(`${url}/v1/batch`, {
        method: 'POST',
        body: emptyBatch,
        headers: { 'content-type': 'application/msgpack' },
      })
    ).text();
    await (await fetch(`${url}/nowhere`)).text();
    const ended = await endedSpans(6);
    const summary = ended.map((span) => [
      span.name,
      span.attributes['http.route'],
      span.attributes['http.request.method'],
      span.attributes['http.response.status_code'],
    ]);
    expect(summary).toEqual([
      ['dcache.server.set', '/v1/keys/{key}', 'PUT', 204],
      ['dcache.server.get', '/v1/keys/{key}', 'GET', 200],
      ['dcache.server.get', '/v1/keys/{key}', 'GET', 404],
      ['dcache.server.incr', '/v1/keys/{key}/incr', 'POST', 400],
      ['dcache.server.batch', '/v1/batch', 'POST', 200],
      ['dcache.server.request', undefined, 'GET', 404],
    ]);
    for (const span of ended) {
      expect(span.kind).toBe(SpanKind.SERVER);
      expect(span.attributes['dcache.node_id']).toBe('span-node');
      // A 4xx is the client's doing: not an error of the server's span.
      expect(span.status.code).toBe(SpanStatusCode.UNSET);
      expect(JSON.stringify(span.attributes)).not.toContain('secret-key');
    }
  });

  it('continues the trace of a traceparent header', async () => {
    const url = await startNode('parent-node');
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const parentId = 'b7ad6b7169203331';
    await (
      await fetch(`${url}/healthz`, { headers: { traceparent: `00-${traceId}-${parentId}-01` } })
    ).text();
    const [span] = await endedSpans(1);
    expect(span!.name).toBe('dcache.server.health');
    expect(span!.spanContext().traceId).toBe(traceId);
    expect(span!.parentSpanContext?.spanId).toBe(parentId);
  });

  it('makes none once the SDK is gone, and the node answers as before', async () => {
    const url = await startNode('untraced-node');
    trace.disable();
    try {
      expect(tracing!.tracer()).toBeUndefined();
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(spans.getFinishedSpans()).toEqual([]);
    } finally {
      trace.setGlobalTracerProvider(
        new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }),
      );
    }
  });
});

describe('server metrics: /metrics through the OpenTelemetry SDK', () => {
  it('publishes every /metrics counter and gauge under its mapped name with the same value', async () => {
    const url = await startNode('metrics-node');
    await fetch(`${url}/v1/keys/a`, { method: 'PUT', body: '1' });
    await (await fetch(`${url}/v1/keys/a`)).text();
    await (await fetch(`${url}/v1/keys/b`)).text();
    await (await fetch(`${url}/nowhere`)).text();
    const text = await (await fetch(`${url}/metrics`)).text();
    const collected = await collect();

    const families = parsePrometheus(text).filter((family) => family.type !== 'histogram');
    expect(families.map((family) => family.name)).toContain('dcache_hits_total');
    for (const family of families) {
      const { name, unit } = otelMetricOf(family.name, family.type);
      const metric = collected.find((m) => m.descriptor.name === name);
      expect(metric, `${family.name} as ${name}`).toBeDefined();
      expect(metric!.descriptor.unit).toBe(unit);
      for (const sample of family.samples) {
        if (!Number.isFinite(sample.value)) continue;
        const point = pointsOf(collected, name, 'metrics-node').find((p) =>
          Object.entries(sample.labels).every(([label, value]) => p.attributes[label] === value),
        );
        expect(point, `${family.name}${JSON.stringify(sample.labels)}`).toBeDefined();
        // Read at collection, after the /metrics request itself finished: it counts once more,
        // and is no longer active.
        if (family.name === 'dcache_requests_total' && sample.labels.op === 'metrics') {
          expect(point!.value).toBe(sample.value + 1);
        } else if (family.name === 'dcache_active_requests') {
          expect(point!.value).toBe(0);
        } else if (family.name === 'dcache_uptime_seconds') {
          expect(point!.value - sample.value).toBeLessThanOrEqual(1);
        } else {
          expect(point!.value).toBe(sample.value);
        }
      }
    }
    // Spot checks against what happened, not just against /metrics.
    expect(pointsOf(collected, 'dcache.hits', 'metrics-node')[0]!.value).toBe(1);
    expect(pointsOf(collected, 'dcache.misses', 'metrics-node')[0]!.value).toBe(1);
    const errors = pointsOf(collected, 'dcache.errors', 'metrics-node');
    expect(errors.map((p) => [p.attributes.status, p.value])).toEqual([['404', 1]]);
    const memory = collected.find((m) => m.descriptor.name === 'dcache.memory')!;
    expect(memory.descriptor.unit).toBe('By');
    expect(pointsOf(collected, 'dcache.memory', 'metrics-node')[0]!.value).toBeGreaterThan(0);
  });

  it('keeps two nodes of one process apart, and stops publishing a node once it closed', async () => {
    await startNode('node-one');
    const url = await startNode('node-two');
    await fetch(`${url}/v1/keys/k`, { method: 'PUT', body: '1' });
    let collected = await collect();
    expect(pointsOf(collected, 'dcache.sets', 'node-one')[0]!.value).toBe(0);
    expect(pointsOf(collected, 'dcache.sets', 'node-two')[0]!.value).toBe(1);
    // Closed, its cache still changes (in-process use) but is no longer read: the SDK keeps
    // showing the last value it collected.
    await servers[0]!.close();
    servers[0]!.cache.set('after-close', { bytes: new Uint8Array(1), flags: 0 });
    await fetch(`${url}/v1/keys/k2`, { method: 'PUT', body: '2' });
    collected = await collect();
    expect(pointsOf(collected, 'dcache.sets', 'node-one')[0]!.value).toBe(0);
    expect(pointsOf(collected, 'dcache.sets', 'node-two')[0]!.value).toBe(2);
  });

  it('maps /metrics names to OTel names and units that its Prometheus exporter maps back', () => {
    expect(
      [
        ['dcache_hits_total', 'counter'],
        ['dcache_memory_bytes', 'gauge'],
        ['dcache_uptime_seconds', 'gauge'],
        ['dcache_hit_ratio', 'gauge'],
        ['dcache_requests_total', 'counter'],
      ].map(([name, type]) => otelMetricOf(name!, type!)),
    ).toEqual([
      { name: 'dcache.hits', unit: '1' },
      { name: 'dcache.memory', unit: 'By' },
      { name: 'dcache.uptime', unit: 's' },
      { name: 'dcache.hit_ratio', unit: '1' },
      { name: 'dcache.requests', unit: '1' },
    ]);
  });
});

describe('routeOf', () => {
  it.each([
    ['GET', '/v1/keys/a?x=1', 'get', '/v1/keys/{key}'],
    ['HEAD', '/v1/keys/a', 'get', '/v1/keys/{key}'],
    ['PUT', '/v1/keys/a', 'set', '/v1/keys/{key}'],
    ['DELETE', '/v1/keys/a', 'delete', '/v1/keys/{key}'],
    ['POST', '/v1/keys/a/touch?ttl=5', 'touch', '/v1/keys/{key}/touch'],
    ['POST', '/v1/keys/a/decr', 'decr', '/v1/keys/{key}/decr'],
    ['POST', '/v1/flush', 'flush', '/v1/flush'],
    ['POST', '/v1/fence', 'fence', '/v1/fence'],
    ['GET', '/v1/keys?prefix=a', 'list', '/v1/keys'],
    ['POST', '/v1/restore-claim', 'claim', '/v1/restore-claim'],
    ['GET', '/metrics', 'metrics', '/metrics'],
  ])('%s %s is %s on %s', (method, url, op, route) => {
    expect(routeOf(method, url)).toEqual({ op, route });
  });

  it.each([
    ['POST', '/v1/keys/a'],
    ['GET', '/v1/keys/a/b/c'],
    ['GET', '/'],
    ['GET', undefined],
  ])('%s %s is no route', (method, url) => {
    expect(routeOf(method, url)).toBeUndefined();
  });
});

describe('without @opentelemetry/api installed', () => {
  it('a CLI node starts and serves', async () => {
    const hide = fileURLToPath(new URL('./fixtures/hide-otel.mjs', import.meta.url));
    const node = await startCliNode(['--log-level', 'silent'], {
      env: { NODE_OPTIONS: `--import ${hide}` },
    });
    await fetch(`${node.url}/v1/keys/k`, { method: 'PUT', body: 'v' });
    expect(await (await fetch(`${node.url}/v1/keys/k`)).text()).toBe('v');
    expect(await node.stop('SIGTERM')).toBe(0);
  });

  it('the published types never name it, so projects without it type-check', () => {
    // Every declaration file the package's types reach from dist/index.d.ts.
    const seen = new Set<string>();
    const queue = [fileURLToPath(new URL('../dist/index.d.ts', import.meta.url))];
    const naming: string[] = [];
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      if (text.includes('@opentelemetry/')) naming.push(file);
      for (const [, path] of text.matchAll(/(?:from '|import\(")(\.[^'"]+)\.js['"]/g)) {
        queue.push(resolve(dirname(file), `${path}.d.ts`));
      }
    }
    expect(seen.size).toBeGreaterThan(10);
    expect(naming).toEqual([]);
  });

  it('loads as a no-op instead of failing', () => {
    const absent = (id: string): never => {
      throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });
    };
    expect(loadOtelApi(absent)).toBeUndefined();
    expect(loadOtelApi()).toBeDefined();
  });
});

describe('a CLI node with an SDK registered through NODE_OPTIONS=--import', () => {
  it('exports its request spans and its /metrics', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dcache-otel-'));
    try {
      const file = join(dir, 'telemetry.jsonl');
      const setup = fileURLToPath(new URL('./fixtures/otel-setup.mjs', import.meta.url));
      const node = await startCliNode(['--node-id', 'cli-otel', '--log-level', 'silent'], {
        env: { NODE_OPTIONS: `--import ${setup}`, OTEL_TEST_FILE: file },
      });
      await fetch(`${node.url}/v1/keys/k`, { method: 'PUT', body: 'v' });
      await (await fetch(`${node.url}/v1/keys/k`)).text();
      type Record = { span?: string; metric?: string; attributes: object; value?: number };
      const records = async (): Promise<Record[]> =>
        (await readFile(file, 'utf8').catch(() => ''))
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as Record);
      const deadline = Date.now() + 10_000;
      let seen: Record[] = [];
      const hitsExported = (r: Record): boolean => r.metric === 'dcache.hits' && r.value === 1;
      while (!seen.some(hitsExported) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        seen = await records();
      }
      expect(seen.filter((r) => r.span).map((r) => r.span)).toEqual(
        expect.arrayContaining(['dcache.server.set', 'dcache.server.get']),
      );
      expect(seen.find(hitsExported)?.attributes).toEqual({ node_id: 'cli-otel' });
      expect(await node.stop('SIGTERM')).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
