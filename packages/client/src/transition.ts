// Warm transitions: after a ring change, for a window, the previous owners of a key are still
// asked on a miss (and their copy backfilled to the new owners), and writes invalidate the copies
// they hold, so a fallback never serves a value older than a completed write. This module holds
// the window's state; transition-ops.ts the reads and writes that use it.
import type { HashRing } from '@dcache/ring';
import { callHook } from './hooks.js';
import type { ClientHooks } from './hooks.js';
import type { NodeClient } from './node-client.js';

/**
 * Why a transition window closed. `'client-closed'`: the client closed with the window open (its
 * stats say so; no `onTransition` event is sent then, so an event never names it).
 */
export type TransitionCloseReason = 'quiet' | 'max-window' | 'flush' | 'client-closed';

/** The reasons an `onTransition` close event names. */
type EventCloseReason = Exclude<TransitionCloseReason, 'client-closed'>;

/** The `transition` option, resolved. */
export interface ResolvedTransition {
  /** Longest a window stays open after the last ring change; 0 turns warm transitions off. */
  maxWindowMs: number;
  /**
   * A window closes once this long passes without a fallback hit, counted from its first fallback
   * read after the last change (a window no read has fallen back in yet stays open).
   */
  quietMs: number;
}

/** `getStats().transition`: the window now and what fallbacks did since the client was created. */
export interface TransitionStats {
  /** A window is open: misses on a key's new owners ask its previous owners. */
  open: boolean;
  /** When the open window opened (epoch ms); null when none is open. */
  openedAt: number | null;
  /** Windows opened (a change while one is open joins it, and is not counted again). */
  transitions: number;
  /**
   * Reads of a moved key that asked its previous owners: after a miss on its new owners, or a hit
   * (a previous owner may hold a newer copy), and before an incr, touch or conditional write.
   */
  fallbackReads: number;
  /** Those that served a previous owner's copy (the only one, or newer than the new owner's). */
  fallbackHits: number;
  /** Copies of a fallback hit that a new owner applied (newest wins: a newer write there is kept). */
  backfilled: number;
  /** Copies on previous owners that a write (set, delete, incr, touch…) buried with its stamp. */
  invalidated: number;
  /** Why the last window closed; null before one has. */
  lastCloseReason: TransitionCloseReason | null;
}

/** `onTransition`'s argument. */
export interface TransitionEvent {
  phase: 'open' | 'close';
  /** Why it closed (`phase: 'close'` only). */
  reason?: EventCloseReason;
  /** Nodes that joined during the window (every change it spans, at close). */
  added: string[];
  /** Nodes that left during the window. */
  removed: string[];
  stats: TransitionStats;
}

/**
 * Rings a window keeps at most: each change while it is open adds one (a flapping DNS record set
 * would otherwise pile them up); past it the oldest is no longer asked.
 */
export const MAX_PREVIOUS_RINGS = 8;

/** A ring the cluster had before a change of the open window, with its copies per key then. */
interface PreviousRing {
  ring: HashRing;
  replicas: number;
  /** When the change that replaced it was made: it is asked for maxWindowMs from then. */
  changedAt: number;
}

export interface TransitionDeps {
  options: ResolvedTransition;
  onTransition: ClientHooks['onTransition'];
  /** The member NodeClient for a URL, if it is one. */
  member: (url: string) => NodeClient | undefined;
  /**
   * Quiet cannot close a window sooner than this after its last change: with DNS discovery, the
   * time by which every client following the same records has changed its ring too (until then
   * one still on the ring before writes only to the previous owners). 0 without discovery.
   */
  minWindowMs?: number;
  now?: () => number;
}

/**
 * The transition window of one client. Closed, it costs one boolean check per miss and per write.
 * Open, it keeps the rings before each change it spans (newest first) and the NodeClients of
 * nodes removed meanwhile (they stay fallback sources, their probes and pools alive, until it
 * closes). A node whose invalidation failed is not asked again during the window: it may hold a
 * copy older than a completed write.
 */
