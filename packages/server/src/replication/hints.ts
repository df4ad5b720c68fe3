/** Counters of the hint store (never-stale.md §11). */
export interface HintStats {
  hintsStored: number;
  hintsReplayed: number;
  hintsDropped: number;
  /** Keys held now, over every target. */
  hintsPending: number;
}

/** One hinted key. */
export interface Hint {
  /** This node held every hinted write of the key only because the target was down. */
  standIn: boolean;
  /** Bumped by every hint of the key: a replay delivers only what it read at its generation. */
  generation: number;
  /**
   * The newest stamp of a write this node took as a stand-in for the key, as its hints named it
   * (a hint without one names the write held when it arrived; an incr's or a touch's names none:
   * undefined, as when none was held). A copy given up with the hint goes only while it still
   * holds this write, counted on or touched or not ({@link reach} says how far): a write taken as
   * a natural replica (after a ring change), before the hint arrived or since, must stay.
   */
  stamp: number | undefined;
  /**
   * The newest stamp its stand-in hints named, a write's, an incr's or a touch's (a hint without
   * one: the stamp held when it arrived). An incr or touch no stand-in hint names restamped the
   * copy as a natural replica of another client's ring: the copy is that ring's, and stays.
   */
  reach: number | undefined;
  /**
   * When the key was hinted for this target (ms of the store's clock). A key hinted again keeps
   * its time and its place: a target's keys are held oldest first.
   */
  added: number;
}

/** What one target missed: keys, or a fence. */
export interface TargetHints {
  readonly keys: Map<string, Hint>;
  /** The keys overflowed or aged: the target is sent `POST /v1/fence` instead. */
  fence: boolean;
  /**
   * The last fence asked for, numbered across the store (so a target forgotten and held again never
   * repeats a number a round still on the wire read). A fence answered clears `fence` only if no
   * other was asked while it was on the wire: keys given up meanwhile may have missed the target
   * after the fence landed.
   */
  fencesAsked: number;
}

/**
 * Nodes one node holds hints for at once. Each is probed every hint replay interval until it
 * answers, so without a bound a client naming thousands of targets (the default `--peers` takes
 * any origin) would have the node probing all of them, four times a second, for ever. A cluster
 * with this many nodes down at once has lost far more than its replicas can cover.
 */
export const MAX_HINT_TARGETS = 64;

/**
 * Targets held only to be fenced (their keys given up) at once, beyond the MAX_HINT_TARGETS with
 * keys: a node that left for good — a pod back under a new address — is never fenced, and held
 * among the targets with keys its place would be lost for good, until hints for every other node
 * were refused. Past this many, the one fenced longest ago is forgotten (logged): most likely gone.
 */
export const MAX_FENCE_TARGETS = 64;

/**
 * Why a target's hints turned into a fence: too many keys (`maxHints`), too old (`maxHintAge`), or
 * a hinted key this node no longer holds when it replays (evicted, expired, never written here).
 */
export type FenceReason = 'overflow' | 'age' | 'lost';

export interface HintStoreOptions {
  maxHints: number;
  /**
   * Targets with keys held at once; a hint for another one is refused. @default MAX_HINT_TARGETS
   */
  maxTargets?: number;
  /**
   * Targets held with a fence due and no keys, past which the one fenced longest ago is forgotten.
   * @default MAX_FENCE_TARGETS
   */
  maxFenceTargets?: number;
  maxHintAge: number;
  now: () => number;
  /** Told when a target's hints turn into a fence (overflow or age), with how many keys went. */
  onFence?: (target: string, dropped: number, why: FenceReason) => void;
  /** Told when a target's due fence is forgotten (more than `maxFenceTargets` were due). */
  onFenceForgotten?: (target: string) => void;
  /**
   * Told of each key this node holds only as a stand-in whose hint is given up (its target is
   * fenced instead) and that no other target's hint needs: the copy must go, as a delivered
   * hint's does, or it would outlive the natural replicas' later deletes and overwrites and be
   * served by a later fault. `stamp` is the newest stand-in write its hints named (Hint.stamp):
   * only that copy goes, and only while restamped no further than `reach` (Hint.reach).
   */
  dropStandIn?: (key: string, stamp: number | undefined, reach: number | undefined) => void;
}

