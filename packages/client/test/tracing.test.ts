import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from '../../server/test/cli-node.js';
import type { CliNode } from '../../server/test/cli-node.js';
import { DistributedCacheClient, isCacheUnavailableError } from '../src/index.js';
import { loadOtelApi, tracing } from '../src/telemetry.js';
import { encodeValue } from '../src/codec.js';
import { rawBatch } from './raw-node.js';

const spans = new InMemorySpanExporter();
/** Names of the spans started: one never ended is never exported, so only this shows it. */
const started: string[] = [];
const startedSpans: SpanProcessor = {
  onStart: (span: Span) => void started.push(span.name),
  onEnd: () => undefined,
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};
const provider = (): BasicTracerProvider =>
  new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans), startedSpans] });

let nodes: CliNode[] = [];
let client: DistributedCacheClient | undefined;

beforeAll(() => {
  trace.setGlobalTracerProvider(provider());
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});

afterAll(() => {
  trace.disable();
  context.disable();
});

beforeEach(async () => {
  nodes = await Promise.all([0, 1, 2].map(() => startCliNode(['--log-level', 'silent'])));
  client = new DistributedCacheClient(
    nodes.map((node) => node.url),
    // A generous timeout: a loaded machine must not turn into a failover the test did not make.
    { replicas: 2, timeout: 10_000 },
  );
  spans.reset();
  started.length = 0;
});

afterEach(async () => {
  await client?.close();
  client = undefined;
  await stopCliNodes();
});

/** The spans of calls made so far, by name (the client ends a call's span before it resolves). */
function ended(name: string): ReadableSpan[] {
  return spans.getFinishedSpans().filter((span) => span.name === name);
}

function only(name: string): ReadableSpan {
  const found = ended(name);
  expect(found, name).toHaveLength(1);
  return found[0]!;
}

/** The CLI node at `url` (the client's normalised form of its URL). */
function nodeAt(url: string): CliNode {
  return nodes.find((node) => new URL(node.url).host === new URL(url).host)!;
}

