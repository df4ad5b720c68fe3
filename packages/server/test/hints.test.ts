import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack, unpack } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from './cli-node.js';
import type { CliNode } from './cli-node.js';
import { makeSelfSignedPair } from './self-signed.js';

/** Runs `work` with `node` stopped (SIGSTOP), resuming it after, also when `work` fails. */
async function whileStopped(node: CliNode, work: () => Promise<void>): Promise<void> {
  node.child.kill('SIGSTOP');
  try {
    await work();
  } finally {
    node.child.kill('SIGCONT');
  }
}

/**
 * Hinted handoff between two nodes started through the CLI (never-stale.md §6): B holds what A
 * missed while A was stopped, and hands it over once A answers again — or, past `--max-hints`,
 * fences A instead.
 */

afterEach(async () => {
  await stopCliNodes();
});

async function batch(node: CliNode, ops: unknown[]): Promise<unknown[][]> {
  const res = await fetch(`${node.url}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/msgpack', authorization: 'Bearer cluster' },
    body: pack(ops),
    signal: AbortSignal.timeout(5000),
  });
  expect(res.status).toBe(200);
  return unpack(new Uint8Array(await res.arrayBuffer())) as unknown[][];
}

async function stats(node: CliNode): Promise<Record<string, number>> {
  const res = await fetch(`${node.url}/v1/stats`, { headers: { authorization: 'Bearer cluster' } });
  return (await res.json()) as Record<string, number>;
}

/** Polls `probe` every 50 ms until it returns true, for at most `ms`. */
async function eventually(probe: () => Promise<boolean>, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > until) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const text = (s: string) => new TextEncoder().encode(s);
const decoded = (result: unknown[] | undefined) =>
  result?.[0] === 200 ? new TextDecoder().decode(result[1] as Uint8Array) : result?.[0];

describe('hints', () => {
  it('are held while the target is stopped and replayed after SIGCONT: overwrites and deletes arrive, late writes lose', async () => {
    // No stall fence on A: what makes A current here must be the replay alone.
    const a = await startCliNode(['--token', 'cluster', '--stall-threshold', '0']);
    const b = await startCliNode(['--token', 'cluster']);
    await batch(a, [
      ['set', 'k', text('old'), 0, null, null],
      ['set', 'gone', text('doomed'), 0, null, null],
    ]);
    a.child.kill('SIGSTOP');
    try {
      // A write to A that will wait in its socket: it carries an older stamp than B's writes.
      const stale = (await batch(b, [['set', 'probe', text('x'), 0, null, null]]))[0]![2] as number;
      const late = fetch(`${a.url}/v1/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/msgpack', authorization: 'Bearer cluster' },
        body: pack([['set', 'k', text('late'), 0, null, null, stale]]),
      }).catch(() => undefined);
      const written = await batch(b, [
        ['set', 'k', text('new'), 0, null, null],
        ['delete', 'gone'],
        ['hint', 'k', a.url],
        ['hint', 'gone', a.url],
      ]);
      expect(written.slice(2)).toEqual([[204], [204]]);
      expect(await stats(b)).toMatchObject({ hintsStored: 2, hintsPending: 2, hintsReplayed: 0 });
      await new Promise((resolve) => setTimeout(resolve, 600)); // probes time out meanwhile
      expect((await stats(b)).hintsPending).toBe(2);
      a.child.kill('SIGCONT');
      await late;
    } finally {
      a.child.kill('SIGCONT');
    }
    await eventually(async () => (await stats(b)).hintsPending === 0);
    const [k, gone] = await batch(a, [
      ['get', 'k'],
      ['get', 'gone'],
    ]);
    expect(decoded(k)).toBe('new');
    expect(k).toHaveLength(6); // an applied copy is verified
    expect(gone).toEqual([404, expect.any(Number), expect.any(Number)]);
    expect(await stats(b)).toMatchObject({ hintsReplayed: 2, hintsDropped: 0 });
    expect(await stats(a)).toMatchObject({ copiesApplied: 2 });
  });

  it('a stand-in drops its own copy once the natural replica has it', async () => {
    const a = await startCliNode(['--token', 'cluster']);
    const c = await startCliNode(['--token', 'cluster']);
    await batch(c, [
      ['set', 'k', text('held for a'), 0, null, null],
      ['hint', 'k', a.url, true],
    ]);
    await eventually(async () => (await stats(c)).hintsPending === 0);
    expect(decoded((await batch(a, [['get', 'k']]))[0])).toBe('held for a');
    expect((await batch(c, [['get', 'k']]))[0]![0]).toBe(404);
  });

  it("a stand-in's hint naming its write's stamp lets that write go only: one taken before the hint arrived, as a natural replica, stays", async () => {
    const a = await startCliNode(['--token', 'cluster']);
    const c = await startCliNode(['--token', 'cluster']);
    const [written] = await batch(c, [['set', 'k', text('as a stand-in'), 0, null, null]]);
    await batch(c, [
      // The ring changed (for another client) before the hint came: C is a natural replica of the
      // key there, and takes its next write unhinted.
      ['set', 'k', text('as a replica'), 0, null, null],
      ['hint', 'k', a.url, true, written![2]],
    ]);
    await eventually(async () => (await stats(c)).hintsPending === 0);
    expect(decoded((await batch(a, [['get', 'k']]))[0])).toBe('as a replica');
    expect(decoded((await batch(c, [['get', 'k']]))[0])).toBe('as a replica');
  });

  it.each([
    ['a touch', ['touch', 'k', 60_000], 1, 'as a replica'],
    ['an incr', ['incr', 'k', 1], 2, '11'],
  ] as const)(
    'a stand-in hint for %s lets no write go: what the stand-in holds as a natural replica stays when it was restamped',
    async (_what, op, stampAt, held) => {
      const a = await startCliNode(['--token', 'cluster']);
      const c = await startCliNode(['--token', 'cluster']);
      // C is a natural replica of the key in another client's (changed) ring: the write, unhinted.
      const [, restamped] = await batch(c, [
        ['set', 'k', text(op[0] === 'incr' ? '10' : 'as a replica'), 0, null, null],
        op,
      ]);
      expect(restamped![0]).toBe(op[0] === 'incr' ? 200 : 204);
      // The operation stood in for A, and C's answer stamped it: its hint names that stamp, the
      // entry's now.
      await batch(c, [['hint', 'k', a.url, true, restamped![stampAt]]]);
      await eventually(async () => (await stats(c)).hintsPending === 0);
      expect(decoded((await batch(a, [['get', 'k']]))[0])).toBe(held);
      expect(decoded((await batch(c, [['get', 'k']]))[0])).toBe(held);
    },
  );

  it("a stand-in's copy goes with its write's hint though touched since, the touch's hint before or after it, named or not", async () => {
    // A is stopped while the hints come, so none is delivered before the last.
    const a = await startCliNode(['--token', 'cluster', '--stall-threshold', '0']);
    const c = await startCliNode(['--token', 'cluster']);
    await whileStopped(a, async () => {
      const keys = ['write-hinted-first', 'touch-hinted-first', 'unnamed'];
      const written = await batch(
        c,
        keys.map((key) => ['set', key, text('as a stand-in'), 0, null, null]),
      );
      const touched = await batch(
        c,
        keys.map((key) => ['touch', key, 60_000]),
      );
      const [setStamp, touchStamp] = [(i: number) => written[i]![2], (i: number) => touched[i]![1]];
      const hinted = await batch(c, [
        ['hint', keys[0], a.url, true, setStamp(0)],
        ['hint', keys[0], a.url, true, touchStamp(0)],
        ['hint', keys[1], a.url, true, touchStamp(1)],
        ['hint', keys[1], a.url, true, setStamp(1)],
        // A client before the fifth element: the write held when the hint arrives, touched since.
        ['hint', keys[2], a.url, true],
      ]);
      expect(hinted.every((result) => result[0] === 204)).toBe(true);
    });
    await eventually(async () => (await stats(c)).hintsPending === 0);
    const onA = await batch(a, [
      ['get', 'write-hinted-first'],
      ['get', 'touch-hinted-first'],
      ['get', 'unnamed'],
    ]);
    expect(onA.map(decoded)).toEqual(['as a stand-in', 'as a stand-in', 'as a stand-in']);
    const onC = await batch(c, [
      ['get', 'write-hinted-first'],
      ['get', 'touch-hinted-first'],
      ['get', 'unnamed'],
    ]);
    expect(onC.map((result) => result[0])).toEqual([404, 404, 404]);
  });

  it("a stand-in's copy counted on since by an incr no stand-in hint names stays: the incr was taken as a natural replica of another client's ring", async () => {
    // A is stopped while the hint and the incr come, so the hint is delivered after both.
    const a = await startCliNode(['--token', 'cluster', '--stall-threshold', '0']);
    const c = await startCliNode(['--token', 'cluster']);
    await whileStopped(a, async () => {
      // The write C took as a stand-in for A, and its hint naming the write's stamp.
      const [written] = await batch(c, [['set', 'k', text('10'), 0, null, null]]);
      await batch(c, [['hint', 'k', a.url, true, written![2]]]);
      // Another client's incr, C one of its natural replicas: acknowledged by both, no hint.
      const [counted] = await batch(c, [['incr', 'k', 1]]);
      expect(counted!.slice(0, 2)).toEqual([200, 11]);
    });
    await eventually(async () => (await stats(c)).hintsPending === 0);
    expect(decoded((await batch(a, [['get', 'k']]))[0])).toBe('11');
    expect(decoded((await batch(c, [['get', 'k']]))[0])).toBe('11');
  });

  it("a stand-in's copy goes with its write's hint though counted on and touched since, the other hints before or after it, named or not", async () => {
    // A is stopped while the hints come, so none is delivered before the last.
    const a = await startCliNode(['--token', 'cluster', '--stall-threshold', '0']);
    const c = await startCliNode(['--token', 'cluster']);
    const keys = ['write-hinted-first', 'write-hinted-last', 'unnamed'];
    await whileStopped(a, async () => {
      const written = await batch(
        c,
        keys.map((key) => ['set', key, text('1'), 0, null, null]),
      );
      const counted = await batch(
        c,
        keys.map((key) => ['incr', key, 1]),
      );
      const touched = await batch(
        c,
        keys.map((key) => ['touch', key, 60_000]),
      );
      const recounted = await batch(
        c,
        keys.map((key) => ['incr', key, 1]),
      );
      const stamps = (i: number) => [
        written[i]![2],
        counted[i]![2],
        touched[i]![1],
        recounted[i]![2],
      ];
      const hinted = await batch(c, [
        ...stamps(0).map((stamp) => ['hint', keys[0], a.url, true, stamp]),
        ...stamps(1)
          .reverse()
          .map((stamp) => ['hint', keys[1], a.url, true, stamp]),
        // A client before the fifth element: the write held when the hint arrives, counted on since.
        ['hint', keys[2], a.url, true],
      ]);
      expect(hinted.every((result) => result[0] === 204)).toBe(true);
    });
    await eventually(async () => (await stats(c)).hintsPending === 0);
    const gets = keys.map((key) => ['get', key]);
    expect((await batch(a, gets)).map(decoded)).toEqual(['3', '3', '3']);
    expect((await batch(c, gets)).map((result) => result[0])).toEqual([404, 404, 404]);
  });

  it("a stand-in's copy goes though its write and its touch were hints for two targets, the write's delivered first", async () => {
    // A missed the write and B the touch (two clients' rings); both stopped, so A's hint is
    // delivered first, while B's still holds the copy, and B's last.
    const a = await startCliNode(['--token', 'cluster', '--stall-threshold', '0']);
    const b = await startCliNode(['--token', 'cluster', '--stall-threshold', '0']);
    const c = await startCliNode(['--token', 'cluster']);
    a.child.kill('SIGSTOP');
    b.child.kill('SIGSTOP');
    try {
      const [written] = await batch(c, [['set', 'k', text('as a stand-in'), 0, null, null]]);
      const [touched] = await batch(c, [['touch', 'k', 60_000]]);
      const hinted = await batch(c, [
        ['hint', 'k', a.url, true, written![2]],
        ['hint', 'k', b.url, true, touched![1]],
      ]);
      expect(hinted.every((result) => result[0] === 204)).toBe(true);
      a.child.kill('SIGCONT');
      await eventually(async () => (await stats(c)).hintsPending === 1);
      b.child.kill('SIGCONT');
    } finally {
      a.child.kill('SIGCONT');
      b.child.kill('SIGCONT');
    }
    await eventually(async () => (await stats(c)).hintsPending === 0);
    expect(decoded((await batch(a, [['get', 'k']]))[0])).toBe('as a stand-in');
    expect(decoded((await batch(b, [['get', 'k']]))[0])).toBe('as a stand-in');
    expect((await batch(c, [['get', 'k']]))[0]![0]).toBe(404);
  });

  it("a stand-in's copy given up with its hints goes, unless written since (as a natural replica)", async () => {
    // A is stopped, so nothing replays: B's hints overflow --max-hints and turn into a fence of A.
    const a = await startCliNode(['--token', 'cluster', '--stall-threshold', '0']);
    const b = await startCliNode(['--token', 'cluster', '--max-hints', '2']);
    await whileStopped(a, async () => {
      await batch(b, [
        ['set', 'rewritten', text('as a stand-in'), 0, null, null],
        ['hint', 'rewritten', a.url, true],
        ['set', 'untouched', text('as a stand-in'), 0, null, null],
        ['hint', 'untouched', a.url, true],
        // The ring changed: B is a natural replica of this key now and takes its next write, unhinted.
        ['set', 'rewritten', text('as a replica'), 0, null, null],
        // Over --max-hints: A's hints turn into a fence, and the stand-in copies they were for go.
        ['set', 'third', text('x'), 0, null, null],
        ['hint', 'third', a.url, false],
      ]);
      expect(await stats(b)).toMatchObject({ hintsPending: 0, hintsDropped: 3 });
      const [rewritten, untouched] = await batch(b, [
        ['get', 'rewritten'],
        ['get', 'untouched'],
      ]);
      expect(decoded(rewritten)).toBe('as a replica');
      expect(untouched![0]).toBe(404);
    });
  });

  it('past --max-hints the target is fenced on delivery instead (counted, logged)', async () => {
    const a = await startCliNode(['--token', 'cluster', '--stall-threshold', '0']);
    const b = await startCliNode(['--token', 'cluster', '--max-hints', '100']);
    await batch(a, [['set', 'kept', text('untouched'), 0, null, null]]);
    await whileStopped(a, async () => {
      const ops: unknown[] = [];
      for (let i = 0; i < 150; i++) {
        ops.push(['set', `k${i}`, text(`v${i}`), 0, null, null], ['hint', `k${i}`, a.url]);
      }
      await batch(b, ops);
      expect(await stats(b)).toMatchObject({ hintsPending: 0, hintsDropped: 150 });
    });
    await eventually(async () => (await stats(a)).fences === 1);
    // Everything A held is in doubt now: served only once a peer vouches for it.
    expect((await batch(a, [['get', 'kept']]))[0]![6]).toBe(true);
    expect(b.output()).toMatch(/hints for http:\/\/127\.0\.0\.1:\d+ dropped \(maxHints reached\)/);
    // B logs the fence once A's answer to it is back, which may be after A counted it.
    await eventually(async () => /fenced http:\/\/127\.0\.0\.1:\d+/.test(b.output()));
  });

  it('refuses a hint target that is not an http(s) origin, or not one of --peers', async () => {
    const b = await startCliNode(['--token', 'cluster', '--peers', 'http://127.0.0.1:1']);
    const results = await batch(b, [
      ['hint', 'k', 'http://127.0.0.1:1'],
      ['hint', 'k', 'http://127.0.0.1:2'],
      ['hint', 'k', 'file:///etc/passwd'],
      ['hint', 'k', 'http://127.0.0.1:1/v1/flush'],
    ]);
    expect(results.map((r) => [r[0], r[1]])).toEqual([
      [204, undefined],
      [403, 'peer_refused'],
      [400, 'bad_op'],
      [400, 'bad_op'],
    ]);
  });

  it('holds hints for at most 64 other nodes: a client naming thousands is refused past that', async () => {
    const b = await startCliNode(['--token', 'cluster']);
    const before = b.rss();
    // Closed ports on another loopback address: every target stays unanswered, so each one the
    // node took would be probed every 250 ms for as long as it runs.
    const results: unknown[][] = [];
    for (let round = 0; round < 2; round++) {
      const ops = Array.from({ length: 1000 }, (_, i) => [
        'hint',
        `k${i}`,
        `http://127.0.0.9:${20000 + round * 1000 + i}`,
        false,
      ]);
      results.push(...(await batch(b, ops)));
    }
    expect(results.slice(0, 64).every((r) => r[0] === 204)).toBe(true);
    expect(results.slice(64).map((r) => `${String(r[0])} ${String(r[1])}`)).toEqual(
      Array.from({ length: 2000 - 64 }, () => '503 too_many_hint_targets'),
    );
    expect(await stats(b)).toMatchObject({ hintsPending: 64, hintsDropped: 2000 - 64 });
    // Probing the 64 for a few rounds costs the node next to nothing.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect((await batch(b, [['get', 'nothing']]))[0]![0]).toBe(404);
    expect(b.rss() - before).toBeLessThan(100 * 1024 * 1024);
  });

  it('a target whose hints aged into a fence leaves its place to another: nodes gone for good do not use up the 64', async () => {
    const b = await startCliNode(['--token', 'cluster', '--max-hint-age', '300']);
    // Closed ports on another loopback address: no target ever answers, as a pod gone for good
    // (back under a new address) never does. Each wave of 64 ages into fences due.
    const wave = (n: number) =>
      Array.from({ length: 64 }, (_, i) => [
        'hint',
        `k${i}`,
        `http://127.0.0.9:${21000 + n * 100 + i}`,
      ]);
    const agedInto = async (n: number) =>
      eventually(async () => (b.output().match(/older than maxHintAge/g) ?? []).length >= 64 * n);
    const statuses = (results: unknown[][]) => [...new Set(results.map((r) => String(r[0])))];
    expect(statuses(await batch(b, wave(0)))).toEqual(['204']);
    await agedInto(1);
    expect(statuses(await batch(b, wave(1)))).toEqual(['204']);
    await agedInto(2);
    // 128 fences due, of which the node keeps the 64 latest: the first wave's are forgotten.
    const forgotten = b.output().match(/fence due for \S+ is forgotten/g) ?? [];
    expect(forgotten).toHaveLength(64);
    expect(forgotten.every((line) => /127\.0\.0\.9:210\d\d /.test(line))).toBe(true);
    expect(statuses(await batch(b, wave(2)))).toEqual(['204']);
    expect(await stats(b)).toMatchObject({ hintsPending: 64, hintsDropped: 128 });
  });

  it('refuses a hint target whose host name is longer than a DNS name can be: a client cannot park a batch-sized target for ever', async () => {
    const b = await startCliNode(['--token', 'cluster']);
    const before = b.rss();
    const name = (chars: number, i: number) =>
      `${String(i).padStart(3, '0')}${'a'.repeat(chars - 3)}`;
    const [atLimit, pastLimit] = await batch(b, [
      ['hint', 'k', `http://${name(253, 0)}:1`],
      ['hint', 'k', `http://${name(254, 1)}:1`],
    ]);
    expect(atLimit![0]).toBe(204);
    expect([pastLimit![0], pastLimit![1]]).toEqual([400, 'bad_op']);
    // 63 more targets (the 64 a node holds) of 200 KB each, in one batch of ~12.6 MB: held, each
    // would be kept, copied into every probe's URL, and probed four times a second for ever.
    const results = await batch(
      b,
      Array.from({ length: 63 }, (_, i) => ['hint', `k${i}`, `http://${name(200_000, i + 2)}:1`]),
    );
    expect(results.map((r) => `${String(r[0])} ${String(r[1])}`)).toEqual(
      Array.from({ length: 63 }, () => '400 bad_op'),
    );
    // The refusal quotes the target only in part, not all 200 KB of it.
    expect((results[0]![2] as string).length).toBeLessThan(1000);
    expect(await stats(b)).toMatchObject({ hintsPending: 1 });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await batch(b, [['get', 'nothing']]))[0]![0]).toBe(404);
    expect(b.rss() - before).toBeLessThan(100 * 1024 * 1024);
  });
});

