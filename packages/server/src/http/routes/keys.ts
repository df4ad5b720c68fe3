import { Hono } from 'hono';
import type { Context } from 'hono';
import type { AppEnv, NodeState } from '../app-env.js';
import { header } from '../app-env.js';
import { readBody } from '../body.js';
import {
  acceptable,
  CONTENT_TYPES,
  convert,
  encodingOfContentType,
  encodingOfFlags,
  flagsOfEncoding,
  validateBody,
} from '../codec/encoding.js';
import type { Encoding } from '../codec/encoding.js';
import { HttpError, isHttpError } from '../../errors/http-error.js';
import {
  counterSeed,
  counterValue,
  increment,
  parseDelta,
  parseInitial,
} from '../../operations/incr.js';
import { timed } from '../middleware/timed.js';
import { orThrow } from '../../operations/refusal.js';
import { touchAfterRead } from '../../operations/touch.js';
import { json, keyNotFound } from '../responses.js';
import { conditionHolds, preconditionFailed } from '../../operations/store.js';
import { decideCondition, parseCondition } from '../write-conditions.js';
import { keyOfUrl } from '../url-key.js';
import { readConditions, readPrecondition, readPreconditionFailed } from '../conditional-read.js';
import { parseFlagsHeader, parseTtlParam, validateKey } from '../../operations/validate.js';
import { storedValue } from '../../operations/stored-value.js';

/** The body in the representation `Accept` asks for, or a 406 naming what the value can be. */
function negotiate(
  accept: string | undefined,
  bytes: Uint8Array,
  native: Encoding,
): [Uint8Array, Encoding] {
  for (const encoding of acceptable(accept, native)) {
    const body = convert(bytes, native, encoding);
    if (body !== undefined) return [body, encoding];
  }
  // msgpack that JSON cannot hold is most often @dcache/client's: its objects are msgpackr records.
  const hint =
    native === 'msgpack' && accept?.includes('json') === true
      ? " (msgpack JSON cannot hold: extensions such as @dcache/client's objects, binary data or non-string map keys; a client with valueEncoding: 'json' stores plain JSON)"
      : '';
  throw new HttpError(
    406,
    'not_acceptable',
    `the value is stored as ${CONTENT_TYPES[native]} and cannot be served as ${accept ?? ''}${hint}`,
  );
}