/**
 * Hinted handoff's memory (never-stale.md §6): which keys each node missed, by target URL. Keys
 * only — the value replayed is whatever this node holds when it replays, and newest-wins makes
 * that safe and folds repeated writes of a key into one hint. Bounded by `maxHints` keys in all
 * and by `maxHintAge`: past either, a target's keys are replaced by one flag, "fence it", which
 * the replayer delivers as `POST /v1/fence` — the target then verifies everything it holds.
 */
export class HintStore {
  readonly #targets = new Map<string, TargetHints>();
  /** The targets with a fence due and no keys, the one fenced longest ago first. */
  readonly #fenceOnly = new Set<string>();
  readonly #options: HintStoreOptions;
  readonly #maxTargets: number;
  readonly #maxFenceTargets: number;
  #pending = 0;
  /** The number of the last fence asked for, of any target (TargetHints.fencesAsked). */
  #fenceSerial = 0;
  readonly #stats = { hintsStored: 0, hintsReplayed: 0, hintsDropped: 0 };

  constructor(options: HintStoreOptions) {
    this.#options = options;
    this.#maxTargets = options.maxTargets ?? MAX_HINT_TARGETS;
    this.#maxFenceTargets = options.maxFenceTargets ?? MAX_FENCE_TARGETS;
  }

