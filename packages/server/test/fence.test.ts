import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack, unpack } from 'msgpackr';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from './cli-node.js';
import type { CliNode } from './cli-node.js';
import { RawClient } from './memcached/helpers.js';

/**
 * The fence (never-stale.md §5) on nodes started through the CLI with its defaults (the SIGSTOP
 * tests name the default stall threshold: cli-node.ts turns the detector off otherwise): a node that
 * was away — restored from its snapshot, or stopped with SIGSTOP while a client spreads keys over
 * it and other nodes — serves nothing it cannot vouch for until a peer does. Batch gets report such entries unverified (the client verifies them);
 * the memcached port and single-key GETs, which cannot verify, miss them.
 */

let dir: string;
const clients: RawClient[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dcache-fence-'));
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await stopCliNodes();
  await rm(dir, { recursive: true, force: true });
});

/** A batch; with `ringNodes`, as a client that spreads keys over that many nodes says so. */
async function batch(node: CliNode, ops: unknown[], ringNodes?: number): Promise<unknown[][]> {
  const headers: Record<string, string> = { 'content-type': 'application/msgpack' };
  if (ringNodes !== undefined) headers['dcache-ring-nodes'] = `${ringNodes}`;
  const res = await fetch(`${node.url}/v1/batch`, { method: 'POST', headers, body: pack(ops) });
  expect(res.status).toBe(200);
  return unpack(new Uint8Array(await res.arrayBuffer())) as unknown[][];
}

async function memcached(node: CliNode): Promise<RawClient> {
  const client = new RawClient(node.memcached!.port);
  clients.push(client);
  await client.ready();
  return client;
}

async function stats(node: CliNode): Promise<Record<string, number>> {
  return (await (await fetch(`${node.url}/v1/stats`)).json()) as Record<string, number>;
}

const text = (s: string) => new TextEncoder().encode(s);

