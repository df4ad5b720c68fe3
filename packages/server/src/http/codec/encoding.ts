import { C1 } from 'msgpackr';
import { HttpError } from '../../errors/http-error.js';
import { jsonNestingExceeds, parseJsonExact } from './json-exact.js';
import { valueCodec } from './msgpack.js';
import { scanItems } from './msgpack-items.js';
import { MAX_NESTING, tooDeep } from './nesting.js';
import {
  FLAGS_JSON,
  FLAGS_MSGPACK,
  FLAGS_OCTET_STREAM,
  FLAGS_TEXT,
} from '../../operations/stored-value.js';

/** The HTTP representations of a value (docs/wire-protocol.md, "Stored values"). */
export type Encoding = 'octet' | 'json' | 'text' | 'msgpack';

export const CONTENT_TYPES: Readonly<Record<Encoding, string>> = {
  octet: 'application/octet-stream',
  json: 'application/json',
  text: 'text/plain; charset=utf-8',
  msgpack: 'application/msgpack',
};

const FLAGS: Readonly<Record<Encoding, number>> = {
  octet: FLAGS_OCTET_STREAM,
  json: FLAGS_JSON,
  text: FLAGS_TEXT,
  msgpack: FLAGS_MSGPACK,
};

/** Media types accepted on writes (and in `Accept`), lower-case, without parameters. */
const MEDIA_TYPES: ReadonlyMap<string, Encoding> = new Map<string, Encoding>([
  ['application/octet-stream', 'octet'],
  ['application/json', 'json'],
  ['text/plain', 'text'],
  ['application/msgpack', 'msgpack'],
  ['application/x-msgpack', 'msgpack'],
  ['application/vnd.msgpack', 'msgpack'],
]);

const SUPPORTED =
  'application/msgpack, application/json, text/plain, application/octet-stream (or none)';

export function encodingOfFlags(flags: number): Encoding {
  switch (flags) {
    case FLAGS_JSON:
      return 'json';
    case FLAGS_TEXT:
      return 'text';
    case FLAGS_MSGPACK:
      return 'msgpack';
    default:
      return 'octet';
  }
}

export function flagsOfEncoding(encoding: Encoding): number {
  return FLAGS[encoding];
}

/**
 * One `;`-separated parameter of a media type, from its `;` to the next one outside a quoted
 * string: `name=value`, the value a token or a quoted string (RFC 9110 §5.6.6); a part that is not
 * one (empty, no `=`) is skipped whole.
 */