  get stats(): HintStats {
    return { ...this.#stats, hintsPending: this.#pending };
  }

  /** Targets with something to deliver. */
  targets(): IterableIterator<[string, TargetHints]> {
    return this.#targets.entries();
  }

  /**
   * Remembers that `target` missed the write of `key`; `stamp` is that write's stamp (for a
   * stand-in's hint), or the one this node holds for the key now; `reach`, the stamp the hint
   * named, a write's or not (Hint.reach). False, and nothing kept, when `target` is new and the
   * store already holds hints for `maxTargets` others: the sender then hands the hint to another
   * replica, or fences the target itself.
   */
  add(target: string, key: string, standIn: boolean, stamp?: number, reach?: number): boolean {
    let hints = this.#targets.get(target);
    if (hints === undefined && this.#targets.size - this.#fenceOnly.size >= this.#maxTargets) {
      this.#stats.hintsDropped++;
      return false;
    }
    this.#stats.hintsStored++;
    if (hints === undefined) {
      hints = { keys: new Map(), fence: false, fencesAsked: 0 };
      this.#targets.set(target, hints);
    }
    if (hints.fence) {
      this.#stats.hintsDropped++;
      // Still written around: among the fence-only targets, the last to forget.
      this.#fenceOnly.delete(target);
      this.#fenceOnly.add(target);
      // The due fence must come after this write: one on the wire now may have landed before it.
      hints.fencesAsked = ++this.#fenceSerial;
      // A stand-in copy is kept: the write's hint for its other natural replica, if it missed the
      // write too, may not have arrived yet, and its replay needs the copy.
      return true;
    }
    const known = hints.keys.get(key);
    if (known !== undefined) {
      // A newer write than the one a replay in flight may be carrying: that replay must not
      // count as delivering it. Still a stand-in only if every write it held was as one.
      known.generation++;
      // The newest stand-in write's stamp: hints from several clients may arrive out of order.
      if (!standIn) known.standIn = false;
      else {
        if (stamp !== undefined) known.stamp = Math.max(known.stamp ?? stamp, stamp);
        if (reach !== undefined) known.reach = Math.max(known.reach ?? reach, reach);
      }
      return true;
    }
    if (this.#pending >= this.#options.maxHints) {
      this.#stats.hintsDropped++;
      this.#fence(target, hints, 'overflow');
      return true;
    }
    hints.keys.set(key, { standIn, generation: 0, stamp, reach, added: this.#options.now() });
    this.#pending++;
    return true;
  }

  /**
   * Turns hints older than `maxHintAge` into a fence of their target. The first key is the oldest
   * held (keys are held in the order they were hinted): one delivered no longer ages the rest.
   */
  expire(): void {
    const limit = this.#options.now() - this.#options.maxHintAge;
    for (const [target, hints] of this.#targets) {
      const oldest = hints.keys.values().next().value;
      if (oldest !== undefined && oldest.added <= limit) this.#fence(target, hints, 'age');
    }
  }

  /**
   * `key` as it was at `generation` reached `target` (or the target already held newer): forget
   * it, unless it was hinted again since.
   */
  delivered(target: string, key: string, generation: number): void {
    const hints = this.#targets.get(target);
    if (hints?.keys.get(key)?.generation === generation && hints.keys.delete(key)) {
      this.#pending--;
      this.#stats.hintsReplayed++;
      this.#forgetIfDone(target, hints);
    }
  }

  /**
   * A stand-in's hint of `key` for `target` was delivered: its copy goes as a fenced one's does —
   * only while it still holds `stamp` (the newest stand-in write its hints named: a write taken
   * as a natural replica stays), and unless another target still has a hint for the key
   * (its replay needs the copy, or this node holds it as a natural replica).
   */
  releaseStandIn(
    target: string,
    key: string,
    stamp: number | undefined,
    reach: number | undefined,
  ): void {
    this.#dropStandIn(target, key, stamp, reach);
  }

  /** A fence was delivered to `target`, sent when `asked` fences had been asked for. */
  fenced(target: string, asked: number): void {
    const hints = this.#targets.get(target);
    if (hints === undefined || hints.fencesAsked !== asked) return;
    hints.fence = false;
    this.#forgetIfDone(target, hints);
  }

  /** Something to deliver could not be: the target is fenced instead (safe, never silent). */
  fallBack(target: string): void {
    const hints = this.#targets.get(target);
    if (hints !== undefined) this.#fence(target, hints, 'lost');
  }

  #fence(target: string, hints: TargetHints, why: FenceReason): void {
    const dropped = hints.keys.size;
    this.#pending -= dropped;
    this.#stats.hintsDropped += dropped;
    const standIns = [...hints.keys].filter(([, hint]) => hint.standIn);
    hints.keys.clear();
    for (const [key, { stamp, reach }] of standIns) this.#dropStandIn(target, key, stamp, reach);
    hints.fence = true;
    hints.fencesAsked = ++this.#fenceSerial;
    this.#options.onFence?.(target, dropped, why);
    this.#fenceOnly.delete(target);
    this.#fenceOnly.add(target);
    if (this.#fenceOnly.size > this.#maxFenceTargets) {
      const oldest = this.#fenceOnly.values().next().value!;
      this.#fenceOnly.delete(oldest);
      this.#targets.delete(oldest);
      this.#options.onFenceForgotten?.(oldest);
    }
  }

  /**
   * Unless another target still has a hint for `key`: its replay needs the copy (both natural
   * replicas may have missed the write, and this one may hold its only copy; the replay drops it
   * once delivered), or this node held a write of it as a natural replica (the ring changed).
   * That hint's copy is then this one's too: the write this one named goes with it, if still held
   * (the other may name none, an incr's or a touch's hint) — as if hinted again, so that a replay
   * of it already out, which read the stamp before, does not count as delivering it.
   */
  #dropStandIn(
    target: string,
    key: string,
    stamp: number | undefined,
    reach: number | undefined,
  ): void {
    for (const [other, hints] of this.#targets) {
      const hint = other === target ? undefined : hints.keys.get(key);
      if (hint === undefined) continue;
      if (hint.standIn && reach !== undefined) hint.reach = Math.max(hint.reach ?? reach, reach);
      if (hint.standIn && stamp !== undefined && stamp !== hint.stamp) {
        hint.stamp = Math.max(hint.stamp ?? stamp, stamp);
        hint.generation++;
      }
      return;
    }
    this.#options.dropStandIn?.(key, stamp, reach);
  }

  #forgetIfDone(target: string, hints: TargetHints): void {
    if (hints.keys.size > 0 || hints.fence) return;
    this.#targets.delete(target);
    this.#fenceOnly.delete(target);
  }
}
