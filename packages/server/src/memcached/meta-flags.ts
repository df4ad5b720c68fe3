import { decodeBase64Key } from './keys.js';
import { parseInt32, parseUint32, parseUint64 } from './numbers.js';
import type { Tokens } from './tokenize.js';

/**
 * Meta command flags, parsed as memcached 1.6's `_meta_flag_preparse` does: one letter per token,
 * optionally followed by its argument ("T30", "Oabc"); a repeated letter or any byte ≥ 127 is a
 * "duplicate flag" and an unknown letter an "invalid flag" (both stop parsing at once); a bad
 * argument records its message and parsing goes on, so the last message wins.
 *
 * `E` (client-chosen CAS) is not supported: CAS values are the core's versions (memcached 1.6.18
 * has no `E` either).
 */
export interface MetaFlags {
  error: string | undefined;
  /** The decoded key when the `b` flag was given. */
  base64Key: string | undefined;
  noreply: boolean;
  value: boolean;
  noBump: boolean;
  invalidate: boolean;
  /** Exptimes as sent (seconds); undefined when the flag is absent. */
  ttl: number | undefined;
  vivifyTtl: number | undefined;
  recacheTtl: number | undefined;
  clientFlags: number;
  cas: bigint | undefined;
  mode: number;
  delta: bigint;
  initial: bigint;
}

const BAD_TOKEN = 'CLIENT_ERROR bad token in command line format';

export function parseMetaFlags(buf: Buffer, t: Tokens, first: number, last: number): MetaFlags {
  const f: MetaFlags = {
    error: undefined,
    base64Key: undefined,
    noreply: false,
    value: false,
    noBump: false,
    invalidate: false,
    ttl: undefined,
    vivifyTtl: undefined,
    recacheTtl: undefined,
    clientFlags: 0,
    cas: undefined,
    mode: 0,
    delta: 1n,
    initial: 0n,
  };
  let seen = 0n;
  let failed = false;
  for (let i = first; i < last; i++) {
    const s = t.starts[i]!;
    const e = t.ends[i]!;
    const o = buf[s]!;
    const bit = 1n << BigInt(o & 127);
    if (o >= 127 || (seen & bit) !== 0n) {
      f.error = 'CLIENT_ERROR duplicate flag';
      return f;
    }
    seen |= bit;
    switch (o) {
      case 0x62: // b
        f.base64Key = decodeBase64Key(buf, t.starts[1]!, t.ends[1]!);
        if (f.base64Key === undefined) {
          f.error = 'CLIENT_ERROR error decoding key';
          failed = true;
        }
        break;
      case 0x4e: // N
      case 0x54: // T
      case 0x52: {
        // R
        const v = parseInt32(buf, s + 1, e);
        if (v === undefined) {
          f.error = BAD_TOKEN;
          failed = true;
        } else if (o === 0x4e) f.vivifyTtl = v;
        else if (o === 0x54) f.ttl = v;
        else f.recacheTtl = v;
        break;
      }
      case 0x4f: // O
      case 0x68: // h
      case 0x6c: // l
      case 0x50: // P
      case 0x4c: // L
      case 0x6b: // k
      case 0x73: // s
      case 0x74: // t
      case 0x63: // c
      case 0x66: // f
        break;
      case 0x76: // v
        f.value = true;
        break;
      case 0x75: // u
        f.noBump = true;
        break;
      case 0x71: // q
        f.noreply = true;
        break;
      case 0x46: {
        // F
        const v = parseUint32(buf, s + 1, e);
        if (v === undefined) failed = true;
        else f.clientFlags = v;
        break;
      }
      case 0x43: {
        // C
        const v = parseUint64(buf, s + 1, e);
        if (v === undefined) {
          f.error = BAD_TOKEN;
          failed = true;
        } else f.cas = v;
        break;
      }
      case 0x4d: // M
        if (e - s !== 2) {
          f.error = 'CLIENT_ERROR incorrect length for M token';
          failed = true;
        } else f.mode = buf[s + 1]!;
        break;
      case 0x4a: {
        // J
        const v = parseUint64(buf, s + 1, e);
        if (v === undefined) {
          f.error = 'CLIENT_ERROR invalid numeric initial value';
          failed = true;
        } else f.initial = v;
        break;
      }
      case 0x44: {
        // D
        const v = parseUint64(buf, s + 1, e);
        if (v === undefined) {
          f.error = 'CLIENT_ERROR invalid numeric delta value';
          failed = true;
        } else f.delta = v;
        break;
      }
      case 0x49: // I
        f.invalidate = true;
        break;
      default:
        f.error = 'CLIENT_ERROR invalid flag';
        return f;
    }
  }
  if (failed && f.error === undefined) f.error = 'CLIENT_ERROR bad command line format';
  if (!failed) f.error = undefined;
  return f;
}

/** memcached's limit on opaque tokens (including the leading 'O'). */
export const MAX_OPAQUE_LENGTH = 32;
/** memcached's MFLAG_MAX_OPT_LENGTH, compared against its token count. */
export const MAX_META_TOKENS = 20;
