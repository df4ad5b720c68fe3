import type { Hint, HintStore, TargetHints } from './hints.js';
import type { Logger } from '../observability/logger.js';
import { batchCodec } from '../http/codec/msgpack.js';
import { throttledWarning } from '../observability/throttled-warning.js';
import { stampOf } from './replica-order.js';
import type { ReplicaStore } from './replica-store.js';

/** Keys per replay batch: half a node's default `maxBatchOps`. */
export const REPLAY_BATCH_OPS = 500;
/**
 * Bytes of keys and values per replay batch (past its first op): the target refuses a body over
 * its `maxBatchBytes` (16 MB by default) with 413, and 500 values of up to `maxValueBytes` (1 MB
 * by default) each would be refused every round, so the hints would never be delivered.
 */
export const REPLAY_BATCH_BYTES = 1 << 20;
/** What one op adds to a batch besides its key and value bytes (an upper bound). */
const OP_OVERHEAD_BYTES = 64;
/** How long one batch to a target may take before the round is given up. */
const REQUEST_TIMEOUT_MS = 2000;
/**
 * How long a `/healthz` probe may take. Short: a probe sent into a partition hangs (dropped
 * packets), and the replay cannot start until it gives up — after a heal, this bounds the wait
 * before the next probe, which answers.
 */
export const PROBE_TIMEOUT_MS = 500;
/**
 * Most rounds a target with only a fence due sits out after its rounds failed (doubling from one):
 * a node gone for good (a pod back under a new address) owes its fence for good, and up to
 * MAX_FENCE_TARGETS of them probed every round would cost the node hundreds of connection attempts
 * a second. A target with keys is tried every round: its missed writes are waiting.
 */
export const MAX_FENCE_ONLY_WAIT_ROUNDS = 8;

export interface HintReplayerOptions {
  replicas: ReplicaStore;
  hints: HintStore;
  logger: Logger;
  /** The cluster's token: every node of a cluster has the same one. */
  token: string | undefined;
  intervalMs: number;
  /**
   * This node's `maxBatchOps` and `maxBatchBytes`: a replay batch is kept within them too. The
   * target's limits cannot be asked, but the nodes of a cluster are configured alike, and a
   * cluster set below REPLAY_BATCH_OPS or REPLAY_BATCH_BYTES would otherwise refuse every replay
   * batch (413) until the hints aged into a fence. @default no bound but the replay's own
   */
  maxBatchOps?: number;
  maxBatchBytes?: number;
}

/**
 * Delivers hints (never-stale.md §6.3): every `intervalMs`, for each target with hints and no
 * round in flight, probes `target/healthz`; once it answers, sends a fence if one is due, then
 * `copy`/`bury` ops of what this node holds now for the hinted keys, REPLAY_BATCH_OPS (and about
 * REPLAY_BATCH_BYTES) at a time, one batch in flight, forgetting each hint the target answered
 * (applied, or it held newer). Only `/healthz`, `/v1/fence` and `/v1/batch` are ever called on a
 * target.
 */
/**
 * The target answered but would not take the replay (a 4xx), or its certificate was refused: not
 * a node that is down, but a cluster whose nodes disagree (a token, TLS trust, limits). Retried
 * all the same, and said at warn, not debug.
 */
class ReplayRefused extends Error {}

/** `what answered <status>`: refused for a 4xx; a 5xx (a target overloaded, shutting down) passes. */
function answered(what: string, status: unknown): Error {
  const message = `${what} answered ${String(status)}`;
  return typeof status === 'number' && status >= 400 && status < 500
    ? new ReplayRefused(message)
    : new Error(message);
}

/**
 * Most bytes of a batch answer read, per op the batch carried and in all: an op's answer is
 * `[204, stamp]`, or a refusal with a message of a few hundred bytes. A target (any origin a
 * client names, without --peers) sending more is not held: 64 targets each streaming an answer
 * for the request's 2 s would take gigabytes of memory.
 */
const ANSWER_BYTES_PER_OP = 1024;
const ANSWER_BASE_BYTES = 64 * 1024;

