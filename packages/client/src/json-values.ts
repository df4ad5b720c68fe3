// valueEncoding 'json': values any language can read (memcached clients, curl, Python, PHP).
import { FLAGS_JSON, FLAGS_OCTET_STREAM, FLAGS_TEXT, jsonString } from './codec.js';
import type { EncodedValue } from './codec.js';
import { isWellFormed } from './validate.js';

const utf8 = new TextEncoder();

/**
 * A string as its UTF-8 text (flags 16; as JSON text when a lone surrogate leaves it no UTF-8
 * form), bytes as themselves (flags 0), anything else as JSON text (flags 2) — no msgpack, so
 * another client reads the bytes without a msgpack library, and whole numbers ≥ 0 are the decimal
 * text a node's incr/decr work on. Only values JSON carries faithfully are taken: a value that
 * would come back as something else (a Map as `{}`, a Date as a string, NaN as null) is a
 * TypeError naming what was found, instead of a silent change.
 */
export function encodeJsonValue(value: unknown): EncodedValue {
  if (typeof value === 'string') {
    // UTF-8 text would hold U+FFFD for a lone surrogate; JSON text escapes it and reads it back.
    if (!isWellFormed(value)) return jsonString(value);
    return { bytes: utf8.encode(value), flags: FLAGS_TEXT };
  }
  // A copy: the bytes leave with the next batch, after the caller may have reused its array.
  if (value instanceof Uint8Array) {
    return { bytes: Uint8Array.prototype.slice.call(value), flags: FLAGS_OCTET_STREAM };
  }
  // JSON writes a top-level -0 as 0; '-0' is JSON too and reads back as -0.
  const text = Object.is(value, -0) ? '-0' : JSON.stringify(value, refuseWhatJsonChanges);
  return { bytes: utf8.encode(text), flags: FLAGS_JSON };
}

/**
 * A JSON.stringify replacer that throws for what JSON would not give back as it was. `this[key]`
 * is the value before its toJSON (a Date's), which `value` already is not.
 */
function refuseWhatJsonChanges(this: unknown, key: string, value: unknown): unknown {
  const original = (this as Record<string, unknown>)[key];
  const problem =
    original === undefined && Array.isArray(this)
      ? 'undefined in an array (JSON writes null)'
      : changedByJson(original);
  if (problem !== undefined) {
    throw new TypeError(
      `valueEncoding 'json' cannot store ${problem}${key === '' ? '' : ` (at key ${JSON.stringify(key)})`}: it would not read back the same; use valueEncoding 'msgpack'`,
    );
  }
  return value;
}

/** Not a plain object or array: refused by its class's name (a Date's toJSON is its own). */
function isClassInstance(value: object): boolean {
  if (Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype !== Object.prototype && prototype !== null;
}

function changedByJson(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : String(value);
    case 'undefined':
      // Dropped from an object, as JSON.stringify does everywhere; an array would hold null.
      return undefined;
    case 'object': {
      if (value === null) return undefined;
      // JSON.stringify writes what toJSON returns, never the object's own fields.
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function' && !isClassInstance(value)) {
        return 'an object with a toJSON method';
      }
      if (Array.isArray(value)) return undefined;
      const prototype: unknown = Object.getPrototypeOf(value);
      if (prototype === Object.prototype || prototype === null) return undefined;
      return `a ${(value as object).constructor?.name ?? 'class instance'}`;
    }
    default:
      return `a ${typeof value}`;
  }
}
