// DNS discovery: re-reads the node list on an interval and hands on only real changes.
import { Resolver } from 'node:dns/promises';
import { lookupMembers } from './discovery-lookup.js';
import type { Member } from './discovery-lookup.js';
import type { DiscoveryTarget } from './discovery-url.js';
import { DcacheError } from './errors/dcache-error.js';
import { DiscoveryError } from './errors/discovery-error.js';

export interface ResolvedDiscovery {
  target: DiscoveryTarget;
  intervalMs: number;
  timeoutMs: number;
  /** Resolver addresses ('ip' or 'ip:port', '[ipv6]:port'); undefined = the system's. */
  servers: readonly string[] | undefined;
}

/** What the discovery has done so far: `getStats().discovery`. */
export interface DiscoveryStats {
  /** The discovery URL. */
  url: string;
  /** Lookups finished, good or not. */
  lookups: number;
  /** Lookups that failed or found no node (the previous nodes were kept); includes `emptyAnswers`. */
  failures: number;
  /** Of `failures`, those that found no node: no records, no such name, or targets without addresses. */
  emptyAnswers: number;
  /** Of `failures`, changed answers that a second lookup at once did not confirm (code 'EFLAPPED'). */
  flaps: number;
  /** Failures since the last good lookup. */
  consecutiveFailures: number;
  /** Lookups that changed the membership (nodes added or removed). */
  changes: number;
  /** Nodes found at a new address under the same name (no key moves). */
  addressChanges: number;
  /** The last failure's message; undefined until one. */
  lastError: string | undefined;
  /** When the last good lookup finished (ms since the epoch); undefined until one. */
  lastSuccessAt: number | undefined;
  /** The nodes of the last good lookup, sorted. */
  nodes: string[];
}

/** What a lookup changed: the members now, and which came, went, or moved to a new address. */
export interface MembershipDiff {
  members: readonly Member[];
  added: readonly Member[];
  removed: readonly Member[];
  moved: readonly Member[];
}

/** Members `next` adds, removes or moves relative to `previous` (both sorted lists). */
export function diffMembers(previous: readonly Member[], next: readonly Member[]): MembershipDiff {
  const before = new Map(previous.map((member) => [member.url, member]));
  const after = new Set(next.map((member) => member.url));
  return {
    members: next,
    added: next.filter((member) => !before.has(member.url)),
    removed: previous.filter((member) => !after.has(member.url)),
    moved: next.filter((member) => {
      const old = before.get(member.url);
      return old !== undefined && old.address !== member.address;
    }),
  };
}

function closedError(): DcacheError {
  return new DcacheError('the client was closed before DNS discovery found nodes');
}

/** The code of a DiscoveryError for an answer that changed and changed again when asked twice. */
export const FLAPPED = 'EFLAPPED';

/**
 * Queries a lookup makes one after the other: SRV records, then their targets' addresses (or, for
 * `dns://`, A records, then AAAA when there are none).
 */
const LOOKUP_STAGES = 2;

/**
 * Longest a lookup may take: each of its stages within `timeoutMs`. Past it the lookup fails
 * ('ETIMEOUT'): Node's resolver backs off and tries resolvers in turn, so without this bound a slow
 * answer could be applied any time later, and no client could tell when the others have changed
 * their rings.
 */
export function lookupDeadlineMs(options: Pick<ResolvedDiscovery, 'timeoutMs'>): number {
  return LOOKUP_STAGES * options.timeoutMs;
}

/**
 * By when after one client applied a change of the records every client following them has too,
 * unless its lookups failed: the lookup it had under way (begun before the change, so it saw the
 * old records), the interval, then the lookup that sees the change and the one that confirms it,
 * each within the lookup deadline.
 */
export function convergenceMs(
  options: Pick<ResolvedDiscovery, 'intervalMs' | 'timeoutMs'>,
): number {
  return options.intervalMs + 3 * lookupDeadlineMs(options);
}

function isChange({ added, removed, moved }: MembershipDiff): boolean {
  return added.length > 0 || removed.length > 0 || moved.length > 0;
}

function sameMembers(a: readonly Member[], b: readonly Member[]): boolean {
  return !isChange(diffMembers(a, b));
}

export interface DiscoveryEvents {
  /** A good lookup that differs from the last good one (the first one always does). */
  changed(diff: MembershipDiff): void;
  /** A lookup failed or was empty: the last good list stands. */
  failed(error: DiscoveryError, stats: DiscoveryStats): void;
}

/**
 * Looks `target` up at once, then `intervalMs` after each lookup ends (never two at a time), on an
 * unref'd timer: a client that is not closed does not keep the process alive for it.
 */
export class Discovery {
  readonly #options: ResolvedDiscovery;
  readonly #events: DiscoveryEvents;
  readonly #resolver: Resolver;
  readonly #stats: DiscoveryStats;
  #members: readonly Member[] = [];
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #lastError: DiscoveryError | undefined;
  /** Settles when the lookup running now has been applied. */
  #running: Promise<void> | undefined;
  /** Resolves once a lookup has found nodes. */
  readonly #found: Promise<void>;
  #markFound!: () => void;
  #closedBeforeFound!: (error: Error) => void;

