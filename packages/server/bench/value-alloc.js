// What holding a written value costs in V8, by how the node could keep its bytes: a copy of its
// own (what a set does now: `slice`, an ArrayBuffer each), below and above V8's 64-byte limit for
// typed arrays kept on its heap, and a view on a shared 64 KiB slab (no ArrayBuffer of its own, but
// one live value keeps the whole slab). Each way copies 2M values, 10k of them kept alive as a
// cache keeps them, the collector's work included; 5 alternating rounds, medians.
// Usage: node bench/value-alloc.js
const ROUNDS = 5;
const VALUES = 2_000_000;
const KEPT = 10_000;
const SLAB_BYTES = 64 * 1024;
const source = new Uint8Array(4096).fill(7);
const kept = new Array(KEPT);

const ways = {
  'own copy, 64 B (on V8 heap)': (i) => source.slice(i & 1023, (i & 1023) + 64),
  'own copy, 100 B (ArrayBuffer each)': (i) => source.slice(i & 1023, (i & 1023) + 100),
  'view on a shared slab, 100 B': slabCopy(100),
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

const names = Object.keys(ways);
const samples = names.map(() => []);
for (const name of names) round(ways[name]); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? [...names.keys()] : [...names.keys()].reverse();
  for (const i of order) samples[i].push(round(ways[names[i]]));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [i, name] of names.entries()) {
  console.log(`${name}: ${median(samples[i]).toFixed(0)} ns per value`);
}