describe('restored from a snapshot', () => {
  it('entries are unverified over batch and misses over memcached and GET, until verified or rewritten', async () => {
    const file = join(dir, 'node.snapshot');
    const args = ['--snapshot-file', file, '--memcached-port', '0'];
    const first = await startCliNode(args);
    const written = await batch(first, [
      ['set', 'a', text('old a'), 0, null, null],
      ['set', 'b', text('old b'), 0, null, null],
      ['set', 'c', text('old c'), 0, null, null],
      ['delete', 'gone'],
    ]);
    const stampA = written[0]![2] as number;
    expect(await first.stop('SIGTERM')).toBe(0);

    const second = await startCliNode(args);
    const [a, b, gone] = await batch(second, [
      ['get', 'a'],
      ['get', 'b'],
      ['get', 'gone'],
    ]);
    expect(a).toEqual([200, text('old a'), 0, expect.any(Number), null, stampA, true]);
    expect(b![6]).toBe(true);
    // The tombstone came back with the snapshot: still a miss, still carrying its stamp.
    expect(gone).toEqual([404, written[3]![1], expect.any(Number)]);

    const mc = await memcached(second);
    expect(await mc.request('get a\r\nmg b v\r\n')).toBe('END\r\nEN\r\n');
    expect((await fetch(`${second.url}/v1/keys/a`)).status).toBe(404);

    // A peer vouched for a (same stamp); b was overwritten; c is still in doubt.
    expect(
      await batch(second, [
        ['verify', 'a', stampA],
        ['set', 'b', text('new b'), 0, null, null],
      ]),
    ).toEqual([[204], [204, expect.any(Number), expect.any(Number)]]);
    expect(await mc.request('get a\r\nget b\r\nget c\r\n')).toBe(
      'VALUE a 0 5\r\nold a\r\nEND\r\nVALUE b 0 5\r\nnew b\r\nEND\r\nEND\r\n',
    );
    expect((await batch(second, [['get', 'a']]))[0]).toHaveLength(6);
    expect(await stats(second)).toMatchObject({
      fences: 1,
      verifications: 1,
      staleReadsPrevented: 4,
    });
  });

  it('--trust-snapshot serves what was restored', async () => {
    const file = join(dir, 'node.snapshot');
    const args = ['--snapshot-file', file, '--memcached-port', '0', '--trust-snapshot'];
    const first = await startCliNode(args);
    await batch(first, [['set', 'a', text('kept'), 0, null, null]]);
    expect(await first.stop('SIGTERM')).toBe(0);
    const second = await startCliNode(args);
    expect((await batch(second, [['get', 'a']]))[0]).toHaveLength(6);
    expect(await (await memcached(second)).request('get a\r\n')).toBe(
      'VALUE a 0 4\r\nkept\r\nEND\r\n',
    );
  });

  it('an unstamped write replaces, and a delete removes, an entry restored with a stamp ahead of the clock', async () => {
    // Stamped 5 s ahead, which the first run's --max-clock-skew allows and the second's does not
    // (as after lowering it, a clock stepped back, or a snapshot moved from a faster machine).
    const file = join(dir, 'node.snapshot');
    const args = ['--snapshot-file', file, '--trust-snapshot'];
    const first = await startCliNode([...args, '--max-clock-skew', '10000']);
    const ahead = (await batch(first, [['get', 'none']]))[0]![2] as number;
    const future = ahead + 5000 * 1024;
    await batch(first, [
      ['set', 'a', text('old a'), 0, null, null, future],
      ['set', 'b', text('old b'), 0, null, null, future],
    ]);
    expect(await first.stop('SIGTERM')).toBe(0);

    const second = await startCliNode(args);
    const put = await fetch(`${second.url}/v1/keys/a`, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain' },
      body: 'new a',
    });
    expect(put.status).toBe(204);
    expect(await (await fetch(`${second.url}/v1/keys/a`)).text()).toBe('new a');
    expect((await fetch(`${second.url}/v1/keys/b`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${second.url}/v1/keys/b`)).status).toBe(404);
    // An old client's batch set (no stamp) too.
    const [set, get] = await batch(second, [
      ['set', 'a', text('newer a'), 0, null, null],
      ['get', 'a'],
    ]);
    expect(set).toHaveLength(3);
    expect(get![1]).toEqual(text('newer a'));
  });
});

/** SIGSTOP for 1.5 s, with `whileStopped` sent meanwhile; resolves to what it answered. */
async function stopAndContinue<T>(node: CliNode, whileStopped: () => Promise<T>): Promise<T> {
  node.child.kill('SIGSTOP');
  try {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    // Sent while the node is stopped: it waits in the socket, and is the first thing the node
    // handles after SIGCONT — before any timer of its own runs.
    const pending = whileStopped();
    await new Promise((resolve) => setTimeout(resolve, 100));
    node.child.kill('SIGCONT');
    return await pending;
  } finally {
    node.child.kill('SIGCONT');
  }
}

describe('stopped with SIGSTOP', () => {
  it('the first batch after SIGCONT already answers unverified, and memcached misses', async () => {
    const node = await startCliNode(['--memcached-port', '0', '--stall-threshold', '500']);
    // From a client whose ring holds 3 nodes: another node may stand in for this one.
    await batch(node, [['set', 'k', text('before'), 0, null, null]], 3);
    expect((await batch(node, [['get', 'k']]))[0]).toHaveLength(6);
    const [answer] = await stopAndContinue(node, () => batch(node, [['get', 'k']]));
    expect(answer).toEqual([
      200,
      text('before'),
      0,
      expect.any(Number),
      null,
      expect.any(Number),
      true,
    ]);
    expect(await (await memcached(node)).request('get k\r\n')).toBe('END\r\n');
    // Written after the stall: verified.
    await batch(node, [['set', 'k2', text('after'), 0, null, null]]);
    expect((await batch(node, [['get', 'k2']]))[0]).toHaveLength(6);
    expect(await stats(node)).toMatchObject({ stalls: 1, fences: 1 });
    expect(node.output()).toMatch(/the event loop stopped for \d+ ms/);
  });

  it('a node no client spreads keys from keeps serving what it holds: only counted', async () => {
    const node = await startCliNode(['--memcached-port', '0', '--stall-threshold', '500']);
    const port = await memcached(node);
    expect(await port.request('set m 0 0 6\r\nbefore\r\n')).toBe('STORED\r\n');
    // A client of this node alone (its ring holds it only), and one that does not say.
    await batch(node, [['set', 'k', text('before'), 0, null, null]], 1);
    await batch(node, [['set', 'j', text('before'), 0, null, null]]);
    const [answer] = await stopAndContinue(node, () => batch(node, [['get', 'k']], 1));
    expect(answer).toHaveLength(6);
    expect((await batch(node, [['get', 'j']]))[0]).toHaveLength(6);
    expect(await port.request('get m\r\n')).toBe('VALUE m 0 6\r\nbefore\r\nEND\r\n');
    expect((await fetch(`${node.url}/v1/keys/j`)).status).toBe(200);
    expect(await stats(node)).toMatchObject({ stalls: 1, fences: 0 });
    expect(node.output()).toMatch(/the event loop stopped for \d+ ms .*nothing fenced/);
  });

  it('POST /v1/fence fences on request', async () => {
    const node = await startCliNode([]);
    await batch(node, [['set', 'k', text('v'), 0, null, null]]);
    expect((await fetch(`${node.url}/v1/fence`, { method: 'POST' })).status).toBe(204);
    expect((await batch(node, [['get', 'k']]))[0]![6]).toBe(true);
    expect(await stats(node)).toMatchObject({ fences: 1, stalls: 0 });
  });

  it('a batch get-and-touch of an unverified entry serves it flagged: no stale read prevented', async () => {
    const node = await startCliNode([]);
    await batch(node, [['set', 'k', text('v'), 0, 60_000, null]]);
    expect((await fetch(`${node.url}/v1/fence`, { method: 'POST' })).status).toBe(204);
    const [got] = await batch(node, [['get', 'k', 5000]]);
    expect(got).toEqual([200, text('v'), 0, expect.any(Number), 5000, expect.any(Number), true]);
    expect(await stats(node)).toMatchObject({ hits: 1, staleReadsPrevented: 0 });
  });
});

describe('conditional writes on a fenced node', () => {
  it('see unverified entries as absent, as a GET does: add creates, replace and CAS miss', async () => {
    const node = await startCliNode([]);
    const [, , , [, , , version]] = (await batch(node, [
      ['set', 'added', text('old'), 0, null, null],
      ['set', 'replaced', text('old'), 0, null, null],
      ['set', 'cas', text('old'), 0, null, null],
      ['get', 'cas'],
    ])) as [unknown, unknown, unknown, [number, Uint8Array, number, number]];
    expect((await fetch(`${node.url}/v1/fence`, { method: 'POST' })).status).toBe(204);
    const put = (key: string, headers: Record<string, string>) =>
      fetch(`${node.url}/v1/keys/${key}`, {
        method: 'PUT',
        headers: { 'content-type': 'text/plain', ...headers },
        body: 'new',
      });
    expect((await fetch(`${node.url}/v1/keys/added`)).status).toBe(404);
    expect((await put('added', { 'if-none-match': '*' })).status).toBe(204);
    expect((await put('replaced', { 'if-match': '*' })).status).toBe(412);
    expect((await put('cas', { 'if-match': `"${version}"` })).status).toBe(412);
    const [added, replaced, cas] = await batch(node, [
      ['get', 'added'],
      ['get', 'replaced'],
      ['get', 'cas'],
    ]);
    expect(added).toEqual([200, text('new'), 16, expect.any(Number), null, expect.any(Number)]);
    expect([replaced![1], replaced![6]]).toEqual([text('old'), true]);
    expect([cas![1], cas![6]]).toEqual([text('old'), true]);
  });

  it('conditional DELETEs see them as absent too, as the PUT conditions they share do', async () => {
    const node = await startCliNode([]);
    const [, , , [, , , version]] = (await batch(node, [
      ['set', 'matched', text('old'), 0, null, null],
      ['set', 'starred', text('old'), 0, null, null],
      ['set', 'unless', text('old'), 0, null, null],
      ['get', 'matched'],
    ])) as [unknown, unknown, unknown, [number, Uint8Array, number, number]];
    expect((await fetch(`${node.url}/v1/fence`, { method: 'POST' })).status).toBe(204);
    const del = (key: string, headers: Record<string, string>) =>
      fetch(`${node.url}/v1/keys/${key}`, { method: 'DELETE', headers });
    // The version read before the fence, as a CAS PUT holding it fails: the entry stays.
    expect((await del('matched', { 'if-match': `"${version}"` })).status).toBe(412);
    expect((await del('starred', { 'if-match': '*' })).status).toBe(412);
    // Absent, as a GET answers it: the condition holds, and the delete finds no key.
    expect((await fetch(`${node.url}/v1/keys/unless`)).status).toBe(404);
    expect((await del('unless', { 'if-none-match': '*' })).status).toBe(404);
    const [matched, starred] = await batch(node, [
      ['get', 'matched'],
      ['get', 'starred'],
    ]);
    expect([matched![1], matched![6]]).toEqual([text('old'), true]);
    expect([starred![1], starred![6]]).toEqual([text('old'), true]);
  });
});

describe('counting on a fenced node', () => {
  it('incr and touch of an unverified entry answer 404 and change nothing', async () => {
    const node = await startCliNode([]);
    await batch(node, [['set', 'n', text('10'), 0, null, null]]);
    expect((await fetch(`${node.url}/v1/fence`, { method: 'POST' })).status).toBe(204);
    const [incr, touch, get] = await batch(node, [
      ['incr', 'n', 1],
      ['touch', 'n', 1000],
      ['get', 'n'],
    ]);
    expect([incr, touch]).toEqual([[404], [404]]);
    expect(get).toEqual([200, text('10'), 0, expect.any(Number), null, expect.any(Number), true]);
    expect((await fetch(`${node.url}/v1/keys/n/incr`, { method: 'POST' })).status).toBe(404);
    expect(await stats(node)).toMatchObject({ staleReadsPrevented: 3 });
  });

  it('an incr with an initial sees an unverified entry as absent, as add does: it creates the counter from the seed, through every door', async () => {
    const node = await startCliNode(['--memcached-port', '0']);
    const [[, , stamp]] = (await batch(node, [
      ['set', 'batch', text('10'), 0, null, null],
      ['set', 'route', text('10'), 0, null, null],
      ['set', 'meta', text('10'), 0, null, null],
    ])) as [[number, number, number]];
    expect((await fetch(`${node.url}/v1/fence`, { method: 'POST' })).status).toBe(204);
    // Stamped below the unverified entry: the node stamps the new counter above it.
    const [created, counted, read] = await batch(node, [
      ['incr', 'batch', 1, 3, null, stamp - 1],
      ['incr', 'batch', 1],
      ['get', 'batch'],
    ]);
    expect(created).toEqual([200, 3, expect.any(Number)]);
    expect(created![2]).toBeGreaterThan(stamp);
    expect(counted).toEqual([200, 4, expect.any(Number)]);
    // Verified: no seventh element.
    expect(read).toEqual([200, text('4'), 2, expect.any(Number), null, expect.any(Number)]);
    // The single-key route answers as the batch does (both are count()).
    const route = (query: string) =>
      fetch(`${node.url}/v1/keys/route/incr${query}`, { method: 'POST' });
    expect((await route('')).status).toBe(404);
    expect(await (await route('?initial=3')).json()).toBe(3);
    expect(await (await route('')).json()).toBe(4);
    // memcached's seeded form, `ma` with N (autovivify) and J, creates over it too; a plain incr
    // misses, as the plain view misses every unverified entry.
    const mc = await memcached(node);
    expect(await mc.request('incr meta 1\r\n')).toBe('NOT_FOUND\r\n');
    expect(await mc.request('ma meta N0 J3 v\r\n')).toBe('VA 1\r\n3\r\n');
    expect(await mc.request('incr meta 1\r\n')).toBe('4\r\n');
  });
});
