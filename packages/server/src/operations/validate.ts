import { orThrow, Refused } from './refusal.js';

/**
 * The longest TTL, in milliseconds: any whole number a double holds exactly (~285 000 years). The
 * core keeps an expiry time per entry, no timer, so nothing below needs Node's 2^31−1 ms timer
 * ceiling — which an earlier version applied here, refusing memcached's 30-day TTLs (and read
 * repair of entries the memcached port stored with them).
 */
export const MAX_TTL_MS = Number.MAX_SAFE_INTEGER;

/** A refused value as the error message shows it; JSON.stringify throws on a BigInt. */
function shown(value: unknown): string {
  return typeof value === 'bigint' ? value.toString() : (JSON.stringify(value) ?? String(value));
}

/**
 * A key is any non-empty string of at most `maxKeyBytes` UTF-8 bytes. Keys are opaque: they are
 * only ever Map keys in the core, never property names, so `__proto__` is just a key.
 */
export function checkKey(key: unknown, maxKeyBytes: number): string | Refused {
  if (typeof key !== 'string' || key.length === 0) {
    return new Refused(400, 'bad_key', 'the key must be a non-empty string');
  }
  // A UTF-16 unit encodes to at most 3 UTF-8 bytes, so short keys skip the exact count.
  if (key.length * 3 > maxKeyBytes && Buffer.byteLength(key, 'utf8') > maxKeyBytes) {
    return new Refused(400, 'key_too_long', `the key exceeds ${maxKeyBytes} UTF-8 bytes`);
  }
  return key;
}

/** {@link checkKey}, throwing its refusal (400). */
export function validateKey(key: unknown, maxKeyBytes: number): string {
  return orThrow(checkKey(key, maxKeyBytes));
}

/** A whole-milliseconds query parameter: decimal digits only (no sign, exponent or fraction). */
function msParam(input: string): number {
  return /^\d{1,16}$/.test(input) ? Number(input) : NaN;
}

/** A number of milliseconds from 0 to MAX_TTL_MS, or a 400 `code` saying what 0 means. */
function wholeMs(ms: unknown, value: unknown, name: string, zero: string): number | Refused {
  if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > MAX_TTL_MS) {
    return new Refused(
      400,
      `bad_${name}`,
      `${name} must be whole milliseconds from 0 (${zero}) to ${MAX_TTL_MS}, got ${shown(value)}`,
    );
  }
  return ms;
}

/** `?ttl=` as milliseconds: undefined when absent (the node's default), 0 = never expires. */
export function parseTtlParam(input: string | undefined): number | undefined {
  if (input === undefined) return undefined;
  return validateTtl(msParam(input), input);
}

/** A TTL in milliseconds: a whole number from 0 (never expires) to MAX_TTL_MS. */
export function checkTtl(ttl: unknown, value: unknown = ttl): number | Refused {
  return wholeMs(ttl, value, 'ttl', 'never expires');
}

export function validateTtl(ttl: unknown, value: unknown = ttl): number {
  return orThrow(checkTtl(ttl, value));
}

/** `?delay=` of a flush as milliseconds: absent = 0, flush now. */
export function parseDelayParam(input: string | undefined): number {
  if (input === undefined) return 0;
  return validateDelay(msParam(input), input);
}

/**
 * A flush delay in milliseconds (`?delay=`, a batch flush's second element): 0 = now. The same
 * form and range as a TTL; a bad one is a 400 `bad_delay`.
 */
export function checkDelay(delay: unknown, value: unknown = delay): number | Refused {
  return wholeMs(delay, value, 'delay', 'flush now');
}

export function validateDelay(delay: unknown, value: unknown = delay): number {
  return orThrow(checkDelay(delay, value));
}

/** memcached client flags: an unsigned 32-bit integer. */
export function checkFlags(flags: unknown, value: unknown = flags): number | Refused {
  if (typeof flags !== 'number' || !Number.isInteger(flags) || flags < 0 || flags > 0xffffffff) {
    return new Refused(
      400,
      'bad_flags',
      `flags must be an unsigned 32-bit integer, got ${shown(value)}`,
    );
  }
  return flags;
}

export function validateFlags(flags: unknown, value: unknown = flags): number {
  return orThrow(checkFlags(flags, value));
}

/** A `Dcache-Flags` header: decimal digits only, then the same range check. */
export function parseFlagsHeader(value: string): number {
  return validateFlags(/^\d{1,10}$/.test(value) ? Number(value) : NaN, value);
}
