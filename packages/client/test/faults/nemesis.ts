// The one fault helper ("nemesis", after Jepsen's) for every fault test: real dcache-server
// processes started through the CLI, each on its own loopback address, and the faults a real
// cluster meets — a paused process, a crash, a restart from a snapshot, a network partition.
// Tests describe the fault (`pause(1)`, `partition(2)`), never the mechanics.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCliNode } from '../../../server/test/cli-node.js';
import type { CliNode } from '../../../server/test/cli-node.js';
import { CHAIN_PREFIX, dropRules, iptables, makeChain, removeChain } from './iptables.js';
import { DIR_PREFIX, PIDS_FILE, sweepAbandoned, undoAtExit } from './leftovers.js';

export { sweepAbandoned } from './leftovers.js';

/**
 * The nodes' `--stall-threshold` unless a test asks otherwise (the CLI's is 1000 ms). A node whose
 * event loop stops for longer fences itself: each entry it holds needs a peer to vouch for it
 * before it is served. On a loaded 2-core CI machine a node's loop stops for up to about 1.2 s
 * now and then (measured with `--stall-threshold 100` at load 18–23), so any node may fence itself
 * at any time. Where it is the only replica left to vouch for a key (the other restarted from a
 * snapshot, say), reads miss, as the design says they must, and a test of another fault counts
 * lost writes; its own HTTP API answers 404, and a restore will not copy from it. 10 s is beyond
 * what load does; a test whose fault is a stall (a pause) sets a threshold below its pause.
 */
export const STALL_THRESHOLD_MS = 10_000;

export interface NemesisOptions {
  /** Nodes to start. @default 3 */
  nodes?: number;
  /** Give each node `--snapshot-file` in the nemesis's temp dir (for `restart(i, 'snapshot')`). */
  snapshots?: boolean;
  /** Every node's `--stall-threshold`, in ms. @default STALL_THRESHOLD_MS */
  stallThresholdMs?: number;
  /**
   * Extra CLI flags for every node (the CLI's defaults otherwise, as users run it, but for the
   * stall threshold).
   */
  args?: readonly string[];
  /** Every node's `/etc/hosts` (see `startCliNode`): for names only the test's DNS serves. */
  hostsFile?: string;
}

export type NodeState = 'up' | 'paused' | 'down';

/** One node as the nemesis sees it. `url` stays valid across restarts (same address and port). */
export interface FaultNode {
  readonly index: number;
  /** Its own loopback address: 127.0.0.2 for node 0, 127.0.0.3 for node 1, … */
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly snapshotFile: string | undefined;
  readonly state: NodeState;
  readonly partitioned: boolean;
  /** The process id of the current incarnation (undefined while down). */
  readonly pid: number | undefined;
  /**
   * The memcached port of the current incarnation, when `args` has `--memcached-port` (with 0, an
   * ephemeral port that changes at each restart); undefined while down.
   */
  readonly memcached: { host: string; port: number } | undefined;
}

/** How `restart` brings a node back: with nothing, or with what its snapshot file holds. */
export type RestartFrom = 'empty' | 'snapshot';

interface Slot {
  index: number;
  host: string;
  port: number;
  url: string;
  snapshotFile: string | undefined;
  state: NodeState;
  partitioned: boolean;
  process: CliNode | undefined;
}

/** Every nemesis not yet cleaned up in this process: the exit/signal handlers undo them. */
const live = new Set<Nemesis>();
let chains = 0;

export class Nemesis {
  readonly #slots: Slot[];
  readonly #args: readonly string[];
  readonly #dir: string;
  readonly #hostsFile: string | undefined;
  /** The iptables chain, created by the first `partition` (so tests without one need no root). */
  readonly #chain: string;
  #chainMade = false;
  #cleaned = false;

  private constructor(dir: string, args: readonly string[], hostsFile: string | undefined) {
    this.#dir = dir;
    this.#args = args;
    this.#hostsFile = hostsFile;
    this.#slots = [];
    // The pid names the owner for the sweep; the random part keeps two module instances in one
    // process (a thread pool) apart. At most 12 + 7 + 1 + 6 = 26 of iptables' 28 characters.
    this.#chain = `${CHAIN_PREFIX}${process.pid}_${(++chains).toString(36)}${randomBytes(2).toString('hex')}`;
  }

