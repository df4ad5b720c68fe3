/**
 * Splits one command line into space-separated tokens, as memcached's `tokenize_command` does:
 * only the space byte separates (a tab is part of a token), runs of spaces are one separator,
 * and a NUL byte ends the line (memcached works on C strings). Tokens are recorded as byte
 * offsets into the read buffer; nothing is copied.
 *
 * The result object and its offset arrays are reused for every line of every connection —
 * commands run synchronously to completion, so one scratch instance is enough.
 */
export interface Tokens {
  /** Number of tokens found. */
  count: number;
  starts: Int32Array;
  ends: Int32Array;
}

/** memcached's MAX_TOKENS: a line is judged by its first 23 tokens plus a terminal marker. */
export const MAX_TOKENS = 24;

const scratch: Tokens = { count: 0, starts: new Int32Array(64), ends: new Int32Array(64) };

function grow(t: Tokens): void {
  const starts = new Int32Array(t.starts.length * 2);
  const ends = new Int32Array(t.ends.length * 2);
  starts.set(t.starts);
  ends.set(t.ends);
  t.starts = starts;
  t.ends = ends;
}

export function tokenize(buf: Uint8Array, start: number, end: number): Tokens {
  const t = scratch;
  let count = 0;
  let tokenStart = -1;
  let i = start;
  for (; i < end; i++) {
    const b = buf[i]!;
    if (b === 0x20 || b === 0) {
      if (tokenStart !== -1) {
        if (count === t.starts.length) grow(t);
        t.starts[count] = tokenStart;
        t.ends[count] = i;
        count++;
        tokenStart = -1;
      }
      if (b === 0) break;
    } else if (tokenStart === -1) {
      tokenStart = i;
    }
  }
  if (tokenStart !== -1) {
    if (count === t.starts.length) grow(t);
    t.starts[count] = tokenStart;
    t.ends[count] = i;
    count++;
  }
  t.count = count;
  return t;
}

/**
 * memcached's `ntokens` for argument-count checks: real tokens (at most 23 are looked at) plus
 * the terminal token. A 30-token `set` line therefore counts as 24 and is an ERROR, as there.
 */
export function memcachedTokenCount(t: Tokens): number {
  return (t.count < MAX_TOKENS - 1 ? t.count : MAX_TOKENS - 1) + 1;
}

/** True when token `i` equals the ASCII string `word`. */
export function tokenIs(buf: Uint8Array, t: Tokens, i: number, word: string): boolean {
  if (i >= t.count) return false;
  const s = t.starts[i]!;
  const len = t.ends[i]! - s;
  if (len !== word.length) return false;
  for (let j = 0; j < len; j++) if (buf[s + j] !== word.charCodeAt(j)) return false;
  return true;
}

export function tokenLength(t: Tokens, i: number): number {
  return t.ends[i]! - t.starts[i]!;
}