describe('client spans: one per public call, with what the call did', () => {
  it('a call refused for an unknown option starts no span (it would never end)', async () => {
    const bad = { expires: 5 } as never;
    const refused = [
      client!.set('k', 1, bad),
      client!.delete('k', bad),
      client!.touch('k', 1000, bad),
      client!.flush(bad),
      client!.deleteMany(['k'], bad),
      client!.getStats(bad),
    ];
    for (const call of refused) await expect(call).rejects.toThrow(TypeError);
    expect(started).toEqual([]);
  });

  it('a get that hits on the primary, a child of the caller’s span', async () => {
    await client!.set('user:1', { name: 'Ada' });
    const tracer = trace.getTracer('test');
    await tracer.startActiveSpan('handle-request', async (parent) => {
      expect(await client!.get('user:1')).toEqual({ name: 'Ada' });
      parent.end();
    });
    const get = only('dcache.get');
    expect(get.kind).toBe(SpanKind.CLIENT);
    expect(get.parentSpanContext?.spanId).toBe(only('handle-request').spanContext().spanId);
    expect(get.status.code).toBe(SpanStatusCode.UNSET);
    expect(get.attributes).toMatchObject({
      'db.system.name': 'dcache',
      'db.operation.name': 'get',
      'dcache.key_count': 1,
      'dcache.nodes_tried': 1,
      'dcache.failovers': 0,
      'dcache.read_repairs': 0,
      'dcache.hits': 1,
      'dcache.misses': 0,
      'dcache.batch_size': 1,
    });
    expect(only('dcache.set').attributes).toMatchObject({
      'db.operation.name': 'set',
      'dcache.nodes_tried': 2, // both replicas
      'dcache.failovers': 0,
    });
    expect(only('dcache.set').attributes['dcache.hits']).toBeUndefined();
  });

  it('getMany counts hits, misses, every replica asked and the batch it rode in', async () => {
    const present = ['a', 'b', 'c', 'd', 'e'];
    await client!.setMany(present.map((key) => [key, key]));
    const found = await client!.getMany([...present, 'x', 'y', 'z']);
    expect(found.size).toBe(5);
    expect(only('dcache.setMany').attributes).toMatchObject({
      'dcache.key_count': 5,
      'dcache.nodes_tried': 10,
    });
    const getMany = only('dcache.getMany');
    expect(getMany.attributes).toMatchObject({
      'dcache.key_count': 8,
      'dcache.hits': 5,
      'dcache.misses': 3,
      // A hit asks its primary; a miss asks both replicas.
      'dcache.nodes_tried': 5 + 3 * 2,
      'dcache.failovers': 0,
    });
    // 8 keys over 3 nodes in one tick: some node's batch carried several.
    expect(getMany.attributes['dcache.batch_size']).toBeGreaterThan(1);
  });

  it('a get whose primary is dead fails over to the replica', async () => {
    await client!.set('k', 'v');
    await nodeAt(client!.nodesFor('k')[0]!).stop('SIGKILL');
    spans.reset();
    expect(await client!.get('k')).toBe('v');
    expect(only('dcache.get').attributes).toMatchObject({
      'dcache.nodes_tried': 2,
      'dcache.failovers': 1,
      'dcache.hits': 1,
    });
  });

  it('a get that finds the value on the replica only repairs the primary', async () => {
    // On the replica only (as after the primary lost it): not deleted on the primary, since a
    // delete's tombstone would rightly make the replica's older copy a miss.
    const replica = client!.nodesFor('k')[1]!;
    const { bytes, flags } = encodeValue('v');
    const [stored] = await rawBatch(replica, [['set', 'k', bytes, flags, null, null, 1]]);
    expect(stored![0]).toBe(204);
    spans.reset();
    expect(await client!.get('k')).toBe('v');
    expect(only('dcache.get').attributes).toMatchObject({
      'dcache.nodes_tried': 2,
      'dcache.failovers': 0,
      'dcache.read_repairs': 1,
      'dcache.hits': 1,
    });
  });

  it('a call that fails records the error and ends with status ERROR', async () => {
    for (const url of client!.nodesFor('k')) await nodeAt(url).stop('SIGKILL');
    const error = await client!.get('k').catch((caught: unknown) => caught);
    expect(isCacheUnavailableError(error)).toBe(true);
    const get = only('dcache.get');
    expect(get.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: (error as Error).message,
    });
    expect(get.attributes).toMatchObject({
      'error.type': 'CacheUnavailableError',
      'dcache.nodes_tried': 2,
      'dcache.failovers': 2,
    });
    expect(get.events.map((event) => event.name)).toEqual(['exception']);
  });

  it('a node refusing the call (a wrong token) is no failover', async () => {
    // Nodes that want a token: each answers 401, up and answering, which no failover counts.
    const guarded = await Promise.all(
      [0, 1].map(() => startCliNode(['--log-level', 'silent', '--token', 'right'])),
    );
    const wrong = new DistributedCacheClient(
      guarded.map((node) => node.url),
      { replicas: 2, token: 'wrong', timeout: 10_000 },
    );
    try {
      const calls = [() => wrong.get('k'), () => wrong.set('k', 1), () => wrong.flush()];
      for (const call of calls) await expect(call()).rejects.toThrow(/401/);
    } finally {
      await wrong.close();
    }
    for (const name of ['dcache.get', 'dcache.set', 'dcache.flush']) {
      const span = only(name);
      expect(span.status.code, name).toBe(SpanStatusCode.ERROR);
      expect(span.attributes, name).toMatchObject({ 'dcache.failovers': 0 });
    }
  });

  it('names every public call dcache.<method>', async () => {
    const c = client!;
    await c.set('s', 1);
    await c.add('a', 1);
    await c.replace('a', 2);
    await c.getAndTouch('a', 60_000);
    await c.has('a');
    await c.touch('a', 60_000);
    await c.incr('n', 1, { initial: 5 });
    await c.decr('n');
    const versioned = await c.getVersioned('a');
    await c.compareAndSet('a', 3, versioned!.version);
    await c.getOrSet('loaded', () => 'from source');
    await c.delete('s');
    await c.deleteMany(['a']);
    await c.getStats();
    await c.flush();
    expect(spans.getFinishedSpans().map((span) => span.name)).toEqual(
      [
        'set',
        'add',
        'replace',
        'getAndTouch',
        'has',
        'touch',
        'incr',
        'decr',
        'getVersioned',
        'compareAndSet',
        'getOrSet',
        'delete',
        'deleteMany',
        'getStats',
        'flush',
      ].map((method) => `dcache.${method}`),
    );
    expect(only('dcache.getOrSet').attributes).toMatchObject({ 'dcache.misses': 1 });
    expect(only('dcache.flush').attributes).toMatchObject({ 'dcache.nodes_tried': 3 });
    expect(only('dcache.getStats').attributes).toMatchObject({ 'dcache.nodes_tried': 3 });
  });

  it('makes no span without an SDK, and the calls work as before', async () => {
    trace.disable();
    try {
      expect(tracing!.tracer()).toBeUndefined();
      await client!.set('k', 'v');
      expect(await client!.get('k')).toBe('v');
      expect(spans.getFinishedSpans()).toEqual([]);
    } finally {
      trace.setGlobalTracerProvider(provider());
    }
  });
});

describe('without @opentelemetry/api installed', () => {
  it('the built client loads and works', async () => {
    const hide = fileURLToPath(
      new URL('../../server/test/fixtures/hide-otel.mjs', import.meta.url),
    );
    const dist = new URL('../dist/index.js', import.meta.url).href;
    const script = `
      const { DistributedCacheClient } = await import(${JSON.stringify(dist)});
      const client = new DistributedCacheClient([${JSON.stringify(nodes[0]!.url)}]);
      await client.set('k', 'without otel');
      console.log(await client.get('k'));
      await client.close();
    `;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', hide, '--input-type=module', '-e', script],
      { timeout: 20_000 },
    );
    expect(stdout.trim()).toBe('without otel');
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
