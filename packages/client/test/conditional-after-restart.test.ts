// add and replace after the key's primary lost it while another replica kept it: the primary
// restarted empty (SIGKILL, no snapshot), or — three replicas — a value only one replica holds.
// The primary's "absent" proves nothing there, and a read finds the key on the other replica, so
// add must answer false and keep the value that stands (unless a newer delete buries it), and
// replace must replace it. And compareAndSet after the primary restarted from its snapshot,
// holding the key unverified; the hints of a conditional write's copies (the deciding replica
// keeps its copy, a stand-in drops its own); an add in a transition window. Nodes started
// through the CLI on 127.0.0.1; the primary restarted on its port.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stampAt, writeFingerprint } from '@dcache/core';
import { afterEach, describe, expect, it } from 'vitest';
import { restartCliNodeOnPort, startCliNode, stopCliNodes } from '../../server/test/cli-node.js';
import type { CliNode } from '../../server/test/cli-node.js';
import { DistributedCacheClient } from '../src/index.js';
import type { BatchResult } from '../src/wire.js';
import { waitFor } from './cluster.js';
import { nodeCounter, rawBatch, rawGet } from './raw-node.js';
import { keyWithPrimary } from './key-with-primary.js';

const clients: DistributedCacheClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await stopCliNodes();
});

function connect(urls: readonly string[], replicas: number): DistributedCacheClient {
  const client = new DistributedCacheClient([...urls], { replicas, timeout: 5000 });
  clients.push(client);
  return client;
}

/** A client that marks a node down at its first timeout (500 ms) and probes it every 100 ms. */
function connectMarkingDownFast(urls: readonly string[]): DistributedCacheClient {
  const client = new DistributedCacheClient([...urls], {
    replicas: 2,
    timeout: 500,
    failureThreshold: 1,
    probeInterval: 100,
  });
  clients.push(client);
  return client;
}

/** Kills `node` (SIGKILL) and starts an empty one on its port. */
async function restartEmpty(node: CliNode): Promise<CliNode> {
  const port = Number(new URL(node.url).port);
  await node.stop('SIGKILL');
  return restartCliNodeOnPort(port);
}

/** The value bytes `url` holds verified for `key`, or the get result when it holds none. */
async function heldBytes(url: string, key: string): Promise<string | BatchResult> {
  const result = await rawGet(url, key);
  if (result[0] !== 200 || result[6] === true) return result;
  return Buffer.from(result[1] as Uint8Array).toString('hex');
}

/**
 * Two CLI nodes and a key whose primary is the first: `write` runs with a first client, then the
 * primary is killed and restarted empty. The `second` client returned never knew the node before
 * its restart, so no restore runs from it.
 */
async function primaryRestartedEmpty(
  write: (client: DistributedCacheClient, key: string) => Promise<void>,
): Promise<{ urls: string[]; key: string; second: DistributedCacheClient }> {
  const nodes = await Promise.all([startCliNode(), startCliNode()]);
  const urls = nodes.map((node) => node.url);
  const first = connect(urls, 2);
  const key = keyWithPrimary(first, urls[0]!, 'lock:');
  await write(first, key);
  await first.close();
  await restartEmpty(nodes[0]!);
  expect((await rawGet(urls[0]!, key))[0]).toBe(404);
  return { urls, key, second: connect(urls, 2) };
}

