import { describe, expect, it } from 'vitest';
import { Batcher } from './batcher.js';
import type { BatcherOptions, SendBatch } from './batcher.js';
import { estimatedBytes } from './wire.js';
import type { BatchOp, BatchResult } from './wire.js';

const EXPIRED = new Error('expired while queued');

/** A Batcher with generous limits unless the test sets its own. */
function batcherOf(send: SendBatch, options: Partial<BatcherOptions> = {}): Batcher {
  return new Batcher({
    send,
    maxBatchSize: 100,
    maxBatchBytes: 1 << 20,
    timeout: 10_000,
    failsQueue: () => true,
    expired: () => EXPIRED,
    ...options,
  });
}

function recorder(fail?: Error) {
  const batches: BatchOp[][] = [];
  const send = (ops: readonly BatchOp[]): Promise<BatchResult[]> => {
    batches.push([...ops]);
    if (fail) return Promise.reject(fail);
    // Echo each key back so every caller can check it got its own result.
    return Promise.resolve(ops.map((op): BatchResult => [200, op[1]]));
  };
  return { batches, send };
}

/** A `send` whose batches stay on the wire until the test calls `pending.shift()!()`. */
function heldSender() {
  const batches: BatchOp[][] = [];
  const pending: (() => void)[] = [];
  /** The timeout each batch was sent with. */
  const budgets: number[] = [];
  const send: SendBatch = (ops, timeout) => {
    batches.push([...ops]);
    budgets.push(timeout);
    return new Promise((resolve) => {
      pending.push(() => resolve(ops.map((op): BatchResult => [200, op[1]])));
    });
  };
  return { batches, pending, budgets, send };
}

/** A `send` whose first batch stays on the wire until the test calls `fail(error)`; later batches answer 204. */
function failFirstSender() {
  let fail: (error: Error) => void = () => undefined;
  const sent: BatchOp[][] = [];
  const send = (ops: readonly BatchOp[]): Promise<BatchResult[]> => {
    sent.push([...ops]);
    if (sent.length === 1) return new Promise((_resolve, reject) => (fail = reject));
    return Promise.resolve(ops.map((): BatchResult => [204]));
  };
  return { sent, send, fail: (error: Error) => fail(error) };
}