export class Transition {
  fallbackReads = 0;
  fallbackHits = 0;
  backfilled = 0;
  invalidated = 0;
  #transitions = 0;
  #lastCloseReason: TransitionCloseReason | null = null;
  readonly #options: ResolvedTransition;
  readonly #onTransition: ClientHooks['onTransition'];
  readonly #member: (url: string) => NodeClient | undefined;
  readonly #minWindowMs: number;
  readonly #now: () => number;
  #previous: PreviousRing[] = [];
  /** Removed nodes kept as fallback sources, by URL. */
  readonly #kept = new Map<string, NodeClient>();
  readonly #distrusted = new Set<NodeClient>();
  #added: string[] = [];
  #removed: string[] = [];
  #openedAt: number | null = null;
  /** The last ring change of the window: the maximum (and the discovery floor) count from it. */
  #changedAt = 0;
  /**
   * Where the quiet period counts from: the first fallback read since the last change, then each
   * fallback hit; null until a read falls back. Not the change itself: a client idle for longer
   * than quietMs after it would lose its window before its first read of a moved key.
   */
  #quietSince: number | null = null;
  #timer: NodeJS.Timeout | undefined;

  constructor(deps: TransitionDeps) {
    this.#options = deps.options;
    this.#onTransition = deps.onTransition;
    this.#member = deps.member;
    this.#minWindowMs = deps.minWindowMs ?? 0;
    this.#now = deps.now ?? Date.now;
  }

  get open(): boolean {
    return this.#openedAt !== null;
  }

  /** Warm transitions are on (`transition.maxWindowMs` > 0). */
  get enabled(): boolean {
    return this.#options.maxWindowMs > 0;
  }