describe('add after the primary restarted empty', () => {
  it('answers false while the other replica holds the key, and both hold its value', async () => {
    const { urls, key, second } = await primaryRestartedEmpty(async (first, key) => {
      expect(await first.add(key, 'holder-1', { ttl: 60_000 })).toBe(true);
    });
    const holder1 = await heldBytes(urls[1]!, key);
    expect(typeof holder1).toBe('string');

    expect(await second.add(key, 'holder-2')).toBe(false);
    expect(await second.get(key)).toBe('holder-1');
    expect(await heldBytes(urls[0]!, key)).toBe(holder1);
    expect(await heldBytes(urls[1]!, key)).toBe(holder1);
    expect(second.getReplicationStats().addsHeldElsewhere).toBe(1);
    // The value kept its TTL: it still expires.
    const ttl = (await rawGet(urls[0]!, key))[4];
    expect(typeof ttl).toBe('number');
    expect(ttl as number).toBeGreaterThan(0);
    expect(ttl as number).toBeLessThanOrEqual(60_000);
    // A second add sees the key on the primary now.
    expect(await second.add(key, 'holder-3')).toBe(false);
    expect(second.getReplicationStats().addsHeldElsewhere).toBe(1);
  });

  it('answers true for a key no replica holds, and both hold the add', async () => {
    const { urls, key, second } = await primaryRestartedEmpty(async (first) => {
      expect(await first.set('other', 'x')).toBe(true);
    });
    expect(await second.add(key, 'holder-2')).toBe(true);
    expect(await second.get(key)).toBe('holder-2');
    const added = await heldBytes(urls[0]!, key);
    expect(typeof added).toBe('string');
    expect(await heldBytes(urls[1]!, key)).toBe(added);
    expect(second.getReplicationStats().addsHeldElsewhere).toBe(0);
    expect(await second.add(key, 'holder-3')).toBe(false);
  });
});

describe('replace after the primary restarted empty', () => {
  it('replaces the value the other replica holds, on both', async () => {
    const { urls, key, second } = await primaryRestartedEmpty(async (first, key) => {
      expect(await first.set(key, 'v1')).toBe(true);
    });
    expect(await second.replace(key, 'v2')).toBe(true);
    expect(await second.get(key)).toBe('v2');
    const replaced = await heldBytes(urls[0]!, key);
    expect(typeof replaced).toBe('string');
    expect(await heldBytes(urls[1]!, key)).toBe(replaced);
    // A key no replica holds is still not replaced.
    expect(await second.replace(`${key}:absent`, 'v')).toBe(false);
    expect(await second.get(`${key}:absent`)).toBeUndefined();
  });
});

describe('add with three replicas, the key on one of them only', () => {
  it('answers false, writing nothing, and every replica gets the value held', async () => {
    const nodes = await Promise.all([startCliNode(), startCliNode(), startCliNode()]);
    const urls = nodes.map((node) => node.url);
    const client = connect(urls, 3);
    const key = keyWithPrimary(client, urls[0]!, 'lock:');
    const [, second, third] = client.nodesFor(key);
    // Only the second replica holds the key (the others lost it), written there directly.
    const bytes = Buffer.from('held-by-one');
    const stamp = stampAt(Date.now());
    const written = await rawBatch(second!, [['set', key, bytes, 0, 0, null, stamp]]);
    expect(written[0]![0]).toBe(204);

    expect(await client.add(key, 'mine')).toBe(false);
    const held = bytes.toString('hex');
    for (const url of [urls[0]!, second!, third!]) {
      // The value raw, as written: the client stores a Buffer's bytes with binary flags.
      const result = await rawGet(url, key);
      expect(result[0], url).toBe(200);
      expect(Buffer.from(result[1] as Uint8Array).toString('hex'), url).toBe(held);
      expect(result[6], url).not.toBe(true);
    }
    expect(client.getReplicationStats().addsHeldElsewhere).toBe(1);
  });
});

