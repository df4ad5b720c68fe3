// What the store's layout costs a cold get: one minimal batch loop (decode ["get", key] ops,
// answer [200, bin, flags, version, nil, stamp] with the node's own msgpack reader and writer)
// over five layouts of 10k 100-byte values, with the CPU caches cold as in batch-cpu.js
// (STORE_LAYOUT_COLD_BYTES written before each batch, the batches alone timed):
//   - the core's slot store holding the node's value records ({ bytes, flags, stamp }, made by the
//     node's `storedValue` and stamped after, as the node stores them): today's layout;
//   - the same with the stamp held as two small integers (no boxed double to follow);
//   - the same holding bare byte arrays (flags and stamp would live elsewhere: what one record
//     less in the chain is worth);
//   - memcached's items: header, key bytes and value bytes in one slab, found through an
//     Int32Array index by the key's bytes as they arrive (no string);
//   - the same items found by the key decoded as a string first, as the node decodes keys.
// A layout experiment, not the node's path (no TTL check, stamps or verification): the items are a
// prototype no door uses. Usage (built: pnpm --filter @dcache/server... build):
//   node bench/store-layout.js    knobs: STORE_LAYOUT_KEYS (10000), STORE_LAYOUT_COLD_BYTES (4 MiB)
import { Buffer } from 'node:buffer';
import { TextEncoder } from 'node:util';
import { fileURLToPath, URL } from 'node:url';
import { pack, unpack } from 'msgpackr';
import { xorshift } from '../../client/bench/xorshift.js';
import { cacheEvictor, evictionBytes } from './cache-evictor.js';

const dist = (path) => fileURLToPath(new URL(`../dist/${path}`, import.meta.url));
const { LruCache } = await import(
  fileURLToPath(new URL('../../core/dist/index.js', import.meta.url))
);
const { MsgpackReader } = await import(dist('http/codec/msgpack-reader.js'));
const { MsgpackWriter } = await import(dist('http/codec/msgpack-writer.js'));
const { storedValue } = await import(dist('operations/stored-value.js'));

const KEYS = Number(process.env.STORE_LAYOUT_KEYS ?? 10_000);
const COLD_BYTES = evictionBytes(
  'STORE_LAYOUT_COLD_BYTES',
  process.env.STORE_LAYOUT_COLD_BYTES,
  4 << 20,
);
if (!Number.isInteger(KEYS) || KEYS < 1 || KEYS > 100_000) {
  throw new RangeError('STORE_LAYOUT_KEYS: an integer from 1 to 100000');
}
const OPS = 16;
const BATCHES = 20_000;
const ROUNDS = 7;
const VALUE = new Uint8Array(100).fill(120);
/** Stamps as the node's clock makes them: above 2^31, so not small integers. */
const stampOf = (i) => 1.7e15 + i;
const keyOf = (i) => `key:${i}`;

/** The answer to a get, from a layout's fields. */
function hit(out, bytes, flags, version, stamp) {
  out.array(6);
  out.number(200);
  out.bin(bytes);
  out.number(flags);
  out.number(version);
  out.nil();
  out.number(stamp);
}

function missed(out) {
  out.array(1);
  out.number(404);
}

/**
 * A batch of ["get", key] operations in, their answers out, with the node's reader and writer:
 * `answerGet(reader, out, body)` reads the key at the reader and writes its answer.
 */
function batchLoop(answerGet) {
  const reader = new MsgpackReader();
  const out = new MsgpackWriter();
  return (body) => {
    reader.reset(body);
    const n = reader.arrayLength();
    out.array(n);
    for (let i = 0; i < n; i++) {
      reader.arrayLength();
      reader.skip(); // "get"
      answerGet(reader, out, body);
    }
    return out.finish();
  };
}

