import { describe, expect, it } from 'vitest';
import {
  CacheUnavailableError,
  isCacheUnavailableError,
} from './errors/cache-unavailable-error.js';
import { DcacheError, isDcacheError } from './errors/dcache-error.js';
import { FlushIncompleteError, isFlushIncompleteError } from './errors/flush-incomplete-error.js';
import { NodeRequestError, isNodeRequestError } from './errors/node-request-error.js';
import { NodeTimeoutError, isNodeTimeoutError } from './errors/node-timeout-error.js';
import {
  OperationRejectedError,
  isOperationRejectedError,
} from './errors/operation-rejected-error.js';

describe('error classes', () => {
  const timeout = new NodeTimeoutError('http://a:1', 250);
  const request = new NodeRequestError('http://b:2', 'HTTP 503', {
    status: 503,
    code: 'unavailable',
  });
  const rejected = new OperationRejectedError('http://a:1', 'k', 413, 'too_large', 'too big');
  const unavailable = new CacheUnavailableError(
    'k',
    ['http://a:1', 'http://b:2'],
    [timeout, request],
  );
  const incomplete = new FlushIncompleteError(['http://b:2'], [request], ['http://a:1']);

  it('set name and carry their context', () => {
    expect(timeout).toMatchObject({ name: 'NodeTimeoutError', node: 'http://a:1', timeout: 250 });
    expect(request).toMatchObject({ name: 'NodeRequestError', status: 503, code: 'unavailable' });
    expect(rejected).toMatchObject({
      name: 'OperationRejectedError',
      key: 'k',
      status: 413,
      code: 'too_large',
    });
    expect(unavailable).toMatchObject({
      name: 'CacheUnavailableError',
      key: 'k',
      nodes: ['http://a:1', 'http://b:2'],
    });
    expect(unavailable.errors).toStrictEqual([timeout, request]);
    expect(unavailable.cause).toBe(timeout);
    expect(unavailable.message).toContain('http://a:1, http://b:2');
    expect(unavailable.message).toContain('no answer within 250 ms');
    expect(incomplete).toMatchObject({
      name: 'FlushIncompleteError',
      nodes: ['http://b:2'],
      flushed: ['http://a:1'],
    });
    expect(incomplete.errors).toStrictEqual([request]);
    expect(incomplete.cause).toBe(request);
    expect(incomplete.message).toBe(
      'flush emptied 1 of 2 nodes; not http://b:2: http://b:2: HTTP 503',
    );
  });

  it('guards recognise their class, subclasses, and look-alikes from another realm by name', () => {
    expect(isNodeRequestError(timeout)).toBe(true);
    expect(isNodeTimeoutError(request)).toBe(false);
    expect(isOperationRejectedError(rejected)).toBe(true);
    expect(isCacheUnavailableError(unavailable)).toBe(true);
    expect(isCacheUnavailableError(rejected)).toBe(false);
    expect(isFlushIncompleteError(incomplete)).toBe(true);
    expect(isFlushIncompleteError(unavailable)).toBe(false);
    for (const error of [timeout, request, rejected, unavailable, incomplete]) {
      expect(error).toBeInstanceOf(DcacheError);
      expect(isDcacheError(error)).toBe(true);
    }
    const foreign = Object.assign(new Error('x'), { name: 'CacheUnavailableError' });
    expect(isCacheUnavailableError(foreign)).toBe(true);
    expect(isDcacheError(foreign)).toBe(true);
    const foreignFlush = Object.assign(new Error('x'), { name: 'FlushIncompleteError' });
    expect(isFlushIncompleteError(foreignFlush)).toBe(true);
    expect(isDcacheError(foreignFlush)).toBe(true);
    expect(isDcacheError(new TypeError('x'))).toBe(false);
    expect(isDcacheError('CacheUnavailableError')).toBe(false);
  });
});
