// What the replication safeguards did, counted by event (docs/design/never-stale.md §11): the
// same names as the nodes' /v1/stats and /metrics, so one dashboard reads both sides.

/** The client's replication counters, since it was created. */
export interface ReplicationStats {
  /** Hints for a replica that missed a write, handed to a replica that has it. */
  hintsHandedOff: number;
  /** Missed writes no replica took a hint for: the replica is fenced when it is seen up again. */
  hintsDropped: number;
  /** Copies written to a replica that missed a value or held an older one (read repair). */
  repairs: number;
  /** Unverified entries a peer replica vouched for (the same stamp, or an older one). */
  verifications: number;
  /**
   * Reads of an unverified entry that a peer showed to be stale or deleted, or whose absence there
   * proves nothing at its stamp (the peer's floor): served newer or a miss.
   */
  staleReadsPrevented: number;
  /** Unverified entries no peer could vouch for: answered as a miss. */
  unverifiedDropped: number;
  /**
   * Reads answered by a replica after the key's primary did not answer (its request failed, or it
   * is marked down), while `writeConsistency` does not make that replica hold every completed
   * write ('one'; 'quorum' with 3 or more replicas): possibly stale, served anyway.
   */
  unvouchedReads: number;
  /**
   * Sets a replica answered after the call had resolved ('one'; 'quorum' with 3 or more
   * replicas) saying it kept another write — a newer or tied stamp — instead: that replica and the
   * primary now hold different writes of the key, and nothing re-stamps it (README, Consistency).
   */
  lateSupersededWrites: number;
  /**
   * Writes (set, delete) sent again, stamped higher, because a replica had kept another writer's
   * write stamped at or above theirs: two clocks that disagree, or two writes in one clock tick.
   */
  restampedWrites: number;
  /**
   * Adds answered false because another replica held the key its primary lacked (restarted empty,
   * holding it unverified, or evicted): the primary would have stored the add over it. The value
   * was copied back to the primary.
   */
  addsHeldElsewhere: number;
  /** Fences sent to a node up again after it missed writes while marked down (hinted or not). */
  fencesSent: number;
  /** Restores run by this client: a node back up (or a node removed) got its keys copied back. */
  restoresRun: number;
  /**
   * Keys (values and tombstones) copied by those restores, and keys the restored node already held
   * as the listing node does, which it vouched for on a `verify` (no value sent).
   */
  restoredKeys: number;
}

export class ReplicationCounters implements ReplicationStats {
  hintsHandedOff = 0;
  hintsDropped = 0;
  repairs = 0;
  verifications = 0;
  staleReadsPrevented = 0;
  unverifiedDropped = 0;
  unvouchedReads = 0;
  lateSupersededWrites = 0;
  restampedWrites = 0;
  addsHeldElsewhere = 0;
  fencesSent = 0;
  restoresRun = 0;
  restoredKeys = 0;

  snapshot(): ReplicationStats {
    return {
      hintsHandedOff: this.hintsHandedOff,
      hintsDropped: this.hintsDropped,
      repairs: this.repairs,
      verifications: this.verifications,
      staleReadsPrevented: this.staleReadsPrevented,
      unverifiedDropped: this.unverifiedDropped,
      unvouchedReads: this.unvouchedReads,
      lateSupersededWrites: this.lateSupersededWrites,
      restampedWrites: this.restampedWrites,
      addsHeldElsewhere: this.addsHeldElsewhere,
      fencesSent: this.fencesSent,
      restoresRun: this.restoresRun,
      restoredKeys: this.restoredKeys,
    };
  }
}
