import { setTimeout as sleep } from 'node:timers/promises';
import { pack, unpack } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from './cli-node.js';
import type { CliNode } from './cli-node.js';

/** `GET /v1/keys` pages and `POST /v1/restore-claim`, on nodes started through the CLI. */

afterEach(async () => {
  await stopCliNodes();
});

async function batch(node: CliNode, ops: unknown[]): Promise<unknown[][]> {
  const res = await fetch(`${node.url}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/msgpack' },
    body: pack(ops),
  });
  expect(res.status).toBe(200);
  return unpack(new Uint8Array(await res.arrayBuffer())) as unknown[][];
}

interface ErrorBody {
  error: { code: string };
}

type Row = [
  key: string,
  stamp: number,
  ttl: number | null,
  tombstone: boolean,
  unverified: boolean,
];

async function page(node: CliNode, query: string): Promise<{ keys: Row[]; cursor: number | null }> {
  const res = await fetch(`${node.url}/v1/keys?${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as { keys: Row[]; cursor: number | null };
}

describe('GET /v1/keys', () => {
  it('lists every key once, in bounded pages, with stamp, ttl and tombstones', async () => {
    const node = await startCliNode([]);
    const ops: unknown[] = [];
    for (let i = 0; i < 2500; i++)
      ops.push(['set', `k${i}`, Uint8Array.of(i & 255), 0, null, null]);
    ops.push(['set', 'timed', Uint8Array.of(1), 0, 60_000, null], ['delete', 'k7']);
    for (let i = 0; i < ops.length; i += 900) await batch(node, ops.slice(i, i + 900));

    const rows: Row[] = [];
    let cursor: number | null = 0;
    let pages = 0;
    while (cursor !== null) {
      const next: { keys: Row[]; cursor: number | null } = await page(
        node,
        `cursor=${cursor}&limit=1000`,
      );
      expect(next.keys.length).toBeLessThanOrEqual(1000);
      rows.push(...next.keys);
      cursor = next.cursor;
      pages++;
    }
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(rows).toHaveLength(2501);
    expect(new Set(rows.map((row) => row[0])).size).toBe(2501);
    const byKey = new Map(rows.map((row) => [row[0], row]));
    expect(byKey.get('k7')).toEqual(['k7', expect.any(Number), expect.any(Number), true, false]);
    expect(byKey.get('k8')).toEqual(['k8', expect.any(Number), null, false, false]);
    expect(byKey.get('timed')![2]).toBeGreaterThan(50_000);
    expect(byKey.get('k7')![1]).toBeGreaterThan(byKey.get('k8')![1]);
  });

  it('says which entries the node does not vouch for, and a restore verify vouches and counts', async () => {
    const node = await startCliNode([]);
    const written = await batch(node, [
      ['set', 'a', Uint8Array.of(1), 0, null, null],
      ['set', 'b', Uint8Array.of(2), 0, null, null],
      ['delete', 'c'],
    ]);
    expect((await fetch(`${node.url}/v1/fence`, { method: 'POST' })).status).toBe(204);
    await batch(node, [['set', 'b', Uint8Array.of(3), 0, null, null]]);
    const unverified = async () =>
      Object.fromEntries((await page(node, 'limit=10')).keys.map((row) => [row[0], row[4]]));
    expect(await unverified()).toEqual({ a: true, b: false, c: true });

    const stampA = written[0]![2] as number;
    expect(
      await batch(node, [
        ['verify', 'a', stampA, 'restore'],
        ['verify', 'c', written[2]![1] as number, 'restore'],
        ['verify', 'b', stampA, 'restore'],
        ['verify', 'a', stampA, 'elsewhere'],
      ]),
    ).toEqual([
      [204],
      [204],
      [412, expect.any(Number)],
      [400, 'bad_op', expect.stringMatching(/origin must be one of/)],
    ]);
    expect(await unverified()).toEqual({ a: false, b: false, c: false });
    const stats = (await (await fetch(`${node.url}/v1/stats`)).json()) as Record<string, unknown>;
    expect(stats).toMatchObject({ restoredKeys: 2, verifications: 2 });
  });

  it('refuses a page larger than 10000 or a bad cursor', async () => {
    const node = await startCliNode([]);
    const tooMany = await fetch(`${node.url}/v1/keys?limit=10001`);
    expect(tooMany.status).toBe(400);
    expect(((await tooMany.json()) as { error: { code: string } }).error.code).toBe('bad_limit');
    expect((await fetch(`${node.url}/v1/keys?cursor=-1`)).status).toBe(400);
    expect((await fetch(`${node.url}/v1/keys?limit=0`)).status).toBe(400);
  });

  it('requires the token', async () => {
    const node = await startCliNode(['--token', 'secret']);
    expect((await fetch(`${node.url}/v1/keys`)).status).toBe(401);
    expect((await fetch(`${node.url}/v1/restore-claim`, { method: 'POST' })).status).toBe(401);
  });
});

describe('POST /v1/restore-claim', () => {
  it('answers 204 to the first caller of each node start, 409 after', async () => {
    const first = await startCliNode([]);
    const claim = (node: CliNode) => fetch(`${node.url}/v1/restore-claim`, { method: 'POST' });
    const answers = await Promise.all([claim(first), claim(first), claim(first)]);
    expect(answers.map((res) => res.status).sort()).toEqual([204, 409, 409]);
    expect((await claim(first)).status).toBe(409);
    await first.stop('SIGKILL');
    const restarted = await startCliNode([]);
    expect((await claim(restarted)).status).toBe(204);
  });

  it('answers 204 again to the claimant that holds the claim, 409 to any other', async () => {
    const node = await startCliNode([]);
    const claim = (query: string) =>
      fetch(`${node.url}/v1/restore-claim${query}`, { method: 'POST' });
    expect((await claim('?claimant=client-a_1')).status).toBe(204);
    // The same client asking again (its first answer lost) still holds it.
    expect((await claim('?claimant=client-a_1')).status).toBe(204);
    expect((await claim('?claimant=client-b')).status).toBe(409);
    expect((await claim('')).status).toBe(409);
    expect((await claim('?claimant=client-a_1')).status).toBe(204);
  });

  it('gives an unnamed claim to nobody else, and refuses a malformed claimant', async () => {
    const node = await startCliNode([]);
    const claim = (query: string) =>
      fetch(`${node.url}/v1/restore-claim${query}`, { method: 'POST' });
    for (const bad of ['', 'a b', 'x'.repeat(65), '%C3%A9']) {
      const res = await claim(`?claimant=${bad}`);
      expect(res.status, bad).toBe(400);
      const body = (await res.json()) as { error: { code: string } };
      expect(body.error.code).toBe('bad_claimant');
    }
    // A refused claim took nothing: the first valid claim still wins.
    expect((await claim('')).status).toBe(204);
    expect((await claim('?claimant=late')).status).toBe(409);
  });

  it('holds a claim for its lease while renewed, then gives it to the next claimant', async () => {
    const node = await startCliNode(['--restore-claim-lease', '3000']);
    const post = (query: string) =>
      fetch(`${node.url}/v1/restore-claim?${query}`, { method: 'POST' });
    const started = performance.now();
    const until = (ms: number) => sleep(Math.max(0, started + ms - performance.now()));
    const granted = await post('claimant=holder');
    expect(granted.status).toBe(204);
    expect(granted.headers.get('dcache-claim-lease')).toBe('3000');
    const refused = await post('claimant=other');
    expect(refused.status).toBe(409);
    // Whole seconds until the lease lapses, rounded up: at most the lease, at least one.
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(3);
    expect(((await refused.json()) as ErrorBody).error.code).toBe('already_claimed');
    await until(1500);
    const renewed = await post('claimant=holder&renew=1');
    expect(renewed.status).toBe(204);
    expect(renewed.headers.get('dcache-claim-lease')).toBe('3000');
    // Past the first lease, but the renewal holds it.
    await until(3600);
    expect((await post('claimant=other')).status).toBe(409);
    // The holder goes quiet: once the renewed lease lapses, the next claimant takes over.
    while ((await post('claimant=other')).status !== 204) {
      expect(performance.now() - started).toBeLessThan(15_000);
      await sleep(100);
    }
    expect(performance.now() - started).toBeGreaterThan(4400);
    const lost = await post('claimant=holder&renew=1');
    expect(lost.status).toBe(409);
    expect(((await lost.json()) as ErrorBody).error.code).toBe('not_claimant');
  });

  it('never grants a renewal on a node started since the claim', async () => {
    const first = await startCliNode([]);
    const post = (node: CliNode, query: string) =>
      fetch(`${node.url}/v1/restore-claim?${query}`, { method: 'POST' });
    expect((await post(first, 'claimant=holder')).status).toBe(204);
    await first.stop('SIGKILL');
    const restarted = await startCliNode([]);
    const renewal = await post(restarted, 'claimant=holder&renew=1');
    expect(renewal.status).toBe(409);
    expect(((await renewal.json()) as ErrorBody).error.code).toBe('not_claimant');
    // The restarted node's restore is still free for whoever sees the restart.
    expect((await post(restarted, 'claimant=next')).status).toBe(204);
  });

  it('ends a claim: released lets the next claimant in, done closes the start', async () => {
    const node = await startCliNode([]);
    const post = (query: string) =>
      fetch(`${node.url}/v1/restore-claim?${query}`, { method: 'POST' });
    const code = async (res: Response) => ((await res.json()) as ErrorBody).error.code;
    expect((await post('claimant=a')).status).toBe(204);
    expect((await post('claimant=b')).status).toBe(409);
    expect((await post('claimant=a&end=released')).status).toBe(204);
    expect((await post('claimant=b')).status).toBe(204);
    const notHolder = await post('claimant=a&end=done');
    expect(notHolder.status).toBe(409);
    expect(await code(notHolder)).toBe('not_claimant');
    expect((await post('claimant=b&end=done')).status).toBe(204);
    for (const query of ['claimant=a', 'claimant=b', '']) {
      const res = await post(query);
      expect(res.status, query).toBe(409);
      expect(await code(res)).toBe('already_restored');
    }
    const bad = await post('claimant=b&end=maybe');
    expect(bad.status).toBe(400);
    expect(await code(bad)).toBe('bad_end');
    const anonymous = await post('end=done');
    expect(anonymous.status).toBe(400);
    expect(await code(anonymous)).toBe('bad_claimant');
    const badRenew = await post('claimant=b&renew=yes');
    expect(badRenew.status).toBe(400);
    expect(await code(badRenew)).toBe('bad_renew');
    const both = await post('claimant=b&renew=1&end=done');
    expect(both.status).toBe(400);
    expect(await code(both)).toBe('bad_end');
  });
});