/** `/v1/keys/:key` and its touch and incr/decr: single-key reads and writes. */
export function keyRoutes(node: NodeState): Hono<AppEnv> {
  const { replicas, options } = node;
  const app = new Hono<AppEnv>();
  // The key from the URL itself: hono's `param()` keeps malformed escapes literally (url-key.ts).
  const key = (c: Context<AppEnv>): string => validateKey(keyOfUrl(c.req.url), options.maxKeyBytes);
  /**
   * `If-Match` / `If-None-Match` of a DELETE, touch or incr/decr, decided as a PUT's are: a 412
   * when they fail. RFC 9110 §13.1.1 has a server evaluate them before performing any method, so
   * an incr sent the ETag it read never counts on a value changed since. An unverified entry (a
   * fenced node) is absent, as the GET that handed out ETags answers it — the peer that may hold
   * a newer value decides. Synchronous, as the change that follows it, so nothing comes between.
   */
  const checkCondition = (c: Context<AppEnv>, k: string): void => {
    const condition = parseCondition(header(c, 'if-match'), header(c, 'if-none-match'));
    if (condition === null) return;
    const stored = replicas.peekEntry(k);
    const decided = decideCondition(condition, () => stored?.version);
    if (!conditionHolds(decided, stored?.version)) {
      throw preconditionFailed(decided, stored !== undefined);
    }
  };

  app.get(
    '/:key',
    timed(node, 'get', (c) => {
      const k = key(c);
      // `?ttl=` makes it a get-and-touch (memcached's gat, Redis' GETEX PX): sliding expiry.
      const newTtl = parseTtlParam(c.req.query('ttl'));
      const conditions = readConditions(header(c, 'if-match'), header(c, 'if-none-match'));
      // Looked at without counting or promoting: a read refused below (406, 412) is no hit.
      const entry = replicas.peekEntry(k);
      // Preconditions count only where the read would succeed without them (RFC 9110 §13.2.1):
      // a miss stays a 404, and an Accept no representation satisfies a 406, whatever they say.
      if (entry === undefined) {
        replicas.getEntry(k); // counted as the miss it is
        return keyNotFound();
      }
      const { bytes, flags } = entry.value;
      const native = encodingOfFlags(flags);
      const accept = header(c, 'accept');
      let body = bytes;
      let encoding = native;
      // The common cases (no Accept, */*, or exactly the stored type) skip negotiation entirely.
      if (accept !== undefined && accept !== '*/*' && accept !== CONTENT_TYPES[native]) {
        [body, encoding] = negotiate(accept, bytes, native);
      }
      const precondition =
        conditions === undefined ? 'serve' : readPrecondition(conditions, entry.version);
      if (precondition === 'failed') throw readPreconditionFailed();
      replicas.getEntry(k); // answered: a hit, promoted
      // Only a read that is answered (not a 406 or 412) touches; a 304 is answered.
      const ttl = touchAfterRead(replicas, k, entry.ttl, newTtl);
      // The representation depends on Accept (negotiate), so shared caches must key on it too.
      const headers: Record<string, string> = {
        etag: `"${entry.version}"`,
        'dcache-flags': `${flags}`,
        vary: 'accept',
      };
      if (ttl !== undefined) headers['dcache-ttl'] = `${ttl}`;
      // On a 304 too: a cache refreshes its stored headers from it (RFC 9111 §4.3.4), and without
      // one the adapter would label it text/plain.
      headers['content-type'] = CONTENT_TYPES[encoding];
      // The caller's copy is current: no body, the validators and TTL a 200 would carry.
      if (precondition === 'not_modified') return new Response(null, { status: 304, headers });
      // Set here rather than left to the adapter: hono answers HEAD with this response's headers
      // and no body, and a HEAD is asked for the length of the value it would get (RFC 9110 §9.3.2).
      headers['content-length'] = `${body.byteLength}`;
      // A HEAD's answer is its headers alone: holding the value's bytes for it would refuse (503)
      // the next requests of a client that reads all it is sent.
      if (c.req.method !== 'HEAD')
        node.bodyBudget.holdUntilClosed(c.env?.outgoing, body.byteLength);
      return new Response(body, { status: 200, headers });
    }),
  );

  app.put(
    '/:key',
    timed(node, 'set', async (c) => {
      const k = key(c);
      const ttl = parseTtlParam(c.req.query('ttl'));
      const condition = parseCondition(header(c, 'if-match'), header(c, 'if-none-match'));
      // Dcache-Flags copies an entry byte for byte (read repair): the bytes are stored unchecked.
      const flagsHeader = header(c, 'dcache-flags');
      let encoding: Encoding | undefined;
      let flags: number;
      if (flagsHeader === undefined) {
        encoding = encodingOfContentType(header(c, 'content-type'));
        flags = flagsOfEncoding(encoding);
      } else {
        flags = parseFlagsHeader(flagsHeader);
      }
      let bytes: Uint8Array;
      try {
        bytes = await readBody(c, node, options.maxValueBytes, 'the value');
      } catch (error) {
        // Too large: an unconditional PUT drops the value it was to replace, as memcached's set
        // does, so no reader gets that value after the update failed.
        if (condition === null && isHttpError(error) && error.status === 413) replicas.delete(k);
        throw error;
      }
      if (encoding !== undefined) validateBody(encoding, bytes);
      // A condition reads the key: a node back from a stall fences first (as a batch does), so
      // a replace finds what it held then unverified — absent — rather than replacing it.
      if (condition !== null) replicas.beforeRead();
      // An ETag list is decided against what the write finds, in this same synchronous step.
      const decided = decideCondition(condition, () => replicas.peekEntry(k)?.version);
      const written = replicas.write(k, storedValue(bytes, flags), ttl, decided);
      if (written === undefined) throw preconditionFailed(decided, replicas.has(k));
      return new Response(null, { status: 204, headers: { etag: `"${written.version}"` } });
    }),
  );

  app.delete(
    '/:key',
    timed(node, 'delete', (c) => {
      const k = key(c);
      checkCondition(c, k); // a delete of the version read
      return replicas.delete(k) ? new Response(null, { status: 204 }) : keyNotFound();
    }),
  );

  app.post(
    '/:key/touch',
    timed(node, 'touch', (c) => {
      const ttl = parseTtlParam(c.req.query('ttl'));
      // Unlike a write, a touch has no "node's default" to fall back on: it exists to set a TTL.
      if (ttl === undefined) {
        throw new HttpError(400, 'bad_ttl', 'touch needs ?ttl=<ms> (0 = never expires)');
      }
      const k = key(c);
      checkCondition(c, k);
      return replicas.touch(k, ttl) ? new Response(null, { status: 204 }) : keyNotFound();
    }),
  );

  for (const op of ['incr', 'decr'] as const) {
    app.post(
      `/:key/${op}`,
      timed(node, op, (c) => {
        const delta = parseDelta(c.req.query('delta'));
        const initial = c.req.query('initial');
        const seed = orThrow(
          counterSeed(
            initial === undefined ? undefined : parseInitial(initial),
            parseTtlParam(c.req.query('ttl')),
          ),
        );
        // A node back from a stall fences before it counts on what it held (as a batch does).
        replicas.beforeRead();
        const k = key(c);
        checkCondition(c, k);
        const counted = increment(replicas, k, op === 'incr' ? delta : -delta, seed);
        return counted === undefined ? keyNotFound() : json(`${counterValue(counted.value)}`);
      }),
    );
  }
  return app;
}