/** A batch loop over the core's slot store; `answer` reads a hit's fields from the value held. */
function slotStore(valueOf, answer) {
  const cache = new LruCache({ maxMemory: 256 << 20, sizeOf: () => 200 });
  for (let i = 0; i < KEYS; i++) cache.set(keyOf(i), valueOf(i));
  return batchLoop((reader, out) => {
    const entry = cache.getEntry(reader.scalar());
    if (entry === undefined) missed(out);
    else answer(out, entry);
  });
}

const today = () =>
  slotStore(
    (i) => {
      const value = storedValue(VALUE.slice(), 0);
      value.stamp = stampOf(i);
      return value;
    },
    (out, { value, version }) => hit(out, value.bytes, value.flags, version, value.stamp),
  );

const SPLIT = 2 ** 26;
const smallIntegerStamps = () =>
  slotStore(
    (i) => ({
      bytes: VALUE.slice(),
      flags: 0,
      high: Math.floor(stampOf(i) / SPLIT),
      low: stampOf(i) % SPLIT,
    }),
    (out, { value, version }) =>
      hit(out, value.bytes, value.flags, version, value.high * SPLIT + value.low),
  );

const bareBytes = () =>
  slotStore(
    () => VALUE.slice(),
    (out, { value, version }) => hit(out, value, 0, version, stampOf(0)),
  );

/**
 * Items: [value length u32, key length u32, previous u32, next u32, flags u32, unused u32,
 * stamp f64, version f64, expiry f64] then the key's bytes, then the value's, 8-byte aligned, in
 * one slab; an open-addressing Int32Array index of item offsets / 8, probed by the key's hash.
 * Reads move the item to the head of the recency list, as the slot store's do.
 */
function items(stringKeys) {
  const HEADER = 48;
  const slab = new ArrayBuffer(Math.max(1 << 20, KEYS * 256));
  const u8 = new Uint8Array(slab);
  const u32 = new Uint32Array(slab);
  const f64 = new Float64Array(slab);
  const cells = new Int32Array(2 ** Math.ceil(Math.log2(KEYS * 2.5)));
  const mask = cells.length - 1;
  const finish = (h) => {
    h ^= h >>> 16;
    h = Math.imul(h, 0x85eb_ca6b);
    return h ^ (h >>> 13);
  };
  const hashBytes = (bytes, start, end) => {
    let h = 0x811c_9dc5 ^ (end - start);
    for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i], 0x0100_0193);
    return finish(h);
  };
  const hashString = (key) => {
    let h = 0x811c_9dc5 ^ key.length;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x0100_0193);
    return finish(h);
  };
  let top = 8;
  let head = 0;
  const encoder = new TextEncoder();
  for (let i = 0; i < KEYS; i++) {
    const key = encoder.encode(keyOf(i));
    const at = top;
    u32[at >> 2] = VALUE.length;
    u32[(at >> 2) + 1] = key.length;
    u32[(at >> 2) + 3] = head;
    if (head !== 0) u32[(head >> 2) + 2] = at;
    head = at;
    f64[(at >> 3) + 3] = stampOf(i);
    f64[(at >> 3) + 4] = i + 1;
    u8.set(key, at + HEADER);
    u8.set(VALUE, at + HEADER + key.length);
    top = (at + HEADER + key.length + VALUE.length + 7) & ~7;
    let cell = hashBytes(key, 0, key.length) & mask;
    while (cells[cell] !== 0) cell = (cell + 1) & mask;
    cells[cell] = at >> 3;
  }
  /** The item of the key at bytes[start, end) (or `key`), or 0. */
  const find = (hash, length, same) => {
    for (let cell = hash & mask; ; cell = (cell + 1) & mask) {
      const at = cells[cell] << 3;
      if (at === 0) return 0;
      if (u32[(at >> 2) + 1] === length && same(at + HEADER)) return at;
    }
  };
  const promote = (at) => {
    if (head === at) return;
    const previous = u32[(at >> 2) + 2];
    const next = u32[(at >> 2) + 3];
    if (previous !== 0) u32[(previous >> 2) + 3] = next;
    if (next !== 0) u32[(next >> 2) + 2] = previous;
    u32[(at >> 2) + 2] = 0;
    u32[(at >> 2) + 3] = head;
    u32[(head >> 2) + 2] = at;
    head = at;
  };
  return batchLoop((reader, out, body) => {
    let at;
    if (stringKeys) {
      const key = reader.scalar();
      at = find(hashString(key), key.length, (from) => {
        for (let j = 0; j < key.length; j++) if (u8[from + j] !== key.charCodeAt(j)) return false;
        return true;
      });
    } else {
      // A fixstr key (the benchmark's are short): its bytes, where they arrived.
      const start = reader.at + 1;
      const end = start + (body[reader.at] & 0x1f);
      reader.at = end;
      at = find(hashBytes(body, start, end), end - start, (from) => {
        for (let j = start; j < end; j++) if (u8[from + j - start] !== body[j]) return false;
        return true;
      });
    }
    if (at === 0) {
      missed(out);
      return;
    }
    promote(at);
    const from = at + HEADER + u32[(at >> 2) + 1];
    hit(
      out,
      u8.subarray(from, from + u32[at >> 2]),
      u32[(at >> 2) + 4],
      f64[(at >> 3) + 4],
      f64[(at >> 3) + 3],
    );
  });
}