// A replay batch must fit the target's `maxBatchBytes` (16 MB by default), not only its
// `maxBatchOps`: values of up to `maxValueBytes` (1 MB by default) each are replayed.
describe('hint replay', () => {
  it('delivers hinted values that together exceed the default maxBatchBytes', async () => {
    const a = await startCliNode(['--token', 'cluster']);
    const b = await startCliNode(['--token', 'cluster', '--max-memory', '256mb']);
    const value = new Uint8Array(900_000).fill(120); // under the default maxValueBytes (1 MB)
    for (let i = 0; i < 20; i++) {
      // 20 keys × 0.9 MB = 18 MB of values hinted for A: over A's 16 MB maxBatchBytes in one batch.
      const written = await batch(b, [
        ['set', `k${i}`, value, 0, null, null],
        ['hint', `k${i}`, a.url],
      ]);
      expect(written[1]).toEqual([204]);
    }
    const until = Date.now() + 5000;
    while ((await stats(b)).hintsPending !== 0 && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await stats(b)).toMatchObject({ hintsPending: 0, hintsReplayed: 20, hintsDropped: 0 });
    const got = await batch(a, [['get', 'k19']]);
    expect(got[0]![0]).toBe(200);
  }, 20_000);
});

// A cluster whose nodes take smaller batches than the replay's default (`--max-batch-ops`,
// `--max-batch-bytes`): the replay must fit them, or the target refuses every round (413) and
// gets neither the writes it missed nor, until maxHintAge, a fence.
describe('hint replay to nodes configured for smaller batches', () => {
  it('fits --max-batch-ops and --max-batch-bytes', async () => {
    const limits = ['--max-batch-ops', '100', '--max-batch-bytes', '64kb'];
    const a = await startCliNode(['--token', 'cluster', ...limits]);
    const b = await startCliNode(['--token', 'cluster', ...limits]);
    const value = new Uint8Array(1000).fill(120);
    for (let chunk = 0; chunk < 6; chunk++) {
      // 300 keys of 1 KB: over 100 operations and over 64 KB in all.
      const ops: unknown[][] = [];
      for (let i = chunk * 50; i < (chunk + 1) * 50; i++) {
        ops.push(['set', `k${i}`, value, 0, null, null], ['hint', `k${i}`, a.url]);
      }
      expect((await batch(b, ops)).filter(([status]) => status !== 204)).toEqual([]);
    }
    await eventually(async () => (await stats(b)).hintsPending === 0);
    expect(await stats(b)).toMatchObject({ hintsReplayed: 300, hintsDropped: 0 });
    expect((await batch(a, [['get', 'k299']]))[0]![0]).toBe(200);
  });

  it('a target that answers but refuses the replay (another token) is said at warn, not only debug', async () => {
    const a = await startCliNode(['--token', 'cluster']);
    const b = await startCliNode(['--token', 'another']);
    await batch(a, [
      ['set', 'k', text('v'), 0, null, null],
      ['hint', 'k', b.url, false],
    ]);
    await eventually(async () => / warn .*refused by their target/.test(a.output()));
    expect(a.output()).toMatch(
      new RegExp(`refused by their target, latest ${b.url} \\(batch answered 401\\)`),
    );
    expect((await stats(a)).hintsPending).toBe(1);
  });

  it('a target whose certificate this node does not trust is said at warn too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dcache-hints-tls-'));
    try {
      const { certFile, keyFile } = makeSelfSignedPair(dir);
      const a = await startCliNode(['--token', 'cluster']);
      const b = await startCliNode([
        '--token',
        'cluster',
        '--tls-cert',
        certFile,
        '--tls-key',
        keyFile,
      ]);
      expect(b.url).toMatch(/^https:/);
      await batch(a, [
        ['set', 'k', text('v'), 0, null, null],
        ['hint', 'k', b.url, false],
      ]);
      await eventually(async () => / warn .*refused by their target/.test(a.output()));
      expect((await stats(a)).hintsPending).toBe(1);
    } finally {
      await stopCliNodes();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