/** Resolves on the next tick: after the batcher has sent what this tick enqueued. */
const nextTick = (): Promise<void> => new Promise((resolve) => process.nextTick(resolve));
/** Resolves after the event loop's current I/O phase (where the batcher sends what queued). */
const afterIo = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Batcher', () => {
  it('sends operations enqueued in the same tick as one batch, each caller getting its own result', async () => {
    const { batches, send } = recorder();
    const batcher = batcherOf(send);
    const results = await Promise.all(['a', 'b', 'c'].map((key) => batcher.enqueue(['get', key])));
    expect(batches).toHaveLength(1);
    expect(batches[0]).toStrictEqual([
      ['get', 'a'],
      ['get', 'b'],
      ['get', 'c'],
    ]);
    expect(results).toStrictEqual([
      [200, 'a'],
      [200, 'b'],
      [200, 'c'],
    ]);
  });

  it('collects operations issued from later promise continuations in the same tick', async () => {
    const { batches, send } = recorder();
    const batcher = batcherOf(send);
    const late = Promise.resolve()
      .then(() => undefined)
      .then(() => batcher.enqueue(['get', 'late']));
    const early = batcher.enqueue(['get', 'early']);
    await Promise.all([early, late]);
    expect(batches).toStrictEqual([
      [
        ['get', 'early'],
        ['get', 'late'],
      ],
    ]);
  });

  it('starts a new batch on the next tick', async () => {
    const { batches, send } = recorder();
    const batcher = batcherOf(send);
    await batcher.enqueue(['get', 'a']);
    await batcher.enqueue(['get', 'b']);
    expect(batches).toHaveLength(2);
  });

  it('splits at maxBatchSize and keeps results matched to callers', async () => {
    const { batches, send } = recorder();
    const batcher = batcherOf(send, { maxBatchSize: 2 });
    const keys = ['a', 'b', 'c', 'd', 'e'];
    const results = await Promise.all(keys.map((key) => batcher.enqueue(['delete', key, 1])));
    expect(batches.map((batch) => batch.length)).toStrictEqual([2, 2, 1]);
    expect(results.map((result) => result[1])).toStrictEqual(keys);
  });

  it("cuts a batch to a previous release's item budget (8 per operation): a full batch of since-adds is split", async () => {
    const { batches, send } = recorder();
    const batcher = batcherOf(send, { maxBatchSize: 100 });
    const value = new Uint8Array(1);
    const adds = Array.from({ length: 100 }, (_, i): BatchOp => [
      'set',
      `k${i}`,
      value,
      0,
      null,
      'add',
      10,
      5,
    ]);
    const gets = Array.from({ length: 100 }, (_, i): BatchOp => ['get', `g${i}`]);
    await Promise.all([...adds, ...gets].map((op) => batcher.enqueue(op)));
    // 9 items each: 88 fit in 800 (100 × 8); the gets (3 items each) are not cut by it.
    expect(batches.map((batch) => batch.length)).toStrictEqual([88, 100, 12]);
    for (const batch of batches) {
      expect(batch.reduce((items, op) => items + 1 + op.length, 0)).toBeLessThanOrEqual(800);
    }
  });

  it('rejects every caller of a failed batch with its error', async () => {
    const boom = new Error('connection refused');
    const { send } = recorder(boom);
    const batcher = batcherOf(send, { maxBatchSize: 10 });
    const settled = await Promise.allSettled([
      batcher.enqueue(['get', 'a']),
      batcher.enqueue(['get', 'b']),
    ]);
    expect(settled).toStrictEqual([
      { status: 'rejected', reason: boom },
      { status: 'rejected', reason: boom },
    ]);
  });

  it('keeps at most maxInFlight batches on the wire; what queues meanwhile leaves as one batch', async () => {
    const { batches, pending, send } = heldSender();
    const batcher = batcherOf(send, { maxBatchSize: 100, maxInFlight: 1 });
    const first = batcher.enqueue(['get', 'a']);
    await nextTick();
    expect(batcher.inFlight).toBe(1);
    // Issued over three ticks while the first batch is out: they wait, then travel together.
    const later: Promise<BatchResult>[] = [];
    for (const key of ['b', 'c', 'd']) {
      later.push(batcher.enqueue(['get', key]));
      await nextTick();
    }
    expect(batches).toHaveLength(1);
    pending.shift()!();
    expect(await first).toStrictEqual([200, 'a']);
    await afterIo();
    expect(batches).toStrictEqual([
      [['get', 'a']],
      [
        ['get', 'b'],
        ['get', 'c'],
        ['get', 'd'],
      ],
    ]);
    pending.shift()!();
    expect(await Promise.all(later)).toStrictEqual([
      [200, 'b'],
      [200, 'c'],
      [200, 'd'],
    ]);
    expect(batcher.inFlight).toBe(0);
  });

  it('a queue split by maxBatchSize still sends one batch at a time under maxInFlight 1', async () => {
    const { batches, pending, send } = heldSender();
    const batcher = batcherOf(send, { maxBatchSize: 2, maxInFlight: 1 });
    const keys = ['a', 'b', 'c', 'd', 'e'];
    const calls = keys.map((key) => batcher.enqueue(['get', key]));
    await nextTick();
    expect(batches.map((batch) => batch.map((op) => op[1]))).toStrictEqual([['a', 'b']]);
    expect(batcher.inFlight).toBe(1);
    expect(batcher.queued).toBe(3);
    pending.shift()!();
    await calls[1];
    await afterIo();
    expect(batches.map((batch) => batch.map((op) => op[1]))).toStrictEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    expect(batcher.inFlight).toBe(1);
    pending.shift()!();
    await calls[3];
    await afterIo();
    pending.shift()!();
    expect((await Promise.all(calls)).map((result) => result[1])).toStrictEqual(keys);
    expect(batches.map((batch) => batch.length)).toStrictEqual([2, 2, 1]);
  });

  it('after an answer lands, waits for the rest of this turn of I/O before sending what queued', async () => {
    const { batches, pending, send } = heldSender();
    const batcher = batcherOf(send, { maxBatchSize: 100, maxInFlight: 1 });
    void batcher.enqueue(['get', 'a']);
    await nextTick();
    const queued = batcher.enqueue(['get', 'b']);
    // Stands for another node's answer, read in the same turn as this node's: its caller's next
    // operation for this node must travel with 'b', not in a batch of its own.
    let late: Promise<BatchResult> | undefined;
    setImmediate(() => (late = batcher.enqueue(['get', 'c'])));
    pending.shift()!();
    await afterIo();
    await afterIo();
    expect(batches).toStrictEqual([
      [['get', 'a']],
      [
        ['get', 'b'],
        ['get', 'c'],
      ],
    ]);
    pending.shift()!();
    expect(await Promise.all([queued, late])).toStrictEqual([
      [200, 'b'],
      [200, 'c'],
    ]);
  });

  it('a failed batch fails the operations queued behind it, then frees its slot', async () => {
    const { sent, send, fail } = failFirstSender();
    const batcher = batcherOf(send, { maxBatchSize: 100, maxInFlight: 1 });
    const failed = batcher.enqueue(['delete', 'a', 1]);
    await nextTick();
    const queued = batcher.enqueue(['delete', 'b', 1]);
    fail(new Error('timed out'));
    await expect(failed).rejects.toThrow('timed out');
    // It waited for the same node; it must not wait a second time.
    await expect(queued).rejects.toThrow('timed out');
    expect(sent).toStrictEqual([[['delete', 'a', 1]]]);
    await expect(batcher.enqueue(['delete', 'c', 1])).resolves.toStrictEqual([204]);
    expect(batcher.inFlight).toBe(0);
  });

  it('splits at maxBatchBytes; an operation bigger than the limit travels alone', async () => {
    const { batches, send } = recorder();
    const set = (key: string, size: number): BatchOp => [
      'set',
      key,
      new Uint8Array(size),
      0,
      null,
      null,
      1,
    ];
    const ops = [set('a', 400), set('b', 400), set('c', 2000), set('d', 100), set('e', 100)];
    // Room for two of the 400-byte values (with their framing) but not three.
    const limit = estimatedBytes(ops[0]!) * 2 + 10;
    const batcher = batcherOf(send, { maxBatchBytes: limit });
    const results = await Promise.all(ops.map((op) => batcher.enqueue(op)));
    expect(batches.map((batch) => batch.map((op) => op[1]))).toStrictEqual([
      ['a', 'b'],
      ['c'],
      ['d', 'e'],
    ]);
    for (const batch of batches.filter((b) => b.length > 1)) {
      expect(batch.reduce((sum, op) => sum + estimatedBytes(op), 0)).toBeLessThanOrEqual(limit);
    }
    expect(results.map((result) => result[1])).toStrictEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('a refused batch (failsQueue false) fails only itself: what queued behind it is still sent', async () => {
    const { sent, send, fail: refuse } = failFirstSender();
    const refusal = new Error('413 body too large');
    const batcher = batcherOf(send, { failsQueue: (error) => error !== refusal });
    const refused = batcher.enqueue(['delete', 'a', 1]);
    await nextTick();
    const queued = batcher.enqueue(['delete', 'b', 1]);
    refuse(refusal);
    await expect(refused).rejects.toBe(refusal);
    await expect(queued).resolves.toStrictEqual([204]);
    expect(sent).toStrictEqual([[['delete', 'a', 1]], [['delete', 'b', 1]]]);
  });

  it("an operation's timeout counts from enqueue: a batch gets what is left of its oldest one's", async () => {
    let clock = 1_000;
    const { batches, pending, budgets, send } = heldSender();
    const batcher = batcherOf(send, { timeout: 1000, now: () => clock });
    const first = batcher.enqueue(['get', 'a']);
    await nextTick();
    clock += 100;
    const second = batcher.enqueue(['get', 'b']);
    clock += 50;
    const third = batcher.enqueue(['get', 'c']);
    clock += 600; // the first batch takes 750 ms to answer
    pending.shift()!();
    await first;
    await afterIo();
    expect(batches).toHaveLength(2);
    // 'b' was enqueued 650 ms ago: its batch may take 350 ms more, not a whole second.
    expect(budgets).toStrictEqual([1000, 350]);
    pending.shift()!();
    expect(await Promise.all([second, third])).toStrictEqual([
      [200, 'b'],
      [200, 'c'],
    ]);
  });

  it('operations whose whole timeout passed in the queue fail without being sent', async () => {
    let clock = 0;
    const { batches, pending, send } = heldSender();
    const batcher = batcherOf(send, { timeout: 1000, now: () => clock });
    const first = batcher.enqueue(['get', 'a']);
    await nextTick();
    const stale = batcher.enqueue(['get', 'b']);
    clock += 1000; // the first batch answered just in time; 'b' has no time left
    pending.shift()!();
    expect(await first).toStrictEqual([200, 'a']);
    await expect(stale).rejects.toBe(EXPIRED);
    expect(batches).toHaveLength(1);
    expect(batcher.inFlight).toBe(0);
    expect(batcher.queued).toBe(0);
    // The slot is free again: the next operation goes out with a whole timeout.
    const next = batcher.enqueue(['get', 'c']);
    await nextTick();
    pending.shift()!();
    expect(await next).toStrictEqual([200, 'c']);
  });

  it('only the operations whose own time ran out fail; newer ones in the same queue are sent', async () => {
    let clock = 0;
    const { batches, pending, budgets, send } = heldSender();
    const batcher = batcherOf(send, { timeout: 1000, now: () => clock });
    const first = batcher.enqueue(['get', 'a']);
    await nextTick();
    clock = 10;
    const old = batcher.enqueue(['get', 'old']);
    clock = 950;
    const fresh = batcher.enqueue(['get', 'fresh']);
    clock = 1015; // the first batch answers: 'old' has waited 1005 ms, 'fresh' 65 ms
    pending.shift()!();
    await first;
    await expect(old).rejects.toBe(EXPIRED);
    await afterIo();
    expect(batches.map((batch) => batch.map((op) => op[1]))).toStrictEqual([['a'], ['fresh']]);
    expect(budgets).toStrictEqual([1000, 935]);
    pending.shift()!();
    expect(await fresh).toStrictEqual([200, 'fresh']);
  });

  it('counts batches, their operations and batches in flight over time', async () => {
    let now = 0;
    const { pending, send } = heldSender();
    const batcher = batcherOf(send, { maxInFlight: 2, now: () => now });
    expect(batcher.stats()).toStrictEqual({ batches: 0, operations: 0, inFlightMs: 0 });
    const first = [batcher.enqueue(['get', 'a']), batcher.enqueue(['get', 'b'])];
    await nextTick();
    now = 10;
    // As many as the batch on the wire: they take the second slot.
    const second = Promise.all([batcher.enqueue(['get', 'c']), batcher.enqueue(['get', 'd'])]);
    await nextTick();
    // 10 ms with one batch out, then two.
    now = 15;
    expect(batcher.stats()).toStrictEqual({ batches: 2, operations: 4, inFlightMs: 20 });
    pending.shift()!();
    await Promise.all(first);
    now = 25;
    pending.shift()!();
    await second;
    now = 40;
    // One batch out from 15 to 25 (+ 10), then none: idle time adds nothing.
    expect(batcher.stats()).toStrictEqual({ batches: 2, operations: 4, inFlightMs: 30 });
  });

  it('with a slot free, what queues behind a batch leaves once it is as long as that batch', async () => {
    const { batches, pending, send } = heldSender();
    const batcher = batcherOf(send, { maxInFlight: 2 });
    const first = ['a', 'b', 'c'].map((key) => batcher.enqueue(['get', key]));
    await nextTick();
    // Shorter than the batch on the wire: it waits for the answer, growing meanwhile.
    const later = [batcher.enqueue(['get', 'd']), batcher.enqueue(['get', 'e'])];
    await afterIo();
    expect(batches).toHaveLength(1);
    // Now as long: the load outpaces the answers, and the second slot is used.
    later.push(batcher.enqueue(['get', 'f']));
    await nextTick();
    expect(batches).toHaveLength(2);
    expect(batches[1]).toStrictEqual([
      ['get', 'd'],
      ['get', 'e'],
      ['get', 'f'],
    ]);
    expect(batcher.inFlight).toBe(2);
    // Both slots taken: however long the queue grows, it waits for an answer.
    const waiting = ['g', 'h', 'i', 'j'].map((key) => batcher.enqueue(['get', key]));
    await afterIo();
    expect(batches).toHaveLength(2);
    pending.shift()!();
    await Promise.all(first);
    await afterIo();
    expect(batches).toHaveLength(3);
    expect(batches[2]).toHaveLength(4);
    pending.shift()!();
    pending.shift()!();
    expect(await Promise.all([...later, ...waiting])).toHaveLength(7);
  });

  it('with nothing on the wire an operation leaves on the next tick, whatever the last batch was', async () => {
    const { batches, pending, send } = heldSender();
    const batcher = batcherOf(send, { maxInFlight: 2 });
    const big = ['a', 'b', 'c', 'd'].map((key) => batcher.enqueue(['get', key]));
    await nextTick();
    pending.shift()!();
    await Promise.all(big);
    const lone = batcher.enqueue(['get', 'e']);
    await nextTick();
    expect(batches).toHaveLength(2);
    pending.shift()!();
    expect(await lone).toStrictEqual([200, 'e']);
  });

  it('a flush waits for the batches on the wire: a write sent before it cannot land after it', async () => {
    const { batches, pending, send } = heldSender();
    const batcher = batcherOf(send, { maxInFlight: 2 });
    const write = batcher.enqueue(['delete', 'a', 1]);
    await nextTick();
    // A slot is free and the queue is as long as the last batch, yet the flush waits.
    const flushed = batcher.enqueue(['flush']);
    const after = batcher.enqueue(['get', 'b']);
    await afterIo();
    expect(batches).toHaveLength(1);
    pending.shift()!();
    await write;
    await afterIo();
    expect(batches).toStrictEqual([[['delete', 'a', 1]], [['flush'], ['get', 'b']]]);
    pending.shift()!();
    await Promise.all([flushed, after]);
  });

  it('what was queued before a flush may still use a free slot; the flush and what follows wait', async () => {
    const { batches, pending, send } = heldSender();
    const batcher = batcherOf(send, { maxInFlight: 2 });
    const first = batcher.enqueue(['get', 'a']);
    await nextTick();
    const before = batcher.enqueue(['get', 'b']);
    const flushed = batcher.enqueue(['flush']);
    await nextTick();
    expect(batches).toStrictEqual([[['get', 'a']], [['get', 'b']]]);
    pending.shift()!();
    pending.shift()!();
    await Promise.all([first, before]);
    await afterIo();
    expect(batches[2]).toStrictEqual([['flush']]);
    pending.shift()!();
    await flushed;
    expect(batcher.queued).toBe(0);
  });
});
