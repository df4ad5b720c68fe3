import { describe, expect, it } from 'vitest';
import { readConditions, readPrecondition } from '../src/http/conditional-read.js';
import { HttpError } from '../src/errors/http-error.js';

/** The precondition of a read of an entry at `version` with these headers. */
function decide(headers: { ifMatch?: string; ifNoneMatch?: string }, version: number): string {
  const conditions = readConditions(headers.ifMatch, headers.ifNoneMatch);
  return conditions === undefined ? 'no conditions' : readPrecondition(conditions, version);
}

describe('readConditions / readPrecondition', () => {
  it('is undefined when neither header is sent', () => {
    expect(readConditions(undefined, undefined)).toBeUndefined();
  });

  it('If-None-Match: a weak or strong match anywhere in the list is a 304', () => {
    expect(decide({ ifNoneMatch: '"7"' }, 7)).toBe('not_modified');
    expect(decide({ ifNoneMatch: 'W/"7"' }, 7)).toBe('not_modified');
    expect(decide({ ifNoneMatch: '"1", W/"7" ,"9"' }, 7)).toBe('not_modified');
    expect(decide({ ifNoneMatch: '"1",,  "7",' }, 7)).toBe('not_modified');
    expect(decide({ ifNoneMatch: '*' }, 7)).toBe('not_modified');
  });

  it('If-None-Match: no match serves the read', () => {
    expect(decide({ ifNoneMatch: '"8"' }, 7)).toBe('serve');
    expect(decide({ ifNoneMatch: '"77"' }, 7)).toBe('serve');
  });

  it('If-Match: only a strong match holds', () => {
    expect(decide({ ifMatch: '"7"' }, 7)).toBe('serve');
    expect(decide({ ifMatch: '"3", "7"' }, 7)).toBe('serve');
    expect(decide({ ifMatch: '*' }, 7)).toBe('serve');
    expect(decide({ ifMatch: 'W/"7"' }, 7)).toBe('failed');
    expect(decide({ ifMatch: '"8"' }, 7)).toBe('failed');
  });

  it('evaluates If-Match before If-None-Match (RFC 9110 §13.2.2)', () => {
    expect(decide({ ifMatch: '"8"', ifNoneMatch: '"7"' }, 7)).toBe('failed');
    expect(decide({ ifMatch: '"7"', ifNoneMatch: '"7"' }, 7)).toBe('not_modified');
    expect(decide({ ifMatch: '"7"', ifNoneMatch: '"8"' }, 7)).toBe('serve');
  });

  it('refuses a malformed header with a 400 bad_condition', () => {
    for (const bad of ['7', '"7" "8"', 'W/7', '"7', '', ' , ', '"a"b', 'w/"7"', '"\u0000"']) {
      for (const headers of [{ ifMatch: bad }, { ifNoneMatch: bad }]) {
        let thrown: unknown;
        try {
          readConditions(headers.ifMatch, headers.ifNoneMatch);
        } catch (error) {
          thrown = error;
        }
        expect(thrown, JSON.stringify(headers)).toBeInstanceOf(HttpError);
        expect((thrown as HttpError).status).toBe(400);
        expect((thrown as HttpError).code).toBe('bad_condition');
      }
    }
  });
});
