import { pack, unpack } from 'msgpackr';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { stampAt } from '@dcache/core';
import { createReplicaStore } from '../src/operations/cache.js';
import { HintReplayer } from '../src/replication/hint-replayer.js';
import { HintStore } from '../src/replication/hints.js';
import type { Logger } from '../src/observability/logger.js';

const WALL = Date.UTC(2026, 0, 1);
const S = stampAt(WALL);
const A = 'http://127.0.0.1:1';
const B = 'http://127.0.0.1:2';

const quiet: Logger = { error() {}, warn() {}, info() {}, debug() {} };

/** A stand-in node: its replica store, hint store and replayer, with targets faked by `fetch`. */
function standIn() {
  const replicas = createReplicaStore(
    { maxMemory: 1 << 20, maxItems: undefined, defaultTtl: 0, now: undefined },
    { tombstoneGrace: 600_000, maxClockSkew: 500, wallClock: () => WALL },
  );
  const hints = new HintStore({
    maxHints: 10_000,
    maxHintAge: 60_000,
    now: () => 0,
    dropStandIn: (key, stamp) => replicas.dropCopy(key, stamp),
  });
  const replayer = new HintReplayer({
    replicas,
    hints,
    logger: quiet,
    token: undefined,
    intervalMs: 1000,
  });
  return { replicas, hints, replayer };
}

/** Targets in `up` answer: healthz 200, fence 204, every batch op 204; the rest 503. */
function targets(up: Set<string>) {
  const calls: [string, string, unknown][] = [];
  vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
    const { origin, pathname } = new URL(url);
    const ops = init.body === undefined ? undefined : unpack(init.body as Uint8Array);
    calls.push([origin, pathname, ops]);
    if (!up.has(origin)) return new Response(null, { status: 503 });
    if (pathname === '/healthz') return new Response('ok', { status: 200 });
    if (pathname === '/v1/fence') return new Response(null, { status: 204 });
    return new Response(pack((ops as unknown[]).map(() => [204])), { status: 200 });
  });
  return calls;
}

const bytes = (s: string) => new TextEncoder().encode(s);

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('HintReplayer: a stand-in copy after delivery', () => {
  it("keeps the copy while another target's hint for the key still needs it (no needless fence)", async () => {
    const { replicas, hints, replayer } = standIn();
    // Both natural replicas (A and B) missed the write: this stand-in holds its only copy.
    replicas.copy('k', { bytes: bytes('v'), flags: 0 }, 0, S);
    expect(hints.add(A, 'k', true, S)).toBe(true);
    expect(hints.add(B, 'k', true, S)).toBe(true);
    const up = new Set([A]);
    const calls = targets(up);
    await replayer.tick(); // A gets the copy; B is still down
    expect(replicas.peekRaw('k')).toBeDefined();
    up.add(B);
    await replayer.tick();
    // B gets the write itself, not a fence.
    const toB = calls.filter(([origin, path]) => origin === B && path !== '/healthz');
    expect(toB.map(([, path]) => path)).toEqual(['/v1/batch']);
    expect(hints.stats).toMatchObject({ hintsPending: 0, hintsDropped: 0 });
    expect(replicas.peekRaw('k')).toBeUndefined(); // now both have it: the copy goes
  });

  it('keeps a write taken since as a natural replica, though the replay carried it', async () => {
    const { replicas, hints, replayer } = standIn();
    replicas.copy('k', { bytes: bytes('stand-in'), flags: 0 }, 0, S);
    hints.add(A, 'k', true, S);
    // The ring changed: this node is now a natural replica of k and takes a newer write of it
    // (every replica acked, so no hint).
    replicas.copy('k', { bytes: bytes('natural'), flags: 0 }, 0, S + 10);
    targets(new Set([A]));
    await replayer.tick();
    expect(hints.stats.hintsPending).toBe(0);
    const held = replicas.peekRaw('k');
    expect(held?.value.tombstone).toBeFalsy();
    expect(new TextDecoder().decode(held!.value.bytes)).toBe('natural');
  });
});

