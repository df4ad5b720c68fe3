/**
 * Who restores this node start (never-stale.md §7): one client of many copies the node's share
 * back to it, and holds that claim as a lease it renews while it copies. A claimer that crashes,
 * or closes mid-restore, lets the lease lapse (or releases it), and another client takes over; a
 * claimer that finished says so, and the start is restored for good.
 */

/** What a claim gets; `leaseMs` is undefined for a claim without a claimant, held for good. */
export type ClaimAnswer =
  | { granted: true; leaseMs: number | undefined }
  | { granted: false; reason: 'claimed'; retryAfterMs: number }
  | { granted: false; reason: 'restored' };

/** What a renewal gets: 'not_claimant' when the claimant does not hold this start's claim. */
export type RenewAnswer =
  { granted: true; leaseMs: number } | { granted: false; reason: 'restored' | 'not_claimant' };

/** How a claimer ends its claim: `done` (restored), or `released` for another client to take. */
export type ClaimEnd = 'done' | 'released';

export class RestoreClaim {
  readonly #leaseMs: number;
  readonly #now: () => number;
  #holder: string | undefined;
  #until = 0;
  #restored = false;

  constructor(leaseMs: number, now: () => number = () => performance.now()) {
    this.#leaseMs = leaseMs;
    this.#now = now;
  }

  /**
   * Claims, or renews, the restore of this start. The holder asking again renews its lease (it may
   * also have lost the first answer). A claim without a claimant cannot renew or end, so it holds
   * the start for good, as claims did before leases.
   */
  claim(claimant: string | undefined): ClaimAnswer {
    if (this.#restored) return { granted: false, reason: 'restored' };
    const now = this.#now();
    const heldByAnother = this.#holder !== undefined && this.#holder !== claimant;
    if (heldByAnother && this.#until > now) {
      return { granted: false, reason: 'claimed', retryAfterMs: this.#until - now };
    }
    if (claimant === undefined) {
      this.#holder = undefined;
      this.#restored = true;
      return { granted: true, leaseMs: undefined };
    }
    this.#holder = claimant;
    this.#until = now + this.#leaseMs;
    return { granted: true, leaseMs: this.#leaseMs };
  }

  /**
   * Renews `claimant`'s lease, and never grants a claim it does not hold: a renewal that reaches a
   * node restarted since (whose claim nobody holds yet) or after a release must not take a claim
   * for a restore that is not running against it.
   */
  renew(claimant: string): RenewAnswer {
    if (this.#restored) return { granted: false, reason: 'restored' };
    if (claimant !== this.#holder) return { granted: false, reason: 'not_claimant' };
    this.#until = this.#now() + this.#leaseMs;
    return { granted: true, leaseMs: this.#leaseMs };
  }

  /** Ends `claimant`'s claim; false when it does not hold it (its lease lapsed and another took it). */
  end(claimant: string, how: ClaimEnd): boolean {
    if (this.#restored || claimant !== this.#holder) return false;
    this.#holder = undefined;
    if (how === 'done') this.#restored = true;
    return true;
  }
}
