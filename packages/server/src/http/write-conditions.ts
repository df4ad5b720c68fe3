import { HttpError } from '../errors/http-error.js';
import type { WriteCondition } from '../operations/store.js';
import { entityTags } from './conditional-read.js';
import type { EntityTag } from './conditional-read.js';

/**
 * An `If-Match` or `If-None-Match` that is not `*` or one strong ETag: several ETags, weak ones,
 * or ones no version of ours has. Decided by {@link decideCondition} against the version the write
 * finds, in the same synchronous step as the write, so nothing can change in between.
 */
export interface TagCondition {
  readonly header: 'If-Match' | 'If-None-Match';
  /**
   * The versions the ETags name: If-Match's strong ones only (its comparison is strong, RFC 9110
   * §13.1.1), If-None-Match's all (weak comparison, §13.1.2). An ETag that names no version is in
   * neither: it cannot match.
   */
  readonly versions: readonly number[];
}

/** What a PUT's or DELETE's headers ask. */
export type RequestCondition = WriteCondition | TagCondition;

/**
 * The version an ETag's opaque text names (ours are `"<version>"`, in canonical decimal), or
 * undefined: `"007"` is not the ETag `"7"`, as a GET's comparison of the texts has it.
 */
function versionNamed(opaque: string): number | undefined {
  if (!/^(?:0|[1-9]\d{0,15})$/.test(opaque)) return undefined;
  const version = Number(opaque);
  return Number.isSafeInteger(version) ? version : undefined;
}

function versionsNamed(tags: readonly EntityTag[]): number[] {
  const versions: number[] = [];
  for (const tag of tags) {
    const version = versionNamed(tag.opaque);
    if (version !== undefined) versions.push(version);
  }
  return versions;
}

/**
 * `If-Match` / `If-None-Match` of a write: `If-None-Match: *` is an add, `If-Match: *` a replace,
 * `If-Match: "<version>"` a compare-and-set; any other list of ETags a {@link TagCondition}. A
 * value that is not `*` or a list of ETags is a 400, as is sending both headers.
 */
export function parseCondition(
  ifMatch: string | undefined,
  ifNoneMatch: string | undefined,
): RequestCondition {
  if (ifMatch !== undefined && ifNoneMatch !== undefined) {
    throw new HttpError(400, 'bad_condition', 'send If-Match or If-None-Match, not both');
  }
  if (ifNoneMatch !== undefined) {
    const tags = entityTags('If-None-Match', ifNoneMatch);
    if (tags === '*') return 'add';
    return { header: 'If-None-Match', versions: versionsNamed(tags) };
  }
  if (ifMatch === undefined) return null;
  const tags = entityTags('If-Match', ifMatch);
  if (tags === '*') return 'replace';
  const strong = versionsNamed(tags.filter((tag) => !tag.weak));
  if (tags.length === 1 && strong.length === 1) return strong[0]!;
  return { header: 'If-Match', versions: strong };
}

/**
 * The condition to write with. A {@link TagCondition} is decided against `current` (the version a
 * condition sees; undefined when absent), read only for such a condition, and fails with a 412.
 */
export function decideCondition(
  condition: RequestCondition,
  current: () => number | undefined,
): WriteCondition {
  if (condition === null || typeof condition !== 'object') return condition;
  const version = current();
  const named = version !== undefined && condition.versions.includes(version);
  if (condition.header === 'If-Match') {
    if (named) return version;
    throw new HttpError(
      412,
      'precondition_failed',
      version === undefined
        ? 'the key does not exist'
        : "the key's ETag is not one that If-Match names",
    );
  }
  if (named) {
    throw new HttpError(
      412,
      'precondition_failed',
      "the key's ETag is one that If-None-Match names",
    );
  }
  // If-None-Match naming no current ETag: the write goes ahead as a plain one, decided just now.
  return null;
}
