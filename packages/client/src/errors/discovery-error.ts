import { DcacheError } from './dcache-error.js';

/**
 * A DNS lookup of the cluster's nodes failed (`code` 'ESERVFAIL', 'ETIMEOUT', 'ECONNREFUSED', …),
 * found no node ('ENODATA', 'ENOTFOUND', or records without addresses), or found other nodes that
 * a second lookup at once did not confirm ('EFLAPPED'). The client keeps the last nodes it found;
 * before it has found any, calls reject with this error.
 */
export class DiscoveryError extends DcacheError {
  /** The discovery URL (the `nodes` given). */
  readonly url: string;
  /** The DNS name whose lookup failed (`name` is the error class's, as for every Error). */
  readonly dnsName: string;
  /** The resolver's error code, e.g. 'ESERVFAIL'; 'ENODATA' for an empty answer. */
  readonly code: string;
  /** True when the answer was empty (no record, or no such name) rather than an error. */
  readonly empty: boolean;

  constructor(url: string, dnsName: string, code: string, options?: ErrorOptions) {
    const empty = EMPTY_CODES.has(code);
    const what = empty
      ? 'found no node'
      : code === 'EFLAPPED'
        ? 'gave another node list when asked again at once'
        : 'failed';
    super(`DNS discovery of ${url}: looking up ${dnsName} ${what} (${code})`, options);
    this.name = 'DiscoveryError';
    this.url = url;
    this.dnsName = dnsName;
    this.code = code;
    this.empty = empty;
  }
}

/** The resolver's codes for "no such record": an empty answer, not a broken resolver. */
const EMPTY_CODES: ReadonlySet<string> = new Set(['ENODATA', 'ENOTFOUND']);

export function isDiscoveryError(error: unknown): error is DiscoveryError {
  return (
    error instanceof DiscoveryError || (error instanceof Error && error.name === 'DiscoveryError')
  );
}