/** The body of `res`; rejects, leaving the rest unread, once it passes `limit` bytes. */
async function boundedBody(res: Response, limit: number): Promise<Uint8Array> {
  const reader = res.body?.getReader();
  if (reader === undefined) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks, size);
    size += value.byteLength;
    if (size > limit) {
      // Cancelling closes the connection: nothing more of the answer arrives.
      reader.cancel().catch(() => {});
      throw new ReplayRefused(`batch answered more than ${limit} bytes`);
    }
    chunks.push(value);
  }
}

/** A certificate the TLS handshake refused (Node's codes for an untrusted chain or a bad name). */
const CERTIFICATE_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/;

function refusedCertificate(error: unknown): boolean {
  const code = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  return typeof code === 'string' && CERTIFICATE_ERROR.test(code);
}

export class HintReplayer {
  readonly #options: HintReplayerOptions;
  readonly #busy = new Set<string>();
  /** Fence-only targets whose last rounds failed: how many failed, and rounds left to sit out. */
  readonly #waiting = new Map<string, { failures: number; roundsLeft: number }>();
  #timer: NodeJS.Timeout | undefined;
  /** Aborted by stop(): a closing node must not wait on a target that does not answer. */
  #stopping = new AbortController();
  readonly #batchOps: number;
  readonly #batchBytes: number;

  readonly #refused: (latest: string) => void;

