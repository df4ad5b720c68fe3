// The nemesis's faults are real and undone: each is checked with plain HTTP against the node's own
// URL, and cleanup leaves no process, iptables rule or temp dir behind.
import { execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pack, unpack } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { Nemesis, sweepAbandoned } from './nemesis.js';
import { firstLine, spawnTs } from './run-ts.js';

const HOLD_FAULTS = fileURLToPath(new URL('./fixtures/hold-faults.ts', import.meta.url));

let nemesis: Nemesis | undefined;
let holder: ChildProcess | undefined;

afterEach(async () => {
  await nemesis?.cleanup();
  nemesis = undefined;
  if (holder !== undefined) {
    if (holder.exitCode === null && holder.signalCode === null) {
      holder.kill('SIGKILL');
      await once(holder, 'exit');
    }
    holder = undefined;
    sweepAbandoned();
  }
});

/**
 * 'served' with the status, or 'timeout' / 'error' when no answer came within `ms` — generous by
 * default, for a node expected to answer on a loaded machine; short where a hang is expected.
 */
async function probe(url: string, path = '/healthz', ms = 5000): Promise<string> {
  try {
    const response = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(ms) });
    await response.arrayBuffer();
    return `served ${response.status}`;
  } catch (error) {
    return (error as Error).name === 'TimeoutError' ? 'timeout' : 'error';
  }
}

async function put(url: string, key: string, value: string): Promise<void> {
  const response = await fetch(`${url}/v1/keys/${key}`, {
    method: 'PUT',
    body: value,
    headers: { 'content-type': 'text/plain' },
    signal: AbortSignal.timeout(5000),
  });
  expect(response.status).toBe(204);
}

async function read(url: string, key: string): Promise<string | undefined> {
  const response = await fetch(`${url}/v1/keys/${key}`, { signal: AbortSignal.timeout(5000) });
  const body = await response.text();
  return response.status === 200 ? body : undefined;
}

/**
 * What the node holds for `key`, asked with a batch `get`: a node restored from its snapshot holds
 * its entries unverified (docs/design/never-stale.md §5), which the single-key GET answers as a
 * miss, and a batch get reports with a 7th element `true`.
 */