  /** Starts the nodes; on any failure everything started so far is undone before it rejects. */
  static async start(options: NemesisOptions = {}): Promise<Nemesis> {
    const count = options.nodes ?? 3;
    if (!Number.isInteger(count) || count < 1 || count > 250) {
      throw new RangeError(`nodes must be an integer from 1 to 250, got ${String(count)}`);
    }
    sweepAbandoned();
    undoAtExit(() => {
      for (const nemesis of [...live]) nemesis.undoSync();
    });
    const nemesis = new Nemesis(
      mkdtempSync(join(tmpdir(), `${DIR_PREFIX}${process.pid}-`)),
      [
        '--stall-threshold',
        String(options.stallThresholdMs ?? STALL_THRESHOLD_MS),
        ...(options.args ?? []),
      ],
      options.hostsFile,
    );
    live.add(nemesis);
    try {
      await Promise.all(
        Array.from({ length: count }, (_, index) => nemesis.#launch(index, options.snapshots)),
      );
    } catch (error) {
      await nemesis.cleanup();
      throw error;
    }
    return nemesis;
  }

  get nodes(): readonly FaultNode[] {
    return this.#slots.map((slot) => ({
      index: slot.index,
      host: slot.host,
      port: slot.port,
      url: slot.url,
      snapshotFile: slot.snapshotFile,
      state: slot.state,
      partitioned: slot.partitioned,
      pid: slot.process?.child.pid,
      memcached: slot.state === 'down' ? undefined : slot.process?.memcached,
    }));
  }

  get urls(): string[] {
    return this.#slots.map((slot) => slot.url);
  }

  /** What node `i` has printed so far (for a failing test's message). */
  output(i: number): string {
    return this.#slot(i).process?.output() ?? '';
  }

  /** SIGSTOP: the process stays, its sockets accept, nothing is answered — a GC pause, a VM stall. */
  pause(i: number): void {
    const slot = this.#slot(i, 'up');
    slot.process!.child.kill('SIGSTOP');
    slot.state = 'paused';
  }

  /** SIGCONT: the paused process carries on where it stopped, unaware that time passed. */
  resume(i: number): void {
    const slot = this.#slot(i, 'paused');
    slot.process!.child.kill('SIGCONT');
    slot.state = 'up';
  }

  /** SIGKILL: a crash. Its memory is gone; its snapshot file is whatever the last save left. */
  async kill(i: number): Promise<void> {
    const slot = this.#slot(i);
    if (slot.state === 'down') throw new Error(`node ${i} is already down`);
    await this.#end(slot, 'SIGKILL');
  }

  /**
   * SIGTERM: a clean stop. The node finishes in-flight requests and saves its snapshot (with
   * `snapshots`); rejects when it exits with an error. A paused node is resumed first, since a
   * stopped process does not act on SIGTERM.
   */
  async stop(i: number): Promise<void> {
    const slot = this.#slot(i);
    if (slot.state === 'down') throw new Error(`node ${i} is already down`);
    const code = await this.#end(slot, 'SIGTERM');
    if (code !== 0) {
      throw new Error(
        `node ${i} exited with ${String(code)} at SIGTERM:\n${slot.process?.output()}`,
      );
    }
  }

  /**
   * Starts node `i` again on the same address and port, so every client's URL stays valid:
   * `'empty'` deletes its snapshot file first (a fresh machine), `'snapshot'` loads it (a warm
   * restart, and what `stop` saved). Stops a node still running first, the way `from` asks
   * (SIGKILL for empty, SIGTERM for snapshot).
   */
  async restart(i: number, from: RestartFrom): Promise<void> {
    const slot = this.#slot(i);
    if (from === 'snapshot' && slot.snapshotFile === undefined) {
      throw new Error('restart(i, "snapshot") needs Nemesis.start({ snapshots: true })');
    }
    if (slot.state !== 'down') {
      if (from === 'empty') await this.kill(i);
      else await this.stop(i);
    }
    if (from === 'empty' && slot.snapshotFile !== undefined)
      rmSync(slot.snapshotFile, { force: true });
    await this.#launch(i, slot.snapshotFile !== undefined, slot);
  }

  /**
   * Cuts node `i` off from everyone: iptables DROPs every TCP packet to or from its address and
   * port, so connections hang (no refusal, no reset) — the partition a client cannot tell from a
   * dead switch. Loopback packets pass OUTPUT and then INPUT; the chain is jumped to from both.
   * Throws a clear error when iptables is missing or not permitted.
   */
  partition(i: number): void {
    const slot = this.#slot(i);
    if (slot.partitioned) throw new Error(`node ${i} is already partitioned`);
    this.#ensureChain();
    for (const rule of dropRules(slot.host, slot.port)) iptables(['-A', this.#chain, ...rule]);
    slot.partitioned = true;
  }

  /** Removes node `i`'s DROP rules: its connections, including those that hung, carry on. */
  heal(i: number): void {
    const slot = this.#slot(i);
    if (!slot.partitioned) throw new Error(`node ${i} is not partitioned`);
    for (const rule of dropRules(slot.host, slot.port)) iptables(['-D', this.#chain, ...rule]);
    slot.partitioned = false;
  }

  /**
   * Undoes everything: resumes paused nodes, kills every node, removes the iptables chain and the
   * temp dir. Safe to call twice and after a failed start; use it in `afterEach`/`afterAll`.
   */
  async cleanup(): Promise<void> {
    if (this.#cleaned) return;
    this.#cleaned = true;
    live.delete(this);
    try {
      await Promise.all(
        this.#slots.map(async (slot) => {
          if (slot.state !== 'down') await this.#end(slot, 'SIGKILL');
        }),
      );
    } finally {
      this.#undoSync();
    }
  }

  /** Synchronous undo for the exit handler: signals, iptables and rm have sync forms. */
  undoSync(): void {
    this.#cleaned = true;
    live.delete(this);
    for (const slot of this.#slots) {
      const child = slot.process?.child;
      if (child !== undefined && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGKILL');
      }
    }
    this.#undoSync();
  }

  #undoSync(): void {
    if (this.#chainMade) {
      removeChain(this.#chain);
      this.#chainMade = false;
    }
    for (const slot of this.#slots) slot.partitioned = false;
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #slot(i: number, expected?: NodeState): Slot {
    const slot = this.#slots[i];
    if (slot === undefined)
      throw new RangeError(`no node ${i} (nodes 0..${this.#slots.length - 1})`);
    if (this.#cleaned) throw new Error('this nemesis was cleaned up');
    if (expected !== undefined && slot.state !== expected) {
      throw new Error(`node ${i} is ${slot.state}, expected ${expected}`);
    }
    return slot;
  }

  async #launch(index: number, snapshots: boolean | undefined, slot?: Slot): Promise<void> {
    const host = `127.0.0.${index + 2}`;
    const snapshotFile = snapshots === true ? join(this.#dir, `node-${index}.snapshot`) : undefined;
    const args = [
      '--host',
      host,
      '--port',
      String(slot?.port ?? 0),
      '--node-id',
      `node-${index}`,
      ...(snapshotFile === undefined ? [] : ['--snapshot-file', snapshotFile]),
      ...this.#args,
    ];
    const node = await startWithRetry(args, slot !== undefined, this.#hostsFile);
    if (slot !== undefined) {
      slot.process = node;
      slot.state = 'up';
    } else {
      const port = Number(new URL(node.url).port);
      const fresh: Slot = {
        index,
        host,
        port,
        url: node.url,
        snapshotFile,
        state: 'up',
        partitioned: false,
        process: node,
      };
      this.#slots[index] = fresh;
    }
    this.#writePids();
  }

  /** Ends the current process with `signal` (after SIGCONT, so a paused one acts on it). */
  async #end(slot: Slot, signal: NodeJS.Signals): Promise<number | null> {
    const node = slot.process!;
    node.child.kill('SIGCONT');
    slot.state = 'down';
    const code = await node.stop(signal);
    this.#writePids();
    return code;
  }

  /** The live node pids, for `sweepAbandoned` should this process die without its handlers. */
  #writePids(): void {
    const pids = this.#slots
      .filter((slot) => slot.state !== 'down')
      .map((s) => s.process!.child.pid);
    try {
      writeFileSync(join(this.#dir, PIDS_FILE), pids.join('\n'));
    } catch {
      // The dir is gone: cleanup ran meanwhile.
    }
  }

  #ensureChain(): void {
    if (this.#chainMade) return;
    this.#chainMade = true;
    makeChain(this.#chain);
  }
}

/** A restart may find its port briefly taken (a connection of the old process still closing). */
async function startWithRetry(
  args: string[],
  restarting: boolean,
  hostsFile: string | undefined,
): Promise<CliNode> {
  const deadline = Date.now() + (restarting ? 5000 : 0);
  for (;;) {
    try {
      return await startCliNode(args, { hostsFile });
    } catch (error) {
      const inUse = /EADDRINUSE/.test((error as Error).message);
      if (!inUse || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
