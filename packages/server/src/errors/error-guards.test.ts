import { describe, expect, it } from 'vitest';
import {
  DcacheServerError,
  HttpError,
  SnapshotError,
  UsageError,
  isDcacheServerError,
  isHttpError,
  isSnapshotError,
  isUsageError,
} from '../index.js';

/** An error as another copy of this package makes it: same name, another class. */
function lookAlike(name: string): Error {
  const error = new Error('from another copy of @dcache/server');
  error.name = name;
  return error;
}

describe('error guards', () => {
  it('recognise their own classes and subclasses', () => {
    const errors = [
      new DcacheServerError('x'),
      new HttpError(400, 'bad', 'x'),
      new SnapshotError('/tmp/x', 'x'),
      new UsageError('--port', 'x'),
    ];
    for (const error of errors) expect(isDcacheServerError(error)).toBe(true);
    expect(isHttpError(errors[1])).toBe(true);
    expect(isSnapshotError(errors[2])).toBe(true);
    expect(isUsageError(errors[3])).toBe(true);
  });

  it('recognise look-alikes from another copy of the package by name, the base guard too', () => {
    for (const name of ['DcacheServerError', 'HttpError', 'SnapshotError', 'UsageError']) {
      expect(isDcacheServerError(lookAlike(name))).toBe(true);
    }
    expect(isHttpError(lookAlike('HttpError'))).toBe(true);
    expect(isSnapshotError(lookAlike('SnapshotError'))).toBe(true);
    expect(isUsageError(lookAlike('UsageError'))).toBe(true);
  });

  it('refuse other errors and non-errors', () => {
    for (const value of [
      new Error('x'),
      new TypeError('x'),
      lookAlike('DcacheError'),
      'HttpError',
    ]) {
      expect(isDcacheServerError(value)).toBe(false);
    }
    expect(isHttpError({ name: 'HttpError' })).toBe(false);
  });
});
