import { describe, expect, it } from 'vitest';
import { tlsOption } from './tls-options.js';

const NOT_PEM = '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n';

describe('tlsOption', () => {
  it('is undefined when not given', () => {
    expect(tlsOption(undefined)).toBeUndefined();
  });

  it('keeps the known fields, copied', () => {
    const given = { servername: 'cache.internal', rejectUnauthorized: false };
    const resolved = tlsOption(given);
    expect(resolved).toStrictEqual(given);
    expect(resolved).not.toBe(given);
  });

  const bad: [string, unknown, RegExp][] = [
    ['an array', [], /"tls" must be an object, got array/],
    ['null', null, /"tls" must be an object, got null/],
    ['a misspelt field', { rejectUnauthorised: false }, /unknown field "rejectUnauthorised"/],
    ['ca a number', { ca: 42 }, /"tls\.ca" must be a PEM string, a Buffer or an array/],
    ['ca an empty array', { ca: [] }, /"tls\.ca"/],
    ['cert an array holding a number', { cert: ['x', 1], key: 'k' }, /"tls\.cert"/],
    ['key an object', { cert: 'c', key: {} }, /"tls\.key" must be a PEM string/],
    ['cert without key', { cert: 'c' }, /needs both "cert" and "key"/],
    ['key without cert', { key: 'k' }, /needs both "cert" and "key"/],
    ['servername empty', { servername: '' }, /"tls\.servername" must be a non-empty string/],
    ['rejectUnauthorized a string', { rejectUnauthorized: 'no' }, /"tls\.rejectUnauthorized"/],
    ['cert not parseable PEM', { cert: NOT_PEM, key: NOT_PEM }, /option "tls": .*PEM/],
  ];

  it.each(bad)('%s → TypeError', (_name, tls, message) => {
    expect(() => tlsOption(tls)).toThrow(TypeError);
    expect(() => tlsOption(tls)).toThrow(message);
  });
});
