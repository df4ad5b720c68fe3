// Where discovered nodes are: their SRV target names, resolved by the discovery's own resolver.
import { lookup as systemLookup } from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';

/**
 * Node URLs keep the SRV target's name — the ring's key, and what TLS verifies — while connections
 * go to the address the discovery found for it: with custom `discovery.servers` the system
 * resolver does not know those names, and when it does it may lag behind. The connection pool
 * asks `lookup` (net.connect's option); names it does not hold go to the system resolver.
 */
type SystemCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** Names gone from the records whose last address is remembered (`#former`): DNS's own bound. */
const MAX_FORMER = 1024;

export class AddressBook {
  #addresses = new Map<string, LookupAddress>();
  /**
   * Names gone from the records, kept while a transition window may still read the node (a pod
   * leaving keeps serving during its shutdown grace); dropped when the window closes.
   */
  #departed = new Map<string, LookupAddress>();
  /**
   * The last address of each name gone from the records, kept or not (not resolvable from here):
   * one back at another address is a move even when `#departed` has forgotten it — with no window,
   * or after it closed — since connections kept alive to its old process may still be open.
   * Bounded (oldest forgotten first): DNS churn must not grow it.
   */
  readonly #former = new Map<string, string>();

  /**
   * Replaces every entry; returns the names whose address changed (a pod restarted elsewhere),
   * also a name that left and came back at another address (kept departed or not): connections
   * to its old one may still be open.
   * With `keepDeparted`, names no longer listed stay resolvable until `dropDeparted()`.
   */
  replace(
    entries: Iterable<{ host: string; address: string; family: 4 | 6 }>,
    keepDeparted = false,
  ): string[] {
    const next = new Map<string, LookupAddress>();
    const moved: string[] = [];
    for (const { host, address, family } of entries) {
      if (host === address) continue;
      next.set(host, { address, family });
      const before =
        (this.#addresses.get(host) ?? this.#departed.get(host))?.address ?? this.#former.get(host);
      if (before !== undefined && before !== address) moved.push(host);
    }
    for (const [host, address] of this.#addresses) {
      if (next.has(host)) continue;
      if (keepDeparted) this.#departed.set(host, address);
      this.#former.delete(host);
      this.#former.set(host, address.address);
      if (this.#former.size > MAX_FORMER) this.#former.delete(this.#former.keys().next().value!);
    }
    for (const host of next.keys()) {
      this.#departed.delete(host);
      this.#former.delete(host);
    }
    this.#addresses = next;
    return moved;
  }

  /** Forgets the names kept by `replace(…, true)` (the transition window has closed). */
  dropDeparted(): void {
    this.#departed.clear();
  }

  readonly lookup: LookupFunction = (hostname, options, callback) => {
    const name = hostname.toLowerCase();
    const found = this.#addresses.get(name) ?? this.#departed.get(name);
    if (found === undefined) {
      systemLookup(hostname, options as LookupOptions, callback as SystemCallback);
      return;
    }
    // net.connect asks for every address (`all`) when it may try several (autoSelectFamily).
    if ((options as LookupOptions).all === true) {
      (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, [found]);
    } else {
      callback(null, found.address, found.family);
    }
  };
}