  /**
   * A ring change: `before` is the ring as it was (with `replicas` copies per key), `leaving` the
   * nodes it removed (kept until the window closes). Opens a window, or extends the open one.
   */
  changed(
    before: HashRing,
    replicas: number,
    added: readonly string[],
    leaving: readonly NodeClient[],
  ): void {
    if (!this.enabled) return;
    const now = this.#now();
    this.#previous.unshift({ ring: before, replicas, changedAt: now });
    if (this.#previous.length > MAX_PREVIOUS_RINGS) this.#previous.length = MAX_PREVIOUS_RINGS;
    for (const node of leaving) {
      // Removed, added back and removed again: the first node client is no fallback source any
      // more (the URL now leads to the second), so its probe stops now, not never.
      const earlier = this.#kept.get(node.url);
      if (earlier !== undefined && earlier !== node && this.#member(node.url) !== earlier) {
        earlier.close();
      }
      this.#kept.set(node.url, node);
    }
    // Each URL once: a flapping record set must not grow these for as long as it flaps.
    for (const url of added) if (!this.#added.includes(url)) this.#added.push(url);
    for (const { url } of leaving) if (!this.#removed.includes(url)) this.#removed.push(url);
    this.#changedAt = now;
    // The keys this change moved have not been read yet: quiet waits for the first read again.
    this.#quietSince = null;
    if (this.#openedAt !== null) return;
    this.#openedAt = now;
    this.#transitions++;
    const period = Math.max(10, Math.min(this.#options.quietMs, this.#options.maxWindowMs) / 4);
    this.#timer = setInterval(() => this.check(), Math.min(period, 1000));
    this.#timer.unref();
    this.#emit({ phase: 'open', added: [...added], removed: leaving.map((node) => node.url) });
  }

  /** Is `node` kept here (removed from the ring, still a fallback source)? */
  keeps(node: NodeClient): boolean {
    return this.#kept.get(node.url) === node;
  }

  /** The kept removed nodes (close() waits for their requests). */
  get keptNodes(): NodeClient[] {
    return [...this.#kept.values()];
  }

  /**
   * The key's previous owners (newest ring first) that are not among `owners` (its natural
   * replicas now, URLs) and may still be asked — with `distrusted`, those no longer asked too (a
   * write must still see to them): empty when no window is open.
   */
  previousOwners(storedKey: string, owners: readonly string[], distrusted = false): NodeClient[] {
    const result: NodeClient[] = [];
    if (this.#openedAt === null) return result;
    for (const { ring, replicas } of this.#previous) {
      for (const url of ring.getN(storedKey, replicas)) {
        if (owners.includes(url)) continue;
        const node = this.#member(url) ?? this.#kept.get(url);
        if (node === undefined || result.includes(node)) continue;
        if (!distrusted && this.#distrusted.has(node)) continue;
        result.push(node);
      }
    }
    return result;
  }

  /**
   * The key's owners (URLs) in the rings of the window in which its owners were not `owners` (its
   * owners now): a client whose view of the membership differs from this one's (DNS answers reach
   * clients up to one discovery interval apart) reads the key there, first or to vouch for a
   * copy. Empty when no window is open or the key did not move.
   */
  ownersBeforeMove(storedKey: string, owners: readonly string[]): string[] {
    const result: string[] = [];
    if (this.#openedAt === null) return result;
    for (const { ring, replicas } of this.#previous) {
      const before = ring.getN(storedKey, replicas);
      if (before.length === owners.length && before.every((owner) => owners.includes(owner))) {
        continue;
      }
      for (const url of before) if (!result.includes(url)) result.push(url);
    }
    return result;
  }

  /** A fallback read was made (`hit`: it found the key). */
  checked(hit: boolean): void {
    this.fallbackReads++;
    if (hit) this.fallbackHits++;
    if (hit || this.#quietSince === null) this.#quietSince = this.#now();
  }

  /** `node` may hold a copy older than a completed write: not asked again in this window. */
  distrust(node: NodeClient): void {
    if (this.#openedAt !== null) this.#distrusted.add(node);
  }

  /**
   * Closes the window when its time is up or it has gone quiet (the timer calls it): quietMs
   * without a fallback hit since the first fallback read — a busy client closes soon after its
   * reads stop finding moved keys, an idle one keeps its window (up to maxWindowMs) until it reads
   * them — and never sooner than minWindowMs after the last change. Also forgets
   * the rings of changes more than maxWindowMs old: changes that keep coming (a flapping record
   * set) keep the window open, but each ring, and each node it removed, is kept for maxWindowMs.
   */
  check(): void {
    if (this.#openedAt === null) return;
    const now = this.#now();
    const quietSince = this.#quietSince;
    if (now - this.#changedAt >= this.#options.maxWindowMs) this.close('max-window');
    else if (
      quietSince !== null &&
      now - quietSince >= this.#options.quietMs &&
      now - this.#changedAt >= this.#minWindowMs
    ) {
      this.close('quiet');
    } else this.#forgetOlderThan(now - this.#options.maxWindowMs);
  }

  #forgetOlderThan(time: number): void {
    const previous = this.#previous;
    // Newest first: the rings to forget are at the end.
    let keep = previous.length;
    while (keep > 0 && previous[keep - 1]!.changedAt <= time) keep--;
    if (keep === previous.length) return;
    this.#previous = previous.slice(0, keep);
    for (const [url, node] of this.#kept) {
      if (this.#previous.some(({ ring }) => ring.has(url))) continue;
      this.#kept.delete(url);
      this.#distrusted.delete(node);
      if (this.#member(url) !== node) node.close();
    }
  }

  /**
   * Ends the open window: previous rings forgotten, kept nodes that are not members again closed
   * (their probes stop; no request goes to them any more).
   */
  close(reason: EventCloseReason): void {
    if (this.#openedAt === null) return;
    const added = this.#added;
    const removed = this.#removed;
    this.#end(reason);
    this.#emit({ phase: 'close', reason, added, removed });
  }

  /**
   * The client is closing: the timer stops, kept nodes are closed, and an open window ends
   * (`'client-closed'`) with no event sent — a closed client reads no previous owner.
   */
  stop(): void {
    // A closed window has no timer and keeps no node: nothing else to stop.
    if (this.#openedAt !== null) this.#end('client-closed');
  }

  #end(reason: TransitionCloseReason): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const node of this.#kept.values()) if (this.#member(node.url) !== node) node.close();
    this.#kept.clear();
    this.#distrusted.clear();
    this.#previous = [];
    this.#added = [];
    this.#removed = [];
    this.#openedAt = null;
    this.#lastCloseReason = reason;
  }

  snapshot(): TransitionStats {
    return {
      open: this.#openedAt !== null,
      openedAt: this.#openedAt,
      transitions: this.#transitions,
      fallbackReads: this.fallbackReads,
      fallbackHits: this.fallbackHits,
      backfilled: this.backfilled,
      invalidated: this.invalidated,
      lastCloseReason: this.#lastCloseReason,
    };
  }

  #emit(event: Omit<TransitionEvent, 'stats'>): void {
    callHook('onTransition', this.#onTransition, { ...event, stats: this.snapshot() });
  }
}
