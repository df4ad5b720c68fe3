/**
 * Number parsing straight from request bytes, with memcached's exact acceptance rules
 * (util.c `safe_strtol` / `safe_strtoul` / `safe_strtoull`): optional leading whitespace and
 * sign, at least one digit, then the token must end or continue with whitespace. memcached
 * parses into a 64-bit C long and then truncates to 32 bits, so `4294967297` is accepted as 1;
 * we reproduce that rather than "fix" it, because clients and the differential fuzz test see it.
 *
 * Every parser returns `undefined` for a rejected token and never allocates.
 */

const TWO_64 = 1n << 64n;
const TWO_63 = 1n << 63n;

function isSpace(byte: number): boolean {
  // C isspace(): space, \t, \n, \v, \f, \r
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);
}

/** Digits with an optional sign; `end` is exclusive. Returns the magnitude and sign or undefined. */
interface Scanned {
  negative: boolean;
  digitsStart: number;
  digitsEnd: number;
}

const scanned: Scanned = { negative: false, digitsStart: 0, digitsEnd: 0 };

function scan(buf: Uint8Array, start: number, end: number): Scanned | undefined {
  let i = start;
  while (i < end && isSpace(buf[i]!)) i++;
  let negative = false;
  if (i < end && (buf[i] === 0x2b || buf[i] === 0x2d)) {
    negative = buf[i] === 0x2d;
    i++;
  }
  const digitsStart = i;
  while (i < end && buf[i]! >= 0x30 && buf[i]! <= 0x39) i++;
  if (i === digitsStart) return undefined;
  if (i < end && !isSpace(buf[i]!)) return undefined;
  scanned.negative = negative;
  scanned.digitsStart = digitsStart;
  scanned.digitsEnd = i;
  return scanned;
}

/** Small magnitudes (≤ 15 digits) stay in doubles; longer ones go through BigInt. */
function magnitude(buf: Uint8Array, s: Scanned): bigint | number {
  if (s.digitsEnd - s.digitsStart <= 15) {
    let n = 0;
    for (let i = s.digitsStart; i < s.digitsEnd; i++) n = n * 10 + (buf[i]! - 0x30);
    return n;
  }
  let n = 0n;
  for (let i = s.digitsStart; i < s.digitsEnd; i++) n = n * 10n + BigInt(buf[i]! - 0x30);
  return n;
}

/**
 * `strtoull` + memcached's checks: out of range → rejected; a negative number is accepted only
 * when its two's complement stays below 2^63 (so "-0" passes and "-1" does not).
 */
export function parseUint64(buf: Uint8Array, start: number, end: number): bigint | undefined {
  const s = scan(buf, start, end);
  if (s === undefined) return undefined;
  const m = magnitude(buf, s);
  const big = typeof m === 'number' ? BigInt(m) : m;
  if (big >= TWO_64) return undefined;
  if (!s.negative) return big;
  const wrapped = big === 0n ? 0n : TWO_64 - big;
  return wrapped >= TWO_63 ? undefined : wrapped;
}

/** `safe_strtoul` into a uint32: parsed as 64-bit, then truncated to the low 32 bits. */
export function parseUint32(buf: Uint8Array, start: number, end: number): number | undefined {
  const s = scan(buf, start, end);
  if (s === undefined) return undefined;
  const m = magnitude(buf, s);
  if (typeof m === 'number' && !s.negative) return m >>> 0;
  const v = parseUint64(buf, start, end);
  return v === undefined ? undefined : Number(v & 0xffffffffn);
}

/** `safe_strtol` into an int32: parsed as a 64-bit signed long, then truncated to 32 bits. */
export function parseInt32(buf: Uint8Array, start: number, end: number): number | undefined {
  const s = scan(buf, start, end);
  if (s === undefined) return undefined;
  const m = magnitude(buf, s);
  if (typeof m === 'number') return (s.negative ? -m : m) | 0;
  const signed = s.negative ? -m : m;
  if (signed >= TWO_63 || signed < -TWO_63) return undefined;
  return Number(BigInt.asIntN(32, signed));
}
