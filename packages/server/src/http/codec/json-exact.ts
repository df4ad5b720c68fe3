/**
 * JSON text to a value without JSON.parse's rounding: an integer literal outside ±(2^53−1) but
 * within the 64-bit range (−2^63 to 2^64−1) becomes a BigInt, so `18446744073709551615` stored as
 * JSON is served as msgpack uint64 with the same digits; one past that range no double equals, a
 * number past a double's range and a lone surrogate throw JsonNotRepresentable. (Node 20's JSON.parse has no access to a
 * number's source text; that came with Node 21.) Objects become Maps, so every key — `__proto__`
 * included — survives and no prototype is touched; the last of duplicate keys wins, as in
 * JSON.parse. Everything else matches JSON.parse, which still decodes the strings.
 */

const MIN_INT64 = -(2n ** 63n);
const MAX_UINT64 = 2n ** 64n - 1n;
const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;

/** Thrown for nesting past the parser's `maxDepth`, so callers can tell it from a syntax error. */
export class JsonNestingError extends RangeError {
  override name = 'JsonNestingError';
}

/**
 * Thrown for a JSON value no other encoding can hold as it is: an integer past the 64-bit range
 * that no double equals, a number past a double's range, a string with a lone surrogate (not
 * Unicode text, so not UTF-8). Conversion answers 406 rather than serve another value.
 */
export class JsonNotRepresentable extends RangeError {
  override name = 'JsonNotRepresentable';
}

/** A lone surrogate: with the `u` flag a well-formed pair is one code point and never matches. */
const LONE_SURROGATE = /\p{Surrogate}/u;

function integer(literal: string): number | bigint {
  const value = Number(literal);
  if (Number.isSafeInteger(value)) return value;
  const exact = BigInt(literal);
  if (exact >= MIN_INT64 && exact <= MAX_UINT64) return exact;
  // A double past 64 bits: one that equals the literal, or the literal is the double's own
  // shortest form (as JavaScript writes large doubles: 1e20 as 100000000000000000000).
  if (Number.isFinite(value) && (BigInt(value) === exact || String(value) === literal)) {
    return value;
  }
  throw new JsonNotRepresentable(
    `the integer ${literal} is past 64 bits, and it is not a double either`,
  );
}

function fraction(literal: string): number {
  const value = Number(literal);
  if (Number.isFinite(value)) return value;
  throw new JsonNotRepresentable(`the number ${literal} is past a double's range`);
}

/** Parses `text` (one JSON value); throws a SyntaxError, or a JsonNestingError past `maxDepth`. */
export function parseJsonExact(text: string, maxDepth: number): unknown {
  let at = 0;

  function fail(what: string): never {
    throw new SyntaxError(`${what} at position ${at} of the JSON text`);
  }

  function space(): void {
    for (;;) {
      const c = text.charCodeAt(at);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) at++;
      else return;
    }
  }

  function string(): string {
    const start = at++;
    for (;;) {
      const c = text.charCodeAt(at++);
      if (c === 0x22) break; // the closing quote
      if (c === 0x5c)
        at++; // an escape: its next character is never the end
      else if (Number.isNaN(c)) fail('unterminated string');
    }
    const decoded = JSON.parse(text.slice(start, at)) as string; // escapes, control characters
    if (LONE_SURROGATE.test(decoded)) {
      throw new JsonNotRepresentable('a string holds a lone surrogate (not Unicode text)');
    }
    return decoded;
  }

  function value(depth: number): unknown {
    space();
    const c = text[at];
    if (c === '"') return string();
    if (c === '{' || c === '[') {
      if (depth === maxDepth) {
        throw new JsonNestingError(`JSON nested deeper than ${maxDepth} levels`);
      }
      return c === '[' ? array(depth + 1) : object(depth + 1);
    }
    for (const [word, result] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(word, at)) {
        at += word.length;
        return result;
      }
    }
    NUMBER.lastIndex = at;
    const match = NUMBER.exec(text);
    if (match === null) return fail('unexpected character');
    at = NUMBER.lastIndex;
    return match[1] === undefined && match[2] === undefined
      ? integer(match[0])
      : fraction(match[0]);
  }

  function array(depth: number): unknown[] {
    at++;
    const items: unknown[] = [];
    space();
    if (text[at] === ']') {
      at++;
      return items;
    }
    for (;;) {
      items.push(value(depth));
      space();
      const c = text[at++];
      if (c === ']') return items;
      if (c !== ',') fail('expected , or ]');
    }
  }

  function object(depth: number): Map<string, unknown> {
    at++;
    const members = new Map<string, unknown>();
    space();
    if (text[at] === '}') {
      at++;
      return members;
    }
    for (;;) {
      space();
      if (text[at] !== '"') fail('expected a string key');
      const key = string();
      space();
      if (text[at++] !== ':') fail('expected :');
      members.set(key, value(depth));
      space();
      const c = text[at++];
      if (c === '}') return members;
      if (c !== ',') fail('expected , or }');
    }
  }

  const result = value(0);
  space();
  if (at !== text.length) fail('unexpected text after the value');
  return result;
}

/**
 * Whether `text` nests arrays and objects deeper than `maxDepth`, counting brackets outside
 * strings; one pass, no allocation, for checking a body JSON.parse then validates.
 */
export function jsonNestingExceeds(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
