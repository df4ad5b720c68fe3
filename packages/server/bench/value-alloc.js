// What holding a written value costs in V8, by how the node could keep its bytes: a copy of its
// own (what a set does now: `slice`, an ArrayBuffer each), below and above V8's 64-byte limit for
// typed arrays kept on its heap, a view on a shared 64 KiB slab (no ArrayBuffer of its own, but
// one live value keeps the whole slab), and a one-byte string (`latin1Slice`: on V8's heap, header
// and bytes in one object, moved and freed by the collector like any other). Each way copies 2M
// values, 10k of them kept alive as a cache keeps them, the collector's work included. Then what
// a get pays to copy a held value into an answer, by the two ways a value could be held: a
// `Uint8Array` (`TypedArray.prototype.set`) or a one-byte string (`Buffer#latin1Write`), over
// 10k values read in a random order. 5 alternating rounds, medians.
// Usage: node bench/value-alloc.js
import { Buffer } from 'node:buffer';

const ROUNDS = 5;
const VALUES = 2_000_000;
const KEPT = 10_000;
const VALUE_BYTES = 100;
const SLAB_BYTES = 64 * 1024;
const source = new Uint8Array(4096).fill(7);
const sourceBuffer = Buffer.from(source);
const kept = new Array(KEPT);

const ways = {
  'own copy, 64 B (on V8 heap)': (i) => source.slice(i & 1023, (i & 1023) + 64),
  'own copy, 100 B (ArrayBuffer each)': (i) => source.slice(i & 1023, (i & 1023) + VALUE_BYTES),
  'view on a shared slab, 100 B': slabCopy(VALUE_BYTES),
  'one-byte string, 100 B (on V8 heap)': (i) =>
    sourceBuffer.latin1Slice(i & 1023, (i & 1023) + VALUE_BYTES),
};

/** Copies into the current slab, starting a new one when it is full. */
function slabCopy(length) {
  let slab = new Uint8Array(SLAB_BYTES);
  let used = 0;
  return (i) => {
    if (used + length > SLAB_BYTES) {
      slab = new Uint8Array(SLAB_BYTES);
      used = 0;
    }
    const view = slab.subarray(used, used + length);
    view.set(source.subarray(i & 1023, (i & 1023) + length));
    used += length;
    return view;
  };
}

/** ns per value of one round. */
function round(copy) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < VALUES; i++) kept[i % KEPT] = copy(i);
  return Number(process.hrtime.bigint() - start) / VALUES;
}

const heldArrays = Array.from({ length: KEPT }, (_, i) =>
  source.slice(i % 1000, (i % 1000) + VALUE_BYTES),
);
const heldStrings = Array.from({ length: KEPT }, (_, i) =>
  sourceBuffer.latin1Slice(i % 1000, (i % 1000) + VALUE_BYTES),
);
const answer = Buffer.allocUnsafe(64 * 1024);

/** Copies held values, in a pseudo-random order, into one answer buffer. */
function reads(held, copyInto) {
  return () => {
    let next = 1;
    let at = 0;
    for (let i = 0; i < VALUES; i++) {
      next = (next * 1_103_515_245 + 12_345) & 0x7fff_ffff;
      if (at + VALUE_BYTES > answer.length) at = 0;
      at += copyInto(held[next % KEPT], at);
    }
  };
}

const readWays = {
  'Uint8Array, TypedArray.prototype.set': reads(heldArrays, (value, at) => {
    answer.set(value, at);
    return value.length;
  }),
  'one-byte string, Buffer#latin1Write': reads(heldStrings, (value, at) =>
    answer.latin1Write(value, at),
  ),
};

/** ns per value of one round of `read`. */
function readRound(read) {
  const start = process.hrtime.bigint();
  read();
  return Number(process.hrtime.bigint() - start) / VALUES;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Alternating rounds of each way (`time(way)` → ns per value); prints the medians. */
function compare(title, named, time) {
  const names = Object.keys(named);
  const samples = names.map(() => []);
  for (const name of names) time(named[name]); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? [...names.keys()] : [...names.keys()].reverse();
    for (const i of order) samples[i].push(time(named[names[i]]));
  }
  console.log(title);
  for (const [i, name] of names.entries()) {
    console.log(`  ${name}: ${median(samples[i]).toFixed(0)} ns per value`);
  }
}

compare('Holding a written value (a copy kept alive):', ways, round);
compare('Copying a held value into an answer:', readWays, readRound);