const next = xorshift(19);
const bodies = Array.from({ length: Math.max(64, Math.ceil((KEYS * 2.4) / OPS)) }, () => {
  const body = pack(Array.from({ length: OPS }, () => ['get', keyOf(Math.floor(next() * KEYS))]));
  return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
});

const layouts = [
  ['slot store, value records (today)', today()],
  ['slot store, stamp as two small integers', smallIntegerStamps()],
  ['slot store, bare byte arrays', bareBytes()],
  ['items in one slab, keys as bytes', items(false)],
  ['items in one slab, keys as strings', items(true)],
];

// Every layout answers the same hits with the same bytes (and, but for the bare byte arrays,
// the same stamps) before anything is timed.
const expected = bodies.slice(0, 20).map((body) => unpack(layouts[0][1](body)));
for (const [name, run] of layouts) {
  bodies.slice(0, 20).forEach((body, b) => {
    unpack(run(body)).forEach((answer, i) => {
      const want = expected[b][i];
      const stampChecked = name.includes('bare') ? true : answer[5] === want[5];
      if (
        answer[0] !== 200 ||
        !Buffer.from(answer[1]).equals(Buffer.from(want[1])) ||
        !stampChecked
      ) {
        throw new Error(`${name} answered ${JSON.stringify(answer)} for batch ${b} op ${i}`);
      }
    });
  });
}

const evictCaches = cacheEvictor(COLD_BYTES);

/** µs per get of one round: the batches' own time. */
function round(run) {
  let running = 0n;
  let bytes = 0;
  for (let i = 0; i < BATCHES; i++) {
    evictCaches();
    const before = process.hrtime.bigint();
    bytes += run(bodies[i % bodies.length]).length;
    running += process.hrtime.bigint() - before;
  }
  if (bytes === 0) throw new Error('no answers');
  return Number(running) / 1000 / BATCHES / OPS;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const samples = layouts.map(() => []);
for (const [, run] of layouts) round(run); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  // The order reversed every other round, so no layout always runs first.
  const order = [...layouts.keys()];
  if (r % 2 === 1) order.reverse();
  for (const i of order) samples[i].push(round(layouts[i][1]));
}
console.log(
  `${KEYS} keys, ${COLD_BYTES} bytes evicted per batch of ${OPS} gets; median of ${ROUNDS} rounds, µs per get:`,
);
for (const [i, [name]] of layouts.entries()) {
  const [low, high] = [Math.min(...samples[i]), Math.max(...samples[i])];
  console.log(
    `  ${name.padEnd(42)} ${median(samples[i]).toFixed(2)}  (${low.toFixed(2)}–${high.toFixed(2)})`,
  );
}