const PARAMETER =
  /;[ \t]*(?:([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]*=[ \t]*("(?:[^"\\]|\\.)*"|[^;]*))?[^;]*/y;

/**
 * The `charset` parameter among a media type's `parameters` (from its first `;`), read parameter by
 * parameter: `xcharset=…`, or `charset=` inside another parameter's quoted value, is not it.
 */
function charsetParameter(parameters: string): string | undefined {
  PARAMETER.lastIndex = 0;
  while (PARAMETER.lastIndex < parameters.length) {
    const parameter = PARAMETER.exec(parameters);
    if (parameter === null) return undefined;
    if (parameter[1]?.toLowerCase() !== 'charset') continue;
    const value = parameter[2]!.trim();
    if (value === '') return undefined;
    return value.startsWith('"') ? value.slice(1, -1).replace(/\\(.)/g, '$1') : value;
  }
  return undefined;
}

/** The encoding a `Content-Type` names; 415 (listing what works) for anything else. */
export function encodingOfContentType(header: string | undefined): Encoding {
  if (header === undefined || header === '') return 'octet';
  const semicolon = header.indexOf(';');
  const type = (semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase();
  const encoding = MEDIA_TYPES.get(type);
  if (encoding === undefined) {
    throw new HttpError(
      415,
      'unsupported_media_type',
      `Content-Type ${type} is not supported; use ${SUPPORTED}`,
    );
  }
  if (semicolon !== -1 && (encoding === 'text' || encoding === 'json')) {
    const charset = charsetParameter(header.slice(semicolon))?.toLowerCase();
    if (
      charset !== undefined &&
      charset !== 'utf-8' &&
      charset !== 'utf8' &&
      charset !== 'us-ascii'
    ) {
      throw new HttpError(
        415,
        'unsupported_media_type',
        `charset ${charset} is not supported; use utf-8`,
      );
    }
  }
  return encoding;
}

/** Whether a `Content-Type` names msgpack (anything else, unsupported included, does not). */
export function isMsgpackType(header: string | undefined): boolean {
  try {
    return encodingOfContentType(header) === 'msgpack';
  } catch {
    return false;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

function decodeUtf8(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/** msgpackr decodes the reserved byte 0xc1 to a marker instead of failing; the spec calls it invalid. */
function hasNeverUsedByte(value: unknown): boolean {
  if (value === C1) return true;
  if (Array.isArray(value)) return value.some(hasNeverUsedByte);
  if (value instanceof Map) {
    for (const [key, item] of value as Map<unknown, unknown>) {
      if (hasNeverUsedByte(key) || hasNeverUsedByte(item)) return true;
    }
  }
  return false;
}

/**
 * Refuses (400) a body that is not what its Content-Type claims, so every stored value converts;
 * a JSON or msgpack one nested past MAX_NESTING is refused as such (400 too_deep).
 */
export function validateBody(encoding: Encoding, bytes: Uint8Array): void {
  if (encoding === 'octet') return;
  if (encoding === 'msgpack') {
    // A str must be well-formed UTF-8 (msgpack's spec), as a batch's must: decoders replace bad
    // bytes. Extensions are values like any other here, skipped by their length.
    const verdict = scanItems(bytes, Infinity, { extensions: 'skip', strings: 'check' });
    if (verdict === 'too_deep') throw tooDeep('the value');
    if (verdict === 'bad_utf8') {
      throw badBody('msgpack', new Error('a str that is not well-formed UTF-8'));
    }
    // One whole msgpack value by the spec: an extension of a type msgpackr has no decoder for
    // (another language's own type) is as valid as a timestamp, so it is not decoded here.
    if (verdict === 'ok') return;
    // Else msgpackr's own formats may still read it whole: a record (@dcache/client's objects) or a
    // Set is an extension followed by values it reads as its content.
    try {
      if (hasNeverUsedByte(valueCodec.unpack(bytes))) throw new Error('0xc1 is never used');
    } catch (error) {
      throw badBody('msgpack', error);
    }
    return;
  }
  let text: string;
  try {
    text = decodeUtf8(bytes);
  } catch (error) {
    throw badBody(encoding === 'json' ? 'JSON' : 'UTF-8 text', error);
  }
  if (encoding !== 'json') return;
  if (jsonNestingExceeds(text, MAX_NESTING)) throw tooDeep('the value');
  try {
    JSON.parse(text);
  } catch (error) {
    throw badBody('JSON', error);
  }
}

function badBody(what: string, cause: unknown): HttpError {
  return new HttpError(400, 'bad_body', `the body is not valid ${what}`, { cause });
}

/** The other encodings a value of `native` may be served as, best first (after `native` itself). */
const CANDIDATES: Readonly<Record<Encoding, readonly Encoding[]>> = {
  octet: ['octet'],
  json: ['json', 'msgpack', 'text', 'octet'],
  text: ['text', 'json', 'msgpack', 'octet'],
  msgpack: ['msgpack', 'json', 'text', 'octet'],
};

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
}

function parseAccept(accept: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  for (const part of accept.split(',')) {
    const [media = '', ...params] = part.split(';');
    const slash = media.indexOf('/');
    if (slash === -1) continue;
    let q = 1;
    for (const param of params) {
      const [name, value] = param.split('=');
      if (name?.trim().toLowerCase() === 'q') {
        const parsed = Number(value?.trim());
        q = Number.isFinite(parsed) ? Math.min(Math.max(parsed, 0), 1) : 0;
      }
    }
    ranges.push({
      type: media.slice(0, slash).trim().toLowerCase(),
      subtype: media
        .slice(slash + 1)
        .trim()
        .toLowerCase(),
      q,
    });
  }
  return ranges;
}

/** Quality `Accept` gives an encoding: that of the most specific matching range, or 0. */
function quality(ranges: readonly MediaRange[], encoding: Encoding): number {
  let best = -1;
  let q = 0;
  for (const range of ranges) {
    let specificity = -1;
    if (range.type === '*' && range.subtype === '*') specificity = 0;
    else {
      const full = `${range.type}/${range.subtype}`;
      if (range.subtype === '*' && CONTENT_TYPES[encoding].startsWith(`${range.type}/`))
        specificity = 1;
      else if (MEDIA_TYPES.get(full) === encoding) specificity = 2;
    }
    if (specificity > best) {
      best = specificity;
      q = range.q;
    }
  }
  return q;
}

/**
 * The encodings `Accept` allows for a value stored as `native`, most preferred first (ties go to
 * the stored encoding, so no conversion happens unless asked for). Empty → 406.
 */
export function acceptable(accept: string | undefined, native: Encoding): readonly Encoding[] {
  if (accept === undefined || accept === '*/*' || accept === '') return [native];
  const ranges = parseAccept(accept);
  return CANDIDATES[native]
    .map((encoding, order) => ({ encoding, order, q: quality(ranges, encoding) }))
    .filter((c) => c.q > 0)
    .sort((a, b) => b.q - a.q || a.order - b.order)
    .map((c) => c.encoding);
}

/** JSON text of a decoded msgpack value, or undefined when JSON cannot represent it exactly. */
function toJson(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : undefined;
    case 'bigint':
      return value.toString(); // JSON numbers have no size limit
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        const items: string[] = [];
        for (const item of value) {
          const json = toJson(item);
          if (json === undefined) return undefined;
          items.push(json);
        }
        return `[${items.join(',')}]`;
      }
      if (value instanceof Map) {
        const members: string[] = [];
        for (const [key, item] of value as Map<unknown, unknown>) {
          if (typeof key !== 'string') return undefined;
          const json = toJson(item);
          if (json === undefined) return undefined;
          members.push(`${JSON.stringify(key)}:${json}`);
        }
        return `{${members.join(',')}}`;
      }
      return undefined; // binary, dates, extensions: no exact JSON form
    }
    default:
      return undefined;
  }
}

function decode(from: Encoding, bytes: Uint8Array): unknown {
  if (from === 'msgpack') return valueCodec.unpack(bytes);
  const text = decodeUtf8(bytes);
  // Exact: JSON.parse would round integers past 2^53, which msgpack holds as uint64/int64.
  return from === 'json' ? parseJsonExact(text, MAX_NESTING) : text;
}

/**
 * `bytes` stored as `from`, re-encoded as `to`; undefined when the value has no such
 * representation (binary as JSON, a number as text, …), which the route turns into a 406.
 */
export function convert(bytes: Uint8Array, from: Encoding, to: Encoding): Uint8Array | undefined {
  if (from === to || to === 'octet') return bytes;
  try {
    const value = decode(from, bytes);
    if (to === 'msgpack') return valueCodec.pack(value);
    if (to === 'text') return typeof value === 'string' ? utf8Encoder.encode(value) : undefined;
    const json = toJson(value);
    return json === undefined ? undefined : utf8Encoder.encode(json);
  } catch {
    return undefined; // stored bytes that do not decode (e.g. copied in with Dcache-Flags)
  }
}