async function held(
  url: string,
  key: string,
): Promise<{ value: string; unverified: boolean } | undefined> {
  const response = await fetch(`${url}/v1/batch`, {
    method: 'POST',
    body: pack([['get', key]]),
    headers: { 'content-type': 'application/msgpack' },
    signal: AbortSignal.timeout(5000),
  });
  expect(response.status).toBe(200);
  const [result] = unpack(new Uint8Array(await response.arrayBuffer())) as unknown[][];
  if (result![0] !== 200) return undefined;
  return {
    value: Buffer.from(result![1] as Uint8Array).toString(),
    unverified: result![6] === true,
  };
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const rulesOf = (pid: number): string =>
  execFileSync('iptables', ['-w', '-S'])
    .toString()
    .split('\n')
    .filter((line) => line.includes(`DCACHE_TEST_${pid}_`))
    .join('\n');
const ownRules = (): string => rulesOf(process.pid);

/** Dead and reaped: a killed node is a zombie until its parent (or init) reaps it. */
async function gone(pids: readonly number[]): Promise<number[]> {
  const deadline = Date.now() + 5000;
  const reaped = (pid: number): boolean => !existsSync(`/proc/${pid}`);
  while (!pids.every(reaped) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return pids.filter((pid) => !reaped(pid));
}

/** A test process (fixtures/hold-faults.ts) holding a paused node and a partitioned one. */
async function startHolder(): Promise<{ pid: number; nodes: number[] }> {
  holder = spawnTs(HOLD_FAULTS);
  const { pids } = JSON.parse(await firstLine(holder)) as { pids: number[] };
  expect(rulesOf(holder.pid!)).toContain('DROP');
  expect(pids.filter((pid) => existsSync(`/proc/${pid}`))).toHaveLength(2);
  return { pid: holder.pid!, nodes: pids };
}

describe('nemesis', () => {
  it('starts each node through the CLI on its own loopback address', async () => {
    nemesis = await Nemesis.start({ nodes: 3 });
    expect(nemesis.nodes.map((node) => node.host)).toEqual(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    for (const url of nemesis.urls) expect(await probe(url)).toBe('served 200');
  });

  it('pause: the node answers nothing until resume; the others are served meanwhile', async () => {
    nemesis = await Nemesis.start({ nodes: 2 });
    const [paused, other] = nemesis.urls as [string, string];
    nemesis.pause(0);
    expect(nemesis.nodes[0]!.state).toBe('paused');
    expect(await probe(paused, '/healthz', 300)).toBe('timeout');
    expect(await probe(other)).toBe('served 200');
    nemesis.resume(0);
    expect(await probe(paused, '/healthz', 5000)).toBe('served 200');
  });

  it('kill + restart empty: same address and port, the node serves, its data is gone', async () => {
    nemesis = await Nemesis.start({ nodes: 1, snapshots: true });
    const [url] = nemesis.urls as [string];
    await put(url, 'k', 'before');
    const before = nemesis.nodes[0]!.pid!;
    await nemesis.kill(0);
    expect(await probe(url)).toBe('error');
    await nemesis.restart(0, 'empty');
    expect(nemesis.urls[0]).toBe(url);
    expect(nemesis.nodes[0]!.pid).not.toBe(before);
    expect(alive(before)).toBe(false);
    expect(await read(url, 'k')).toBeUndefined();
  });

  it('stop + restart from snapshot: SIGTERM saves, the restarted node holds what it held (unverified)', async () => {
    nemesis = await Nemesis.start({ nodes: 1, snapshots: true });
    const [url] = nemesis.urls as [string];
    await put(url, 'k', 'kept');
    await nemesis.stop(0);
    expect(existsSync(nemesis.nodes[0]!.snapshotFile!)).toBe(true);
    await nemesis.restart(0, 'snapshot');
    expect(await held(url, 'k')).toEqual({ value: 'kept', unverified: true });
  });

  it('restart from snapshot of a paused node resumes it first, so SIGTERM can save', async () => {
    nemesis = await Nemesis.start({ nodes: 1, snapshots: true });
    const [url] = nemesis.urls as [string];
    await put(url, 'k', 'kept');
    nemesis.pause(0);
    await nemesis.restart(0, 'snapshot');
    expect(await held(url, 'k')).toEqual({ value: 'kept', unverified: true });
  });

  it('partition: requests to the node hang while the others are served; heal restores it', async () => {
    nemesis = await Nemesis.start({ nodes: 2 });
    const [cut, other] = nemesis.urls as [string, string];
    nemesis.partition(0);
    expect(ownRules()).toContain(`-d ${nemesis.nodes[0]!.host}/32`);
    expect(await probe(cut, '/healthz', 500)).toBe('timeout');
    expect(await probe(other)).toBe('served 200');
    nemesis.heal(0);
    expect(ownRules()).not.toContain('DROP');
    expect(await probe(cut, '/healthz', 5000)).toBe('served 200');
  });

  it('cleanup leaves no node process, iptables rule or temp dir, even mid-fault', async () => {
    nemesis = await Nemesis.start({ nodes: 3, snapshots: true });
    const pids = nemesis.nodes.map((node) => node.pid!);
    const dir = nemesis.nodes[0]!.snapshotFile!.replace(/\/[^/]+$/, '');
    nemesis.pause(0);
    nemesis.partition(1);
    await nemesis.kill(2);
    await nemesis.cleanup();
    expect(await gone(pids)).toEqual([]);
    expect(ownRules()).toBe('');
    expect(existsSync(dir)).toBe(false);
    expect(() => nemesis!.pause(0)).toThrow(/cleaned up/);
  });

  it('refuses faults that do not fit the node state, naming the node', async () => {
    nemesis = await Nemesis.start({ nodes: 1 });
    expect(() => nemesis!.resume(0)).toThrow('node 0 is up, expected paused');
    expect(() => nemesis!.pause(1)).toThrow('no node 1');
    await expect(nemesis.restart(0, 'snapshot')).rejects.toThrow(/snapshots: true/);
  });
});

describe('a test process that dies mid-fault', () => {
  it('SIGTERM: its handler resumes and kills its nodes and removes its rules before it dies', async () => {
    const { pid, nodes } = await startHolder();
    holder!.kill('SIGTERM');
    const [, signal] = (await once(holder!, 'exit')) as [number | null, string | null];
    expect(signal).toBe('SIGTERM');
    expect(await gone(nodes)).toEqual([]);
    expect(rulesOf(pid)).toBe('');
  });

  it('SIGKILL: no handler runs, and the next Nemesis.start sweeps what it left', async () => {
    const { pid, nodes } = await startHolder();
    holder!.kill('SIGKILL');
    await once(holder!, 'exit');
    expect(rulesOf(pid)).toContain('DROP');
    nemesis = await Nemesis.start({ nodes: 1 });
    expect(await gone(nodes)).toEqual([]);
    expect(rulesOf(pid)).toBe('');
  });
});
