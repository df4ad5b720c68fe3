import { ENTRY_OVERHEAD, heapStringBytes, stampAt, writeFingerprint } from '@dcache/core';
import { pack, unpack } from 'msgpackr';
import { describe, expect, it, vi } from 'vitest';
import { batchCodec } from '../src/http/codec/msgpack.js';
import { createApp, STORED_VALUE_OVERHEAD_BYTES } from '../src/index.js';
import type { ServerOptions } from '../src/index.js';
import { errorOf, manualClock } from './helpers.js';

async function run(app: ReturnType<typeof createApp>, ops: unknown[]): Promise<unknown[][]> {
  const res = await app.request('/v1/batch', {
    method: 'POST',
    body: pack(ops),
    headers: { 'content-type': 'application/msgpack' },
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/msgpack');
  return unpack(new Uint8Array(await res.arrayBuffer())) as unknown[][];
}

const bytes = (text: string) => new TextEncoder().encode(text);

function concatBytes(head: Uint8Array, tail: number[]): Uint8Array {
  const out = new Uint8Array(head.length + tail.length);
  out.set(head);
  out.set(tail, head.length);
  return out;
}

/** An already-encoded msgpack item, spliced into `packRaw`'s output as is. */
interface Raw {
  raw: number[];
}

function int64Bytes(n: bigint): number[] {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt.asUintN(64, n));
  return [...new Uint8Array(view.buffer)];
}

/** msgpack of an array of operations (each under 16 items), with Raw items written verbatim. */
function packRaw(ops: unknown[][]): Uint8Array {
  const out: number[] = [0xdc, ops.length >> 8, ops.length & 0xff];
  for (const op of ops) {
    out.push(0x90 + op.length);
    for (const item of op) {
      if (typeof item === 'object' && item !== null && 'raw' in item)
        out.push(...(item as Raw).raw);
      else out.push(...pack(item));
    }
  }
  return new Uint8Array(out);
}

/** Results carry the stamp that stands (docs/wire-protocol.md, Replication). */
const STAMP = expect.any(Number) as unknown;
/** A miss: no tombstone, and the node's vouching floor. */
const MISS = [404, null, STAMP];

describe('POST /v1/batch', () => {
  it('answers every operation in order, one result each', async () => {
    const clock = manualClock();
    const app = createApp({ now: clock.now });
    const results = await run(app, [
      ['set', 'a', bytes('1'), 16, 5000, null],
      ['get', 'a'],
      ['get', 'missing'],
      ['set', 'b', bytes('x'), 0, null, null],
      ['delete', 'b'],
      ['delete', 'b'],
      ['touch', 'a', 0],
      ['touch', 'missing', 10],
      ['incr', 'a', 41],
      ['incr', 'a', -50],
      ['incr', 'missing', 1],
    ]);
    expect(results).toHaveLength(11);
    const [set, get, miss, setB, del, delAgain, touch, touchMiss, incr, decr, incrMiss] = results;
    expect(set![0]).toBe(204);
    expect(typeof set![1]).toBe('number');
    expect(get).toEqual([200, bytes('1'), 16, set![1], 5000, STAMP]);
    expect(miss).toEqual(MISS);
    expect(setB![0]).toBe(204);
    expect(del).toEqual([204, STAMP]);
    expect(delAgain).toEqual([404, STAMP]);
    expect(touch).toEqual([204, STAMP]);
    expect(touchMiss).toEqual([404]);
    expect(incr).toEqual([200, 42, STAMP]);
    expect(decr).toEqual([200, 0, STAMP]);
    expect(incrMiss).toEqual([404]);
    // touch with 0 made it permanent: the get after it has no TTL. "42" decr 50 is "0 ", padded
    // in place as memcached's decr stores it.
    clock.advance(10_000);
    expect((await run(app, [['get', 'a']]))[0]).toEqual([
      200,
      bytes('0 '),
      16,
      expect.any(Number),
      null,
      STAMP,
    ]);
  });

  it('creates a missing counter from ["incr", key, delta, initial, ttlMs], as JSON, returning initial', async () => {
    const clock = manualClock();
    const app = createApp({ now: clock.now });
    const results = await run(app, [
      ['incr', 'c', 5, 10, 1000],
      ['incr', 'c', 5, 99, 60_000],
      ['incr', 'd', -3, 7, null],
      ['incr', 'e', 1, null, null],
      ['get', 'c'],
      ['get', 'd'],
    ]);
    expect(results.slice(0, 4)).toEqual([
      [200, 10, STAMP],
      [200, 15, STAMP],
      [200, 7, STAMP],
      [404],
    ]);
    expect(results[4]).toEqual([200, bytes('15'), 2, expect.any(Number), 1000, STAMP]);
    expect(results[5]).toEqual([200, bytes('7'), 2, expect.any(Number), null, STAMP]);
  });

  it('an ordered incr (seventh element true) stamped at or below the write its count starts from counts nothing: [200, value, storedStamp, true]', async () => {
    const app = createApp();
    const at = stampAt(Date.now() + 1);
    await run(app, [['set', 'c', bytes('10'), 0, null, null, at]]);
    const [counted, late, lateAtIt] = await run(app, [
      ['incr', 'c', 1, null, null, at + 5, true],
      // Issued before the set (delivered late, its replica paused): it would count on the set.
      ['incr', 'c', 100, null, null, at - 3, true],
      ['incr', 'c', 100, null, null, at, true],
    ]);
    expect(counted).toEqual([200, 11, at + 5]);
    expect(late).toEqual([200, 11, at + 5, true]);
    expect(lateAtIt).toEqual([200, 11, at + 5, true]);
    // Above the set but below the last count (another client's incr, its clock behind): incrs add
    // up in any order, so it counts, stamped above the count.
    const [between] = await run(app, [['incr', 'c', 2, null, null, at + 2, true]]);
    expect(between).toEqual([200, 13, at + 6]);
    // A newer set starts the count afresh: an incr issued before it counts nothing on it.
    await run(app, [['set', 'c', bytes('20'), 0, null, null, at + 9]]);
    const [beforeSet] = await run(app, [['incr', 'c', 1, null, null, at + 7, true]]);
    expect(beforeSet).toEqual([200, 20, at + 9, true]);
    // Unstamped (HTTP, memcached), an incr is stamped by the node and counts as before.
    const [unstamped] = await run(app, [['incr', 'c', 1]]);
    expect(unstamped![1]).toBe(21);
    expect(unstamped![2]).toBeGreaterThan(at + 9);
    expect(unstamped).toHaveLength(3);
    // Without the seventh element (a client before it, which reads any 200 as a count) a late
    // incr counts as before: refused, its count would be lost.
    const [legacy] = await run(app, [['incr', 'c', 1, null, null, at + 8]]);
    expect(legacy![1]).toBe(22);
    expect(legacy).toHaveLength(3);
  });

  it('a touch is no write an ordered incr counts from: one issued after the set and before the touch still counts', async () => {
    const app = createApp();
    const at = stampAt(Date.now() + 1);
    await run(app, [
      ['set', 'c', bytes('10'), 0, null, null, at],
      ['set', 'g', bytes('10'), 0, null, null, at],
    ]);
    // Touched (and got-and-touched) at at + 10, then an incr issued at at + 5 arrives late (its
    // replica paused): a replica it reached before the touch counted it, then took the touch at
    // at + 10. Answered superseded here, this replica would hold 10 at at + 10 beside that
    // replica's 11 at at + 10 — the count lost here, and the copies unequal under one stamp.
    await run(app, [
      ['touch', 'c', 60_000, at + 10],
      ['get', 'g', 60_000, null, at + 10],
    ]);
    const [counted, gotCounted] = await run(app, [
      ['incr', 'c', 1, null, null, at + 5, true],
      ['incr', 'g', 1, null, null, at + 5, true],
    ]);
    expect(counted).toEqual([200, 11, at + 11]);
    expect(gotCounted).toEqual([200, 11, at + 11]);
    // The set still bounds it: an incr issued before the set counts nothing.
    const [beforeSet] = await run(app, [['incr', 'c', 1, null, null, at - 1, true]]);
    expect(beforeSet).toEqual([200, 11, at + 11, true]);
  });

  it('an ordered seeded incr stamped at or below the delete or flush the key is absent since creates nothing: [200, initial, thatStamp, true]', async () => {
    const app = createApp();
    const at = stampAt(Date.now() + 1);
    // Issued at at + 5, delivered late (its replica paused) after a delete made at at + 10: created
    // above the tombstone here alone, read repair would spread the counter over the delete.
    const [, , lateAfterDelete, gone] = await run(app, [
      ['set', 'c', bytes('10'), 0, null, null, at],
      ['delete', 'c', at + 10],
      ['incr', 'c', 1, 5, null, at + 5, true],
      ['get', 'c'],
    ]);
    expect(lateAfterDelete).toEqual([200, 5, at + 10, true]);
    expect(gone).toEqual([404, at + 10, STAMP]);
    // So too after a client's flush: created above it, the counter would outlive the flush.
    const [, lateAfterFlush, flushed] = await run(app, [
      ['flush', null, at + 20],
      ['incr', 'd', 1, 5, null, at + 15, true],
      ['get', 'd'],
    ]);
    expect(lateAfterFlush).toEqual([200, 5, at + 20, true]);
    expect(flushed).toEqual(MISS);
    // Above them (the client sends it again so), or without the seventh element, it creates.
    const [above, legacy] = await run(app, [
      ['incr', 'c', 1, 5, null, at + 21, true],
      ['incr', 'd', 1, 5, null, at + 16],
    ]);
    expect(above).toEqual([200, 5, at + 21]);
    expect(legacy).toEqual([200, 5, at + 21]);
  });

  it('takes a 64-bit initial (a bigint) and refuses a bad initial or a ttl without one', async () => {
    const app = createApp();
    const results = await run(app, [
      ['incr', 'big', 0, 2n ** 64n - 1n],
      ['incr', 'a', 1, -1],
      ['incr', 'b', 1, 1.5],
      ['incr', 'c', 1, 'ten'],
      ['incr', 'd', 1, null, 1000],
      ['incr', 'e', 1, 5, -3],
      ['get', 'a'],
    ]);
    expect(results[0]).toEqual([200, 2n ** 64n - 1n, STAMP]);
    expect(results.slice(1).map((r) => [r[0], r[1]])).toEqual([
      [400, 'bad_initial'],
      [400, 'bad_initial'],
      [400, 'bad_initial'],
      [400, 'bad_ttl'],
      [400, 'bad_ttl'],
      [404, null],
    ]);
  });

  it('flushes at its place in the batch: what came before is gone, what follows stays', async () => {
    const app = createApp();
    await run(app, [['set', 'old', bytes('1'), 0, null, null]]);
    const results = await run(app, [
      ['set', 'a', bytes('1'), 0, null, null],
      ['get', 'old'],
      ['flush'],
      ['get', 'a'],
      ['get', 'old'],
      ['set', 'b', bytes('2'), 0, null, null],
      ['get', 'b'],
    ]);
    expect(results.map((r) => r[0])).toEqual([204, 200, 204, 404, 404, 204, 200]);
    expect(results[2]).toEqual([204]);
    expect((await run(app, [['get', 'b']]))[0]![1]).toEqual(bytes('2'));
  });

  it('a flush takes an optional delay in ms: a bad one (or more) fails alone, flushing nothing', async () => {
    const clock = manualClock();
    const app = createApp({ now: clock.now });
    await run(app, [['set', 'a', bytes('1'), 0, null, null]]);
    expect(await run(app, [['flush', 60_000]])).toEqual([[204]]);
    const results = await run(app, [
      ['flush', 'a'],
      ['flush', '10'],
      ['flush', -1],
      ['flush', 1.5],
      ['flush', 2 ** 53],
      ['flush', true],
      ['flush', 10, 'a'],
      ['flush', null, 1, 2],
      ['get', 'a'],
    ]);
    expect(results.map((r) => [r[0], r[1]])).toEqual([
      ...Array.from({ length: 6 }, () => [400, 'bad_delay']),
      [400, 'bad_stamp'],
      [400, 'bad_op'],
      [200, bytes('1')],
    ]);
    expect(results[0]![2]).toMatch(/^delay must be whole milliseconds from 0 \(flush now\)/);
    // The refused flushes left the pending one alone: it still happens, at its time.
    clock.advance(59_999);
    expect((await run(app, [['get', 'a']]))[0]![0]).toBe(200);
    clock.advance(1);
    expect((await run(app, [['get', 'a']]))[0]).toEqual(MISS);
  });

  it("a client's flush, stamped, refuses copies from before it, not those from after it, however late it arrives", async () => {
    const app = createApp();
    await run(app, [['set', 'a', bytes('1'), 0, null, null]]);
    // Sent a second ago to a node that was paused: the writes since, made elsewhere, are
    // stamped after it, and their hints must not be refused as flushed.
    const sent = stampAt(Date.now() - 1000);
    expect(await run(app, [['flush', null, sent]])).toEqual([[204]]);
    const results = await run(app, [
      ['get', 'a'],
      ['copy', 'before', bytes('x'), 0, 0, sent - 1, 'hint'],
      ['copy', 'after', bytes('y'), 0, 0, sent + 1, 'hint'],
    ]);
    expect(results.map((r) => r[0])).toEqual([404, 412, 204]);
  });

  it('interoperates with the single-key routes (flags decide the HTTP encoding)', async () => {
    const app = createApp();
    await run(app, [['set', 'j', bytes('{"a":1}'), 2, null, null]]);
    const res = await app.request('/v1/keys/j');
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ a: 1 });
    await app.request('/v1/keys/t', {
      method: 'PUT',
      body: 'hi',
      headers: { 'content-type': 'text/plain' },
    });
    expect((await run(app, [['get', 't']]))[0]!.slice(0, 3)).toEqual([200, bytes('hi'), 16]);
  });

  it('supports add, replace and compare-and-set conditions', async () => {
    const app = createApp();
    const [add, addAgain, replaceMissing] = await run(app, [
      ['set', 'k', bytes('1'), 0, null, 'add'],
      ['set', 'k', bytes('2'), 0, null, 'add'],
      ['set', 'absent', bytes('2'), 0, null, 'replace'],
    ]);
    expect(add![0]).toBe(204);
    expect(addAgain).toEqual([412]);
    expect(replaceMissing).toEqual([412]);
    const version = add![1] as number;
    const [cas, casStale, replace] = await run(app, [
      ['set', 'k', bytes('3'), 0, null, version],
      ['set', 'k', bytes('4'), 0, null, version],
      ['set', 'k', bytes('5'), 0, null, 'replace'],
    ]);
    expect(cas![0]).toBe(204);
    expect(casStale).toEqual([412]);
    expect(replace![0]).toBe(204);
    expect((await run(app, [['get', 'k']]))[0]![1]).toEqual(bytes('5'));
  });

  it("compare-and-set by a write's fingerprint, sent as -(fingerprint + 1): the same write on any replica", async () => {
    const app = createApp();
    const at = stampAt(Date.now() + 1);
    const [first] = await run(app, [['set', 'k', bytes('v1'), 7, null, null, at + 10]]);
    expect(first).toEqual([204, expect.any(Number), at + 10]);
    const read = writeFingerprint(at + 10, 7, bytes('v1'));
    // Another write of the same bytes and flags is another write (another stamp): refused; so is a
    // fingerprint of the right stamp with other bytes or flags, and a key that is absent.
    const [otherBytes, otherFlags, absent, bad] = await run(app, [
      ['set', 'k', bytes('x'), 0, null, -(writeFingerprint(at + 10, 7, bytes('v2')) + 1)],
      ['set', 'k', bytes('x'), 0, null, -(writeFingerprint(at + 10, 0, bytes('v1')) + 1)],
      ['set', 'absent', bytes('x'), 0, null, -(read + 1)],
      ['set', 'k', bytes('x'), 0, null, -1.5],
    ]);
    expect(otherBytes).toEqual([412]);
    expect(otherFlags).toEqual([412]);
    expect(absent).toEqual([412]);
    expect(bad!.slice(0, 2)).toEqual([400, 'bad_op']);
    const [cas, again] = await run(app, [
      ['set', 'k', bytes('v2'), 0, null, -(read + 1), at + 5],
      ['set', 'k', bytes('v3'), 0, null, -(read + 1), at + 30],
    ]);
    // Stamped above what it replaced, though the writer's stamp was older.
    expect(cas).toEqual([204, expect.any(Number), at + 11]);
    expect(again).toEqual([412]);
    expect((await run(app, [['get', 'k']]))[0]![1]).toEqual(bytes('v2'));
    // The node's own version still works as before (a client of an earlier release).
    const version = cas![1] as number;
    expect((await run(app, [['set', 'k', bytes('v4'), 0, null, version]]))[0]![0]).toBe(204);
  });

  it("an add's `since` refuses it over a newer delete; with another condition it is a bad_op", async () => {
    const app = createApp();
    // After the node's start (a `since` before it is refused: the node may have lost a delete).
    const at = stampAt(Date.now() + 1);
    const [deleted, addOverNewer, addOverOlder, badSince, withReplace] = await run(app, [
      ['delete', 'k', at + 20],
      ['set', 'k', bytes('loaded'), 0, null, 'add', at + 30, at + 10],
      ['set', 'k', bytes('loaded'), 0, null, 'add', at + 30, at + 25],
      ['set', 'j', bytes('x'), 0, null, 'add', at + 30, 'yesterday'],
      ['set', 'k', bytes('x'), 0, null, 'replace', at + 40, at + 10],
    ]);
    expect(deleted![0]).toBe(404);
    expect(addOverNewer).toEqual([412]);
    expect(addOverOlder).toEqual([204, expect.any(Number), at + 30]);
    expect(badSince!.slice(0, 2)).toEqual([400, 'bad_stamp']);
    expect(withReplace!.slice(0, 2)).toEqual([400, 'bad_op']);
    expect((await run(app, [['get', 'k']]))[0]![1]).toEqual(bytes('loaded'));
  });

  it('a fresh set that did not apply (outstamped, or a tie it lost) answers with a 4th element true', async () => {
    const app = createApp();
    const at = stampAt(Date.now());
    const results = await run(app, [
      ['set', 'k', bytes('zz'), 0, null, null, at + 2],
      ['set', 'k', bytes('aa'), 0, null, null, at + 1],
      ['set', 'k', bytes('aa'), 0, null, null, at + 2],
      ['set', 'k', bytes('zz'), 0, null, null, at + 2],
      ['delete', 'd', at + 5],
      ['set', 'd', bytes('zz'), 0, null, null, at + 5],
      ['set', 'k', bytes('aa'), 0, null, null, at + 3],
    ]);
    const [first, older, lostTie, same, , tombstoneTie, newer] = results;
    expect(first).toEqual([204, expect.any(Number), at + 2]);
    expect(older).toEqual([204, first![1], at + 2, true]);
    expect(lostTie).toEqual([204, first![1], at + 2, true]);
    // The same write again changes nothing, and is not told it lost.
    expect(same).toEqual([204, first![1], at + 2]);
    expect(tombstoneTie).toEqual([204, expect.any(Number), at + 5, true]);
    expect(newer).toEqual([204, expect.any(Number), at + 3]);
  });

  it('["get", key, ttlMs] is a get-and-touch: the answer and the entry carry the new TTL', async () => {
    const clock = manualClock();
    const app = createApp({ now: clock.now, maxBatchBytes: 100 });
    await run(app, [
      ['set', 'a', bytes('1'), 0, 1000, null],
      ['set', 'big', new Uint8Array(60), 0, 60_000, null],
    ]);
    clock.advance(800);
    const [touched, permanent, bad, miss] = await run(app, [
      ['get', 'a', 1000],
      ['get', 'a', 0],
      ['get', 'a', -1],
      ['get', 'missing', 1000],
    ]);
    expect(touched).toEqual([200, bytes('1'), 0, expect.any(Number), 1000, STAMP]);
    expect(permanent![4]).toBeNull();
    expect([bad![0], bad![1]]).toEqual([400, 'bad_ttl']);
    expect(miss).toEqual(MISS);
    clock.advance(10_000);
    expect((await run(app, [['get', 'a']]))[0]![4]).toBeNull();
    // A get refused because the answer is full does not touch: 'big' keeps the first one's TTL.
    const [first, refused] = await run(app, [
      ['get', 'big', 5000],
      ['get', 'big', 7000],
    ]);
    expect(first![4]).toBe(5000);
    expect([refused![0], refused![1]]).toEqual([413, 'too_large']);
    expect((await run(app, [['get', 'big']]))[0]![4]).toBe(5000);
  });

  it('a get-and-touch stamped by its client ["get", key, ttlMs, unvouched, stamp] is stamped so, as a touch', async () => {
    const app = createApp();
    const at = stampAt(Date.now() + 1);
    await run(app, [['set', 'k', bytes('v'), 0, null, null, at]]);
    // Delivered late (its node was paused), a node-stamped touch would outrank what was written
    // since; stamped by the client it stays below it, and the entry it touches takes its stamp.
    const [touched, unvouched, below] = await run(app, [
      ['get', 'k', 1000, null, at + 5],
      ['get', 'k', 1000, true, at + 9],
      ['get', 'k', 60_000, null, at + 2],
    ]);
    expect(touched![5]).toBe(at + 5);
    expect(unvouched![5]).toBe(at + 9);
    // Stamped below the entry it finds, it was issued before that: the entry keeps its stamp and
    // TTL, and the answer reports them.
    expect(below![5]).toBe(at + 9);
    expect(below![4]).toBeLessThanOrEqual(1000);
    const [touch, late] = await run(app, [
      ['touch', 'k', 2000, at + 12],
      ['touch', 'k', 60_000, at + 11],
    ]);
    expect(touch).toEqual([204, at + 12]);
    expect(late).toEqual([204, at + 12, true]);
    expect((await run(app, [['get', 'k']]))[0]![4]).toBeLessThanOrEqual(2000);
    const [skewed] = await run(app, [['get', 'k', 1000, null, stampAt(Date.now() + 3_600_000)]]);
    expect([skewed![0], skewed![1]]).toEqual([400, 'clock_skew']);
  });

  it('fails a bad operation alone with [status, code, message]', async () => {
    const app = createApp({ maxValueBytes: 4, maxKeyBytes: 8 });
    const results = await run(app, [
      ['get', ''],
      ['get', 'k'.repeat(9)],
      ['get', 42],
      ['set', 'k', bytes('too big'), 0, null, null],
      ['set', 'k', 'not bin', 0, null, null],
      ['set', 'k', bytes('v'), -1, null, null],
      ['set', 'k', bytes('v'), 0, -5, null],
      ['set', 'k', bytes('v'), 0, null, 'maybe'],
      ['frobnicate', 'k'],
      'not an array',
      ['incr', 'k', 1.5],
      ['set', 'k', bytes('ok'), 0, null, null],
    ]);
    const codes = results.map((r) => [r[0], r[1]]);
    expect(codes).toEqual([
      [400, 'bad_key'],
      [400, 'key_too_long'],
      [400, 'bad_key'],
      [413, 'too_large'],
      [400, 'bad_op'],
      [400, 'bad_flags'],
      [400, 'bad_ttl'],
      [400, 'bad_op'],
      [400, 'bad_op'],
      [400, 'bad_op'],
      [400, 'bad_delta'],
      [204, expect.any(Number)],
    ]);
    for (const r of results.slice(0, -1)) expect(typeof r[2]).toBe('string');
  });

  it('takes integers sent as 64-bit msgpack (0xcf/0xd3), as Go, Rust and Java encoders write them', async () => {
    const clock = manualClock();
    const app = createApp({ now: clock.now });
    // Hand-built, since msgpackr itself writes small numbers in their shortest form.
    const u64 = (n: bigint): Raw => ({ raw: [0xcf, ...int64Bytes(n)] });
    const i64 = (n: bigint): Raw => ({ raw: [0xd3, ...int64Bytes(n)] });
    const body = packRaw([
      ['set', 'a', bytes('1'), u64(16n), u64(5000n), null],
      ['set', 'b', bytes('2'), i64(7n), i64(100n), null],
      ['touch', 'b', u64(0n)],
      ['incr', 'a', i64(-1n)],
      ['set', 'c', bytes('3'), u64(2n ** 32n), null, null],
      ['set', 'c', bytes('3'), 0, u64(2n ** 64n - 1n), null],
      ['set', 'c', bytes('3'), 0, i64(-1n), null],
      ['get', 'a'],
    ]);
    const res = await app.request('/v1/batch', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/msgpack' },
    });
    expect(res.status).toBe(200);
    const results = unpack(new Uint8Array(await res.arrayBuffer())) as unknown[][];
    expect(results.map((r) => r[0])).toEqual([204, 204, 204, 200, 400, 400, 400, 200]);
    expect(results[3]).toEqual([200, 0, STAMP]);
    expect(results[4]!.slice(0, 2)).toEqual([400, 'bad_flags']);
    expect(results[4]![2]).toContain('4294967296');
    expect(results[5]!.slice(0, 2)).toEqual([400, 'bad_ttl']);
    expect(results[5]![2]).toContain('18446744073709551615');
    expect(results[6]!.slice(0, 2)).toEqual([400, 'bad_ttl']);
    expect(results[7]).toEqual([200, bytes('0'), 16, expect.any(Number), 5000, STAMP]);
  });

  it('caps the value bytes of one response at maxBatchBytes: a get past it is a per-op 413', async () => {
    const app = createApp({ maxBatchBytes: 100 });
    await run(app, [['set', 'big', new Uint8Array(60), 0, null, null]]);
    await run(app, [['set', 'small', new Uint8Array(30), 0, null, null]]);
    const results = await run(app, [
      ['get', 'big'], // 60
      ['get', 'big'], // 120: refused
      ['get', 'small'], // 90: still fits
      ['get', 'small'], // 120: refused
      ['get', 'missing'],
      ['delete', 'small'],
    ]);
    expect(results.map((r) => r[0])).toEqual([200, 413, 200, 413, 404, 204]);
    expect(results[1]).toEqual([413, 'too_large', expect.stringContaining('maxBatchBytes')]);
    expect(results[0]![1]).toEqual(new Uint8Array(60));
    // The budget is per batch: the next one starts afresh.
    expect((await run(app, [['get', 'big']]))[0]![0]).toBe(200);
  });

  it('serves the first value of a response whatever its size, so every value stays readable', async () => {
    const app = createApp({ maxBatchBytes: 100 });
    // Too big for a batch body (its limit is maxBatchBytes too): stored through the keys route.
    const put = await app.request('/v1/keys/huge', { method: 'PUT', body: new Uint8Array(150) });
    expect(put.status).toBe(204);
    await run(app, [['set', 'tiny', new Uint8Array(1), 0, null, null]]);
    // Alone, or after gets that put nothing in the response: served.
    expect((await run(app, [['get', 'huge']]))[0]!.slice(0, 2)).toEqual([200, new Uint8Array(150)]);
    const afterMiss = await run(app, [
      ['get', 'missing'],
      ['get', 'huge'],
      ['get', 'tiny'], // nothing left after the huge one: refused
    ]);
    expect(afterMiss.map((r) => r[0])).toEqual([404, 200, 413]);
    // Once something is in the response, a value past the cap is refused.
    const afterTiny = await run(app, [
      ['get', 'tiny'],
      ['get', 'huge'],
    ]);
    expect(afterTiny.map((r) => r[0])).toEqual([200, 413]);
  });

  it('counts a refused get as no hit (it never reaches getEntry)', async () => {
    const app = createApp({ maxBatchBytes: 100, maxValueBytes: 60 });
    await run(app, [['set', 'a', new Uint8Array(60), 0, null, null]]);
    await run(app, [['set', 'b', new Uint8Array(60), 0, null, null]]);
    const statsOf = async () =>
      (await (await app.request('/v1/stats')).json()) as { hits: number; misses: number };
    const before = await statsOf();
    const results = await run(app, [
      ['get', 'b'],
      ['get', 'a'], // 120: refused
    ]);
    expect(results.map((r) => r[0])).toEqual([200, 413]);
    const after = await statsOf();
    expect(after.hits - before.hits).toBe(1);
    expect(after.misses).toBe(before.misses);
  });

  it('answers [413, too_large] for an incr whose longer number no longer fits, keeping the old value', async () => {
    // Room for exactly one entry 'n' holding one digit: "10" is one byte more than "9".
    const maxMemory = heapStringBytes('n') + 1 + STORED_VALUE_OVERHEAD_BYTES + ENTRY_OVERHEAD;
    const results = await run(createApp({ maxMemory }), [
      ['set', 'n', bytes('9'), 16, null, null],
      ['incr', 'n', 1],
      ['get', 'n'],
    ]);
    expect(results[0]![0]).toBe(204);
    expect(results[1]!.slice(0, 2)).toEqual([413, 'too_large']);
    expect(results[2]!.slice(0, 3)).toEqual([200, bytes('9'), 16]);
  });

  it('answers 400 with not_a_number for incr on a non-numeric value', async () => {
    const app = createApp();
    const [, incr] = await run(app, [
      ['set', 'w', bytes('abc'), 0, null, null],
      ['incr', 'w', 1],
    ]);
    expect(incr!.slice(0, 2)).toEqual([400, 'not_a_number']);
  });

  it('answers not_a_number for incr on digits stored as msgpack (flags 256), leaving them as they were', async () => {
    const app = createApp();
    const results = await run(app, [
      ['set', 'm', bytes('41'), 256, null, null],
      ['incr', 'm', 1],
      ['get', 'm'],
      ['set', 't', bytes('41'), 16, null, null],
      ['incr', 't', 1],
    ]);
    expect(results[1]!.slice(0, 2)).toEqual([400, 'not_a_number']);
    // The usual cause (a string set through @dcache/client is msgpack) is named, with the way out.
    expect(results[1]![2]).toMatch(/is msgpack \(flags 256\), not decimal text.*store the number/);
    expect(results[2]!.slice(0, 3)).toEqual([200, bytes('41'), 256]);
    expect(results[4]).toEqual([200, 42, STAMP]); // text digits still count
    const res = await app.request('/v1/keys/m/incr', { method: 'POST' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_a_number');
  });

  it.each<[string, ServerOptions, Uint8Array]>([
    [
      'more operations than maxBatchOps',
      { maxBatchOps: 3 },
      pack(Array.from({ length: 4 }, () => ['get', 'a'])),
    ],
    [
      'a body over maxBatchBytes',
      { maxBatchBytes: 64 },
      pack([['set', 'a', new Uint8Array(100), 0, null, null]]),
    ],
  ])('refuses %s with 413', async (_name, options, body) => {
    const app = createApp(options);
    const res = await app.request('/v1/batch', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/msgpack' },
    });
    expect(res.status).toBe(413);
  });

  it.each([
    ['array 32', [0xdd, 0xff, 0xff, 0xff, 0xff, 0x90]],
    ['array 16', [0xdc, 0x00, 0x04, 0x90]],
    ['fixarray', [0x94, 0x90]],
  ])(
    'refuses an %s header declaring more than maxBatchOps before decoding anything',
    async (_name, head) => {
      const app = createApp({ maxBatchOps: 3 });
      const unpack = vi.spyOn(batchCodec, 'unpack');
      try {
        // Truncated after the header: decoding it would be a 400, so a 413 proves it was never decoded.
        const res = await app.request('/v1/batch', {
          method: 'POST',
          body: new Uint8Array(head),
          headers: { 'content-type': 'application/msgpack' },
        });
        expect(res.status).toBe(413);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
          'too_many_operations',
        );
        expect(unpack).not.toHaveBeenCalled();
      } finally {
        unpack.mockRestore();
      }
    },
  );

  it('refuses a large body nesting more items than its operations could hold, before decoding it', async () => {
    const app = createApp();
    const n = 100_000; // [[n × []]]: one operation, 100 KB of body
    const bomb = new Uint8Array(6 + n).fill(0x90);
    bomb.set([0x91, 0xdd]);
    new DataView(bomb.buffer).setUint32(2, n);
    const unpack = vi.spyOn(batchCodec, 'unpack');
    try {
      const res = await app.request('/v1/batch', {
        method: 'POST',
        body: bomb,
        headers: { 'content-type': 'application/msgpack' },
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('bad_batch');
      expect(unpack).not.toHaveBeenCalled();
    } finally {
      unpack.mockRestore();
    }
    // A large batch of real operations is still decoded and run.
    const ops = Array.from({ length: 10 }, (_, i) => [
      'set',
      `k${i}`,
      new Uint8Array(10_000),
      0,
      5,
      'add',
    ]);
    const results = await run(app, ops);
    expect(results.map((r) => r[0])).toEqual(Array(10).fill(204));
  });

  it.each([
    [
      // [[Set of the NEXT value]]: msgpackr reads the 16M empty arrays after the fixext as the
      // Set's content (>0.6 GB); a walk skipping the extension by its length counted 3 items.
      'the Set bomb (fixext 0x73 followed by 16M empty arrays)',
      () => {
        const bomb = new Uint8Array(10 + 0xffffff).fill(0x90);
        bomb.set([0x91, 0x91, 0xd4, 0x73, 0x00, 0xdd, 0x00, 0xff, 0xff, 0xff]);
        return bomb;
      },
      'extension',
    ],
    [
      'an extension inside an operation (a timestamp as ttl)',
      () =>
        new Uint8Array([
          0x91,
          0x95,
          0xa3,
          ...bytes('set'),
          0xa1,
          0x6b,
          0xc4,
          0x00,
          0x00,
          0xd6,
          0xff,
          0,
          0,
          0,
          0,
        ]),
      'extension',
    ],
    [
      'a record definition (d4 72) before an operation',
      () => new Uint8Array([0x92, 0xd4, 0x72, 0x40, 0x90]),
      'extension',
    ],
    [
      'trailing bytes after the array',
      () => concatBytes(pack([['get', 'k']]), [0x90]),
      'bytes after the array',
    ],
  ])('refuses %s with 400 bad_batch before decoding', async (_name, body, words) => {
    const app = createApp({ maxBatchBytes: '32mb' });
    const unpack = vi.spyOn(batchCodec, 'unpack');
    try {
      const res = await app.request('/v1/batch', {
        method: 'POST',
        body: body(),
        headers: { 'content-type': 'application/msgpack' },
      });
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe('bad_batch');
      expect(error.message).toContain(words);
      expect(unpack).not.toHaveBeenCalled();
    } finally {
      unpack.mockRestore();
    }
  });

  it.each(['application/json', 'text/html'])(
    'refuses a batch sent as %s with 415, saying what a batch takes',
    async (type) => {
      const app = createApp();
      const res = await app.request('/v1/batch', {
        method: 'POST',
        body: '[]',
        headers: { 'content-type': type },
      });
      expect(res.status).toBe(415);
      expect((await errorOf(res)).message).toBe(
        'a batch is sent as Content-Type: application/msgpack',
      );
    },
  );

  it('counts the operations it carried', async () => {
    const app = createApp();
    await run(app, [
      ['get', 'a'],
      ['get', 'b'],
    ]);
    const stats = (await (await app.request('/v1/stats')).json()) as Record<string, unknown>;
    expect(stats.batchOperations).toBe(2);
    expect(stats.misses).toBe(2);
  });
});