describe('HintReplayer: a value this node holds unverified', () => {
  it('is not handed over as a copy: the target is fenced instead', async () => {
    const { replicas, hints, replayer } = standIn();
    replicas.copy('k', { bytes: bytes('v'), flags: 0 }, 0, S);
    hints.add(A, 'k', true, S);
    // A stall or a fence request since: what this node holds may have been replaced elsewhere.
    replicas.fence();
    const calls = targets(new Set([A]));
    await replayer.tick();
    const sent = calls.filter(([, path]) => path !== '/healthz');
    expect(sent.map(([, path]) => path)).toEqual(['/v1/fence']);
    expect(hints.stats).toMatchObject({ hintsPending: 0 });
  });
});

describe('HintReplayer: a copy the target refuses', () => {
  it('does not hold back the keys hinted after it', async () => {
    const { replicas, hints, replayer } = standIn();
    const keys = ['refused', ...Array.from({ length: 600 }, (_, i) => `k${i}`)];
    for (const key of keys) {
      replicas.copy(key, { bytes: bytes('v'), flags: 0 }, 0, S);
      hints.add(A, key, false);
    }
    // A refuses one copy for good (say, too large for its memory), and takes every other one.
    const taken = new Set<string>();
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      const { pathname } = new URL(url);
      if (pathname === '/healthz') return new Response('ok', { status: 200 });
      const ops = unpack(init.body as Uint8Array) as unknown[][];
      return new Response(
        pack(
          ops.map(([, key]) => {
            if (key === 'refused') return [413, 'too_large', 'no room'];
            taken.add(key as string);
            return [204];
          }),
        ),
        { status: 200 },
      );
    });
    for (let round = 0; round < 3; round++) await replayer.tick();
    expect(taken.size).toBe(600); // every other missed write reached A
    expect(hints.stats.hintsPending).toBe(1);
  });
});

describe('HintReplayer: a target that answers without end', () => {
  it('reads no more of a batch answer than one can hold, and keeps the hint', async () => {
    const { replicas, hints, replayer } = standIn();
    replicas.copy('k', { bytes: bytes('v'), flags: 0 }, 0, S);
    hints.add(A, 'k', false);
    // Any origin can be a hint target (no --peers): what it sends back must not be held whole.
    // The answer to one op is a few bytes; this one streams 64 MiB until it is cancelled.
    const chunk = new Uint8Array(1 << 20);
    let pulled = 0;
    let cancelled = false;
    vi.stubGlobal('fetch', async (url: string) => {
      if (new URL(url).pathname === '/healthz') return new Response('ok', { status: 200 });
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (pulled >= 64 << 20) return controller.close();
          pulled += chunk.length;
          controller.enqueue(chunk);
        },
        cancel() {
          cancelled = true;
        },
      });
      return new Response(body, { status: 200 });
    });
    await replayer.tick();
    expect(pulled).toBeLessThan(4 << 20);
    expect(cancelled).toBe(true);
    expect(hints.stats.hintsPending).toBe(1); // not delivered: retried next round
  });
});

describe('HintReplayer: a target that never answers', () => {
  /** The rounds (1-based) of `rounds` in which `target` was probed. */
  async function probedIn(
    calls: [string, string, unknown][],
    replayer: HintReplayer,
    target: string,
    rounds: number,
  ): Promise<number[]> {
    const probed: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      const before = calls.length;
      await replayer.tick();
      if (calls.slice(before).some(([origin, path]) => origin === target && path === '/healthz')) {
        probed.push(round);
      }
    }
    return probed;
  }

  it('with only a fence due, is probed ever less often, then fenced soon after it answers', async () => {
    const { hints, replayer } = standIn();
    const up = new Set<string>();
    const calls = targets(up);
    hints.add(A, 'k', false);
    hints.fallBack(A); // A's keys given up: a fence is all it is owed
    expect(await probedIn(calls, replayer, A, 30)).toEqual([1, 3, 7, 15, 23]);
    up.add(A);
    const probed = await probedIn(calls, replayer, A, 8);
    expect(probed).toHaveLength(1);
    expect(calls.filter(([origin, path]) => origin === A && path === '/v1/fence')).toHaveLength(1);
    expect([...hints.targets()]).toEqual([]);
  });

  it('with keys due, is probed every round', async () => {
    const { replicas, hints, replayer } = standIn();
    const calls = targets(new Set());
    replicas.copy('k', { bytes: bytes('v'), flags: 0 }, 0, S);
    hints.add(A, 'k', false);
    expect(await probedIn(calls, replayer, A, 12)).toEqual(
      Array.from({ length: 12 }, (_, i) => i + 1),
    );
  });
});