  constructor(options: HintReplayerOptions) {
    this.#options = options;
    this.#refused = throttledWarning(
      options.logger,
      'hint_replay_refused',
      (count, latest) =>
        `${count} hint replay round(s) refused by their target, latest ${latest}; the hints stay ` +
        'pending, then turn into a fence the target may refuse too (do the nodes share one token, ' +
        'trust each other’s certificates and limits?)',
    );
    this.#batchOps = Math.min(REPLAY_BATCH_OPS, options.maxBatchOps ?? Infinity);
    this.#batchBytes = Math.min(REPLAY_BATCH_BYTES, options.maxBatchBytes ?? Infinity);
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#stopping = new AbortController();
    this.#timer = setInterval(() => this.tick(), this.#options.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#stopping.abort();
  }

  /** One round for every idle target; resolves when they are done (tests await it). */
  async tick(): Promise<void> {
    const { hints } = this.#options;
    hints.expire();
    const rounds: Promise<void>[] = [];
    const held = new Set<string>();
    for (const [target, pending] of hints.targets()) {
      held.add(target);
      if (this.#busy.has(target)) continue;
      const waiting = this.#waiting.get(target);
      if (waiting !== undefined && waiting.roundsLeft > 0) {
        waiting.roundsLeft--;
        continue;
      }
      this.#busy.add(target);
      rounds.push(
        this.#round(target, pending)
          .then(() => {
            this.#waiting.delete(target);
          })
          .catch((error: unknown) => {
            this.#failed(target, pending);
            const message = `hints for ${target} not delivered yet: ${(error as Error).message}`;
            if (error instanceof ReplayRefused || refusedCertificate(error)) {
              this.#refused(`${target} (${(error as Error).message})`);
            }
            this.#options.logger.debug('hint_replay_failed', message);
          })
          .finally(() => this.#busy.delete(target)),
      );
    }
    for (const target of this.#waiting.keys()) if (!held.has(target)) this.#waiting.delete(target);
    await Promise.all(rounds);
  }

  /** A round for `target` failed: with only a fence due, it sits out the next rounds (doubling). */
  #failed(target: string, pending: TargetHints): void {
    if (!pending.fence || pending.keys.size > 0) {
      this.#waiting.delete(target);
      return;
    }
    const failures = (this.#waiting.get(target)?.failures ?? 0) + 1;
    const roundsLeft = Math.min(2 ** failures, MAX_FENCE_ONLY_WAIT_ROUNDS) - 1;
    this.#waiting.set(target, { failures, roundsLeft });
  }

  async #round(target: string, pending: TargetHints): Promise<void> {
    const health = await this.#request(target, '/healthz', 'GET', undefined, PROBE_TIMEOUT_MS);
    if (!health.ok) throw new Error(`healthz answered ${health.status}`);
    const { hints, logger } = this.#options;
    if (pending.fence) {
      const asked = pending.fencesAsked;
      const fenced = await this.#request(target, '/v1/fence', 'POST');
      if (fenced.status !== 204) throw answered('fence', fenced.status);
      hints.fenced(target, asked);
      logger.warn(
        'hints_overflowed',
        `fenced ${target}: it missed writes this node could not hand over (maxHints or maxHintAge reached, or a hinted key no longer held here)`,
      );
    }
    let replayed = 0;
    while (pending.keys.size > 0) {
      const keys: string[] = [];
      const sent: Hint[] = [];
      const ops: unknown[][] = [];
      let lost = false;
      let bytes = 0;
      for (const [key, hint] of pending.keys) {
        // The hint is read before the op: a key hinted again while the batch is out stays hinted.
        const held = { ...hint };
        const op = this.#opFor(key);
        if (op === undefined) {
          lost = true;
          break;
        }
        const size = OP_OVERHEAD_BYTES + Buffer.byteLength(key) + opValueBytes(op);
        if (keys.length > 0 && bytes + size > this.#batchBytes) break;
        keys.push(key);
        sent.push(held);
        ops.push(op);
        bytes += size;
        if (keys.length === this.#batchOps) break;
      }
      if (lost) {
        // Something this node held for the target is gone (evicted, expired): it cannot be
        // handed over, so the target is told to doubt everything instead.
        hints.fallBack(target);
        return this.#round(target, pending);
      }
      const res = await this.#request(target, '/v1/batch', 'POST', batchCodec.pack(ops));
      if (res.status !== 200) throw answered('batch', res.status);
      const answer = await boundedBody(res, ANSWER_BASE_BYTES + ops.length * ANSWER_BYTES_PER_OP);
      const results = batchCodec.unpack(answer) as unknown[][];
      const clock = Number(res.headers.get('dcache-clock'));
      if (clock > 0) this.#options.replicas.clock.observe(clock);
      // A copy the target refuses stays hinted (retried next round, or aged into a fence), but
      // the others it answered are delivered: it must not hold back the keys hinted after it.
      let refused: unknown;
      for (let i = 0; i < keys.length; i++) {
        const status = results[i]?.[0];
        if (status !== 204 && status !== 412) {
          refused ??= status ?? 'nothing';
          continue;
        }
        const key = keys[i]!;
        const { standIn, generation, stamp, reach } = sent[i]!;
        hints.delivered(target, key, generation);
        replayed++;
        // This node held the write only as a stand-in: now that the natural replica has it, the
        // copy here must not outlive it (a later fault could serve it stale). The store keeps it
        // if it holds another write than the one it stood in for, or another target's hint needs it.
        if (standIn && pending.keys.get(key) === undefined)
          hints.releaseStandIn(target, key, stamp, reach);
      }
      if (refused !== undefined) throw answered('a copy', refused);
    }
    if (replayed > 0) {
      logger.info('hints_replayed', `replayed ${replayed} missed writes to ${target}`);
    }
  }

  /**
   * What this node holds for `key`, as the op that hands it over; undefined when nothing it can
   * vouch for: a value held unverified (the node was fenced since: a stall, a fence request) may
   * have been overwritten or deleted meanwhile, and the target would take the copy as verified.
   * The target is fenced instead. A tombstone goes as it is: older than a write, it loses to it.
   */
  #opFor(key: string): unknown[] | undefined {
    const { replicas } = this.#options;
    const entry = replicas.peekRaw(key);
    if (entry === undefined) return undefined;
    const { value } = entry;
    if (value.tombstone) return ['bury', key, stampOf(value), 'hint'];
    if (!replicas.isVerified(entry)) return undefined;
    return ['copy', key, value.bytes, value.flags, entry.ttl ?? 0, stampOf(value), 'hint'];
  }

  #request(
    target: string,
    path: string,
    method: string,
    body?: Uint8Array,
    timeoutMs = REQUEST_TIMEOUT_MS,
  ): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.#options.token !== undefined) headers.authorization = `Bearer ${this.#options.token}`;
    if (body !== undefined) headers['content-type'] = 'application/msgpack';
    const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), this.#stopping.signal]);
    const init: RequestInit = { method, headers, signal };
    if (body !== undefined) init.body = body;
    return fetch(`${target}${path}`, init);
  }
}

/** The value bytes a `copy` op carries (none for a `bury`). */
function opValueBytes(op: unknown[]): number {
  return op[0] === 'copy' ? (op[2] as Uint8Array).length : 0;
}