  constructor(options: ResolvedDiscovery, events: DiscoveryEvents) {
    this.#options = options;
    this.#events = events;
    // One try per server: a resolver that does not answer costs `timeoutMs`, then the next is
    // asked, and the lookup after that is `intervalMs` away anyway.
    this.#resolver = new Resolver({ timeout: options.timeoutMs, tries: 1 });
    if (options.servers !== undefined) this.#resolver.setServers(options.servers);
    this.#stats = {
      url: options.target.href,
      lookups: 0,
      failures: 0,
      emptyAnswers: 0,
      flaps: 0,
      consecutiveFailures: 0,
      changes: 0,
      addressChanges: 0,
      lastError: undefined,
      lastSuccessAt: undefined,
      nodes: [],
    };
    this.#found = new Promise((resolve, reject) => {
      this.#markFound = resolve;
      this.#closedBeforeFound = reject;
    });
    // Rejected only at close(), which may come with nobody waiting.
    this.#found.catch(() => undefined);
    this.#running = this.#lookup();
  }

  /** A copy of the counters. */
  get stats(): DiscoveryStats {
    return { ...this.#stats, nodes: [...this.#stats.nodes] };
  }

  /** Has a lookup found nodes yet? */
  get found(): boolean {
    return this.#stats.lastSuccessAt !== undefined;
  }

  /** Resolves once a lookup has found nodes (at once when one has); rejects if closed before. */
  whenFound(): Promise<void> {
    return this.#found;
  }

  /**
   * Resolves once nodes are known; rejects with the lookup's DiscoveryError when none is yet — after
   * the first lookup, when it is still running, so that calls made at start-up wait for it.
   */
  async ready(): Promise<void> {
    if (!this.found && this.#lastError === undefined) await this.#running;
    if (!this.found) throw this.#lastError ?? closedError();
  }

  close(): void {
    this.#closed = true;
    if (!this.found) this.#closedBeforeFound(closedError());
    clearTimeout(this.#timer);
    this.#resolver.cancel();
  }

  async #lookup(): Promise<void> {
    let members: Member[] | undefined;
    let error: DiscoveryError | undefined;
    try {
      members = await this.#lookupMembers();
      if (this.found && !this.#closed && isChange(diffMembers(this.#members, members))) {
        // A changed answer is asked again at once, and applied only when the second agrees: a
        // record set flapping between answers (a readiness probe going up and down, resolvers
        // that disagree) must not move keys back and forth. A real change costs one more query.
        const again = await this.#lookupMembers();
        if (!sameMembers(again, members)) {
          const { href, name } = this.#options.target;
          error = new DiscoveryError(href, name, FLAPPED);
          members = undefined;
        }
      }
    } catch (caught) {
      members = undefined;
      error =
        caught instanceof DiscoveryError
          ? caught
          : new DiscoveryError(this.#options.target.href, this.#options.target.name, 'EUNKNOWN', {
              cause: caught,
            });
    }
    if (this.#closed) return;
    const stats = this.#stats;
    stats.lookups++;
    if (members !== undefined) this.#accept(members);
    else this.#reject(error!);
    this.#timer = setTimeout(() => {
      this.#running = this.#lookup();
    }, this.#options.intervalMs).unref();
  }

  /** One lookup, failing with 'ETIMEOUT' once past its deadline (`lookupDeadlineMs`). */
  async #lookupMembers(): Promise<Member[]> {
    const { target } = this.#options;
    let late = false;
    // Only one lookup runs at a time: cancelling the resolver cancels this one's queries.
    const deadline = setTimeout(() => {
      late = true;
      this.#resolver.cancel();
    }, lookupDeadlineMs(this.#options));
    deadline.unref();
    try {
      const members = await lookupMembers(this.#resolver, target);
      if (!late) return members;
    } catch (error) {
      if (!late) throw error;
    } finally {
      clearTimeout(deadline);
    }
    const error = new Error(`no answer within ${lookupDeadlineMs(this.#options)} ms`);
    throw new DiscoveryError(target.href, target.name, 'ETIMEOUT', { cause: error });
  }

  #accept(members: Member[]): void {
    const stats = this.#stats;
    const first = !this.found;
    stats.consecutiveFailures = 0;
    stats.lastSuccessAt = Date.now();
    const diff = diffMembers(this.#members, members);
    this.#members = members;
    stats.nodes = members.map((member) => member.url);
    if (diff.added.length > 0 || diff.removed.length > 0) stats.changes++;
    stats.addressChanges += diff.moved.length;
    if (first || isChange(diff)) this.#events.changed(diff);
    if (first) this.#markFound();
  }

  #reject(error: DiscoveryError): void {
    const stats = this.#stats;
    this.#lastError = error;
    stats.failures++;
    if (error.empty) stats.emptyAnswers++;
    if (error.code === FLAPPED) stats.flaps++;
    stats.consecutiveFailures++;
    stats.lastError = error.message;
    this.#events.failed(error, this.stats);
  }
}