describe('compareAndSet after the primary restarted from its snapshot', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('succeeds with the version getVersioned read, once a peer vouched for the entry', async () => {
    dir = await mkdtemp(join(tmpdir(), 'dcache-cas-restart-'));
    const snapshot = ['--snapshot-file', join(dir, 'primary.snapshot')];
    const nodes = [await startCliNode(snapshot), await startCliNode()];
    const urls = nodes.map((node) => node.url);
    const first = connect(urls, 2);
    const key = keyWithPrimary(first, urls[0]!, 'lock:');
    expect(await first.set(key, 'v1')).toBe(true);
    await first.close();
    // SIGTERM saves the snapshot; the node loads it back, every entry unverified.
    expect(await nodes[0]!.stop('SIGTERM')).toBe(0);
    nodes[0] = await restartCliNodeOnPort(Number(new URL(urls[0]!).port), snapshot);
    expect((await rawGet(urls[0]!, key))[6]).toBe(true);

    const second = connect(urls, 2);
    const read = await second.getVersioned(key);
    expect(read?.value).toBe('v1');
    // Verified now, and the version names the write the primary holds.
    const held = await rawGet(urls[0]!, key);
    expect([held[0], held[6]]).toEqual([200, undefined]);
    const [, bytes, flags, , , stamp] = held;
    expect(writeFingerprint(stamp as number, flags as number, bytes as Uint8Array)).toBe(
      read!.version,
    );
    expect(await second.compareAndSet(key, 'v2', read!.version)).toBe(true);
    expect(await second.get(key)).toBe('v2');
  });
});

describe('add over a value a newer delete on another replica buries', () => {
  it('answers true: the value a replica kept after missing the delete is no value', async () => {
    const nodes = await Promise.all([startCliNode(), startCliNode()]);
    const urls = nodes.map((node) => node.url);
    const client = connect(urls, 2);
    const key = keyWithPrimary(client, urls[0]!, 'lock:');
    // The second replica holds a value its primary has the newer delete of (it missed the delete).
    const written = stampAt(Date.now());
    const old = await rawBatch(urls[1]!, [['set', key, Buffer.from('old'), 0, 0, null, written]]);
    const deleted = await rawBatch(urls[0]!, [['delete', key, written + 1]]);
    expect([old[0]![0], deleted[0]![0]]).toEqual([204, 404]);
    expect(await client.get(key)).toBeUndefined();

    expect(await client.add(key, 'mine')).toBe(true);
    expect(await client.get(key)).toBe('mine');
    const added = await heldBytes(urls[0]!, key);
    expect(typeof added).toBe('string');
    expect(await heldBytes(urls[1]!, key)).toBe(added);
    expect(client.getReplicationStats().addsHeldElsewhere).toBe(0);
  });
});

describe('a replace whose copy the other replica missed (paused)', () => {
  it('keeps its value on the primary once the hint the primary holds is delivered', async () => {
    const nodes = await Promise.all([startCliNode(), startCliNode()]);
    const urls = nodes.map((node) => node.url);
    const client = connectMarkingDownFast(urls);
    const key = keyWithPrimary(client, urls[0]!, 'lock:');
    expect(await client.set(key, 'v1')).toBe(true);
    nodes[1]!.child.kill('SIGSTOP');
    try {
      expect(await client.replace(key, 'v2')).toBe(true);
      // The copy times out: the primary, which decided the replace, takes the hint.
      await waitFor(() => client.getReplicationStats().hintsHandedOff >= 1, 'the hint', {
        timeoutMs: 5000,
      });
    } finally {
      nodes[1]!.child.kill('SIGCONT');
    }
    // Replayed, and the replay's round over (a stand-in drops its copy in it).
    const replayed = async (): Promise<boolean> =>
      (await nodeCounter(urls[0]!, 'hintsReplayed')) >= 1 &&
      (await nodeCounter(urls[0]!, 'hintsPending')) === 0;
    await waitFor(replayed, 'the replay', { timeoutMs: 5000 });
    // A natural replica: it keeps its copy after handing the write over, as a stand-in would not.
    const kept = await heldBytes(urls[0]!, key);
    expect(typeof kept).toBe('string');
    // The other replica holds that write too, verified once this client's fence of it (it was
    // marked down) and the restore that follows are done.
    await waitFor(async () => (await heldBytes(urls[1]!, key)) === kept, 'the replica', {
      timeoutMs: 8000,
    });
    expect(await client.get(key)).toBe('v2');
  });
});

