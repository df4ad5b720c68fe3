import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createApp } from '../src/index.js';

/** What the HTTP API should do, as plain data: key → value and version. */
type Model = Map<string, { value: string; etag: string }>;

const KEYS = ['a', 'b', '__proto__', 'constructor', 'ü/ß'];
const key = fc.constantFrom(...KEYS);
const value = fc.oneof(fc.stringMatching(/^[0-9]{1,6}$/), fc.string({ maxLength: 8 }));

const op = fc.oneof(
  fc.record({
    kind: fc.constant('put' as const),
    key,
    value,
    cond: fc.constantFrom('none', 'add', 'replace', 'cas', 'stale'),
  }),
  fc.record({ kind: fc.constant('get' as const), key }),
  fc.record({ kind: fc.constant('delete' as const), key }),
  fc.record({ kind: fc.constant('incr' as const), key, delta: fc.integer({ min: -50, max: 50 }) }),
);

/**
 * The count memcached reads in a value (util.c `safe_strtoull`): optional leading C whitespace and
 * sign, digits, then the end or whitespace (anything may follow it). A minus sign makes any count
 * but 0 wrap past 2^63, which memcached refuses. The model's values are at most 8 characters, so
 * nothing else wraps.
 */
function counterOf(value: string): number | undefined {
  const match = /^[ \t\n\v\f\r]*([+-]?)(\d+)(?:[ \t\n\v\f\r][\s\S]*)?$/.exec(value);
  if (!match) return undefined;
  const count = Number(match[2]);
  return match[1] === '-' && count !== 0 ? undefined : count;
}

/** What memcached stores after incr/decr: the digits, space-padded to the old length if shorter. */
function storedCount(next: number, old: string): string {
  const digits = `${next}`;
  const oldLength = Buffer.byteLength(old);
  return digits.length < oldLength ? digits.padEnd(oldLength, ' ') : digits;
}

describe('the HTTP API against a model', () => {
  it('agrees with a Map on every sequence of writes, reads, deletes and increments', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        const app = createApp({ maxMemory: '8mb' });
        const model: Model = new Map();
        const url = (k: string, suffix = '') => `/v1/keys/${encodeURIComponent(k)}${suffix}`;
        for (const o of ops) {
          const current = model.get(o.key);
          if (o.kind === 'put') {
            const headers: Record<string, string> = { 'content-type': 'text/plain' };
            if (o.cond === 'add') headers['if-none-match'] = '*';
            if (o.cond === 'replace') headers['if-match'] = '*';
            if (o.cond === 'cas') headers['if-match'] = current?.etag ?? '"0"';
            if (o.cond === 'stale') headers['if-match'] = '"999999"';
            const res = await app.request(url(o.key), { method: 'PUT', body: o.value, headers });
            const allowed =
              o.cond === 'none' ||
              (o.cond === 'add' && !current) ||
              ((o.cond === 'replace' || o.cond === 'cas') && current !== undefined);
            expect(res.status).toBe(allowed ? 204 : 412);
            if (allowed) {
              const etag = res.headers.get('etag')!;
              expect(etag).not.toBe(current?.etag);
              model.set(o.key, { value: o.value, etag });
            }
          } else if (o.kind === 'get') {
            const res = await app.request(url(o.key));
            expect(res.status).toBe(current ? 200 : 404);
            if (current) {
              expect(await res.text()).toBe(current.value);
              expect(res.headers.get('etag')).toBe(current.etag);
            }
          } else if (o.kind === 'delete') {
            const res = await app.request(url(o.key), { method: 'DELETE' });
            expect(res.status).toBe(current ? 204 : 404);
            model.delete(o.key);
          } else {
            const res = await app.request(url(o.key, `/incr?delta=${o.delta}`), { method: 'POST' });
            if (!current) expect(res.status).toBe(404);
            else {
              const count = counterOf(current.value);
              if (count === undefined) expect(res.status).toBe(400);
              else {
                const next = Math.max(0, count + o.delta);
                expect(res.status).toBe(200);
                expect(await res.json()).toBe(next);
                const etag = (await app.request(url(o.key))).headers.get('etag')!;
                model.set(o.key, { value: storedCount(next, current.value), etag });
              }
            }
          }
        }
        const stats = (await (await app.request('/v1/stats')).json()) as { items: number };
        expect(stats.items).toBe(model.size);
      }),
      { numRuns: 60 },
    );
  });
});
