import { afterEach, describe, expect, it } from 'vitest';
import { pack, unpack } from 'msgpackr';
import { buildApp, createNodeState, nodeStore } from '../src/http/app.js';
import { resolveOptions } from '../src/options.js';
import { batchRunner } from '../src/http/routes/batch-ops.js';
import { StallDetector } from '../src/replication/stall-detector.js';

describe('StallDetector', () => {
  let detector: StallDetector | undefined;
  afterEach(() => detector?.stop());

  function detect(): { stalls: number[]; advance: (ms: number) => void } {
    let now = 1000;
    const stalls: number[] = [];
    detector = new StallDetector({
      thresholdMs: 500,
      onStall: (gap) => stalls.push(gap),
      monotonic: () => now,
      intervalMs: 60_000,
    });
    detector.start();
    return { stalls, advance: (ms) => (now += ms) };
  }

  it('reports a gap longer than the threshold once, at the first look after it', () => {
    const { stalls, advance } = detect();
    advance(400);
    detector!.check();
    expect(stalls).toEqual([]);
    advance(3000);
    detector!.check();
    detector!.check();
    expect(stalls).toEqual([3000]);
  });

  it('looks every interval without a request', async () => {
    const stalls: number[] = [];
    let now = 0;
    detector = new StallDetector({
      thresholdMs: 500,
      onStall: (gap) => stalls.push(gap),
      monotonic: () => now,
      intervalMs: 5,
    });
    detector.start();
    now = 10_000;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stalls).toEqual([10_000]);
  });

  it('reports nothing before start or after stop', () => {
    const { stalls, advance } = detect();
    detector!.stop();
    advance(3000);
    detector!.check();
    expect(stalls).toEqual([]);
  });
});

describe('the request path looks for a stall before it reads', () => {
  // A detector that reports a stall at the first look: what a node sees at SIGCONT.
  function stalledNode(ringNodes: string | undefined) {
    const options = resolveOptions({ logLevel: 'silent' });
    const replicas = nodeStore(options);
    const node = createNodeState(options, replicas);
    const runBatch = batchRunner(node);
    // Written by a client that says over how many nodes it spreads keys (or does not say).
    replicas.noteRingNodes(ringNodes);
    runBatch(pack([['set', 'k', Uint8Array.of(1), 0, null, null]]));
    let looks = 0;
    replicas.beforeRead = () => {
      if (looks++ === 0) replicas.stalled();
    };
    return { node, replicas, runBatch, app: buildApp(options, replicas, node, runBatch) };
  }

  it('a batch: its first get already answers unverified', () => {
    const { runBatch } = stalledNode('3');
    const [get] = unpack(runBatch(pack([['get', 'k']]))) as unknown[][];
    expect(get![6]).toBe(true);
  });

  it.each([[undefined], ['1'], ['0'], ['two']])(
    'a node whose clients spread keys over no other node (Dcache-Ring-Nodes %s): counted, nothing fenced',
    (ringNodes) => {
      const { runBatch, replicas } = stalledNode(ringNodes);
      const [get] = unpack(runBatch(pack([['get', 'k']]))) as unknown[][];
      expect(get).toHaveLength(6);
      expect(replicas.replicaStats).toMatchObject({ stalls: 1, fences: 0 });
    },
  );

  it('a single-key GET: a miss', async () => {
    const { app, replicas } = stalledNode('3');
    expect((await app.request('/v1/keys/k')).status).toBe(404);
    expect(replicas.replicaStats).toMatchObject({ stalls: 1, staleReadsPrevented: 1 });
  });

  it('a single-key incr: a miss, nothing counted on the value held before the stall', async () => {
    const { app, replicas } = stalledNode('3');
    const five = new TextEncoder().encode('5');
    replicas.write('n', { bytes: five, flags: 2 }, undefined, null);
    const res = await app.request('/v1/keys/n/incr?delta=1', { method: 'POST' });
    expect(res.status).toBe(404);
    expect(replicas.replicaStats).toMatchObject({ stalls: 1, fences: 1, staleReadsPrevented: 1 });
    expect(replicas.peekRaw('n')!.value.bytes).toEqual(five);
  });

  it('a single-key replace (If-Match: *): 412, as the key reads as absent', async () => {
    const { app, replicas } = stalledNode('3');
    const res = await app.request('/v1/keys/k', {
      method: 'PUT',
      headers: { 'if-match': '*', 'content-type': 'application/octet-stream' },
      body: Uint8Array.of(2),
    });
    expect(res.status).toBe(412);
    expect(replicas.replicaStats).toMatchObject({ stalls: 1, fences: 1 });
    expect([...replicas.peekRaw('k')!.value.bytes]).toEqual([1]);
  });
});