describe("an add decided while the key's primary is marked down", () => {
  it('leaves no copy on the stand-in once its hint is delivered, as a set does', async () => {
    const nodes = await Promise.all([startCliNode(), startCliNode(), startCliNode()]);
    const urls = nodes.map((node) => node.url);
    const [primary, replica, standIn] = urls as [string, string, string];
    const client = connectMarkingDownFast(urls);
    const keyOf = (prefix: string): string => {
      for (let i = 0; ; i++) {
        const [first, second] = client.nodesFor(`${prefix}:${i}`);
        if (first === primary && second === replica) return `${prefix}:${i}`;
      }
    };
    const setKey = keyOf('set');
    const addKey = keyOf('add');
    nodes[0]!.child.kill('SIGSTOP');
    try {
      // Its first timeout marks the primary down: both writes go to the replica and a stand-in.
      await client.get(setKey).catch(() => undefined);
      expect(await client.set(setKey, 'set-value')).toBe(true);
      expect(await client.add(addKey, 'add-value')).toBe(true);
      expect((await rawGet(standIn, setKey))[0]).toBe(200);
      expect((await rawGet(standIn, addKey))[0]).toBe(200);
      await waitFor(() => client.getReplicationStats().hintsHandedOff >= 2, 'the hints', {
        timeoutMs: 5000,
      });
    } finally {
      nodes[0]!.child.kill('SIGCONT');
    }
    const replayed = async (): Promise<boolean> =>
      (await nodeCounter(replica, 'hintsPending')) +
        (await nodeCounter(standIn, 'hintsPending')) ===
        0 &&
      (await rawGet(primary, setKey))[0] === 200 &&
      (await rawGet(primary, addKey))[0] === 200;
    await waitFor(replayed, 'the replay', { timeoutMs: 8000 });
    // The stand-in held both only for the primary: after delivering, neither copy stays (a later
    // fault would serve it after the replicas deleted the key). The replica keeps its own.
    expect((await rawGet(standIn, setKey))[0]).toBe(404);
    expect((await rawGet(standIn, addKey))[0]).toBe(404);
    expect((await rawGet(replica, addKey))[0]).toBe(200);
  });
});

describe('add in a transition window, the newer delete on a previous owner', () => {
  it('answers true, as reads answer a miss: the delete is the newest write of the key', async () => {
    const nodes = await Promise.all([startCliNode(), startCliNode(), startCliNode()]);
    const [n1, n2, n3] = nodes.map((node) => node.url) as [string, string, string];
    const client = new DistributedCacheClient([n1, n2], {
      replicas: 2,
      timeout: 5000,
      // No restore gets ahead of the add: the window alone decides what it sees.
      restoreRate: 1,
      transition: { maxWindowMs: 60_000, quietMs: 30_000 },
    });
    clients.push(client);
    // A key whose owners in the new ring are [n3, kept], with `gone` a previous owner.
    const ring = connect([n1, n2, n3], 2);
    let key = 'w:0';
    for (let i = 1; ring.nodesFor(key)[0] !== n3; i++) key = `w:${i}`;
    const [, kept] = ring.nodesFor(key) as [string, string];
    const gone = kept === n1 ? n2 : n1;
    // `kept` missed the delete that `gone` holds.
    const written = stampAt(Date.now());
    const set = await rawBatch(kept, [['set', key, Buffer.from('deleted'), 0, 0, null, written]]);
    const deleted = await rawBatch(gone, [['delete', key, written + 1]]);
    expect([set[0]![0], deleted[0]![0]]).toEqual([204, 404]);

    client.addNode(n3);
    expect(client.nodesFor(key)).toEqual([n3, kept]);
    expect(await client.add(key, 'mine')).toBe(true);
    expect(await client.get(key)).toBe('mine');
    const added = await heldBytes(n3, key);
    expect(typeof added).toBe('string');
    expect(await heldBytes(kept, key)).toBe(added);
  });
});
