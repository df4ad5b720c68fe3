import { HttpError } from '../errors/http-error.js';

/** What a read's `If-Match` / `If-None-Match` decide: serve it, answer 304, or answer 412. */
export type ReadPrecondition = 'serve' | 'not_modified' | 'failed';

/** One entity-tag of a list: its opaque text and whether it was sent weak (`W/"…"`). */
export interface EntityTag {
  readonly weak: boolean;
  readonly opaque: string;
}

/** `[W/]"<etagc>*"` then a comma or the end, with optional whitespace (RFC 9110 §8.8.3). */
const LIST_ELEMENT = /[ \t]*(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"[ \t]*(?:,|$)/y;
/** An empty list element (`"a", , "b"`), which a recipient must accept and ignore (§5.6.1.2). */
const EMPTY_ELEMENT = /[ \t]*,/y;

/** An `If-Match`/`If-None-Match` value: `*`, or its entity-tags; 400 when it is neither. */
export function entityTags(header: 'If-Match' | 'If-None-Match', value: string): '*' | EntityTag[] {
  if (value.trim() === '*') return '*';
  const tags: EntityTag[] = [];
  let at = 0;
  while (at < value.length) {
    EMPTY_ELEMENT.lastIndex = at;
    if (EMPTY_ELEMENT.test(value)) {
      at = EMPTY_ELEMENT.lastIndex;
      continue;
    }
    LIST_ELEMENT.lastIndex = at;
    const element = LIST_ELEMENT.exec(value);
    if (element === null) {
      if (value.slice(at).trim() === '') break;
      throw new HttpError(
        400,
        'bad_condition',
        `${header} must be "*" or a list of ETags such as "42", W/"42"`,
      );
    }
    tags.push({ weak: element[1] !== undefined, opaque: element[2]! });
    at = LIST_ELEMENT.lastIndex;
  }
  if (tags.length === 0) {
    throw new HttpError(400, 'bad_condition', `${header} is empty: send "*" or an ETag`);
  }
  return tags;
}

/** A read's parsed `If-Match` / `If-None-Match` (at least one of them sent). */
export interface ReadConditions {
  readonly ifMatch: '*' | EntityTag[] | undefined;
  readonly ifNoneMatch: '*' | EntityTag[] | undefined;
}

/** The headers parsed before the read (a malformed one is a 400); undefined when neither is sent. */
export function readConditions(
  ifMatch: string | undefined,
  ifNoneMatch: string | undefined,
): ReadConditions | undefined {
  if (ifMatch === undefined && ifNoneMatch === undefined) return undefined;
  return {
    ifMatch: ifMatch === undefined ? undefined : entityTags('If-Match', ifMatch),
    ifNoneMatch: ifNoneMatch === undefined ? undefined : entityTags('If-None-Match', ifNoneMatch),
  };
}

/**
 * A GET's or HEAD's preconditions against the stored entry's version (its ETag is `"<version>"`,
 * strong), in RFC 9110 §13.2.2's order: `If-Match` first, by strong comparison (a failure is a
 * 412), then `If-None-Match`, by weak comparison (a match is a 304: the caller's copy is current).
 * Only for an entry that is there: a miss is a 404 whatever they say (§13.2.1).
 */
export function readPrecondition(conditions: ReadConditions, version: number): ReadPrecondition {
  const current = `${version}`;
  const { ifMatch, ifNoneMatch } = conditions;
  if (ifMatch !== undefined) {
    const holds = ifMatch === '*' || ifMatch.some((tag) => !tag.weak && tag.opaque === current);
    if (!holds) return 'failed';
  }
  if (ifNoneMatch !== undefined) {
    const matches = ifNoneMatch === '*' || ifNoneMatch.some((tag) => tag.opaque === current);
    if (matches) return 'not_modified';
  }
  return 'serve';
}

/** The 412 of a read whose `If-Match` failed. */
export function readPreconditionFailed(): HttpError {
  return new HttpError(412, 'precondition_failed', "the key's ETag is not one that If-Match names");
}
