// The `tls` option: what the connection pool hands to `tls.connect` for `https:` nodes.
import { createSecureContext } from 'node:tls';

/** PEM text or its bytes, or several of them, as `node:tls` takes them. */
export type PemInput = string | Buffer | (string | Buffer)[];

export interface TlsOptions {
  /** CA certificate(s) to trust instead of Node's CA store (a private CA, a self-signed node). */
  ca?: PemInput;
  /** Client certificate chain, for mutual TLS; needs `key`. */
  cert?: PemInput;
  /** The private key of `cert`. */
  key?: PemInput;
  /** The name the node's certificate must carry (SNI too), when it differs from the URL's host. */
  servername?: string;
  /**
   * false accepts any certificate: the connection is encrypted but not authenticated.
   * @default true
   */
  rejectUnauthorized?: boolean;
}

const PEM_FIELDS = ['ca', 'cert', 'key'] as const;
const FIELDS: ReadonlySet<string> = new Set([...PEM_FIELDS, 'servername', 'rejectUnauthorized']);

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

function isPem(value: unknown): boolean {
  return typeof value === 'string' || Buffer.isBuffer(value);
}

/**
 * Checks the shape (a TypeError naming the field) and that `cert` and `key` parse and match —
 * here, once, rather than as the same handshake failure on every request (Node skips a `ca` it
 * cannot parse, so a bad one shows up as a verification failure instead). Returns a copy, so that
 * changing the caller's object later changes nothing.
 */
export function tlsOption(tls: unknown): TlsOptions | undefined {
  if (tls === undefined) return undefined;
  if (typeof tls !== 'object' || tls === null || Array.isArray(tls)) {
    throw new TypeError(`option "tls" must be an object, got ${describe(tls)}`);
  }
  const given = tls as Record<string, unknown>;
  // A misspelt field (rejectUnauthorised) silently ignored would change what is verified.
  for (const field of Object.keys(given)) {
    if (!FIELDS.has(field)) {
      throw new TypeError(
        `option "tls" has an unknown field "${field}" (known: ${[...FIELDS].join(', ')})`,
      );
    }
  }
  const resolved: TlsOptions = {};
  for (const field of PEM_FIELDS) {
    const value = given[field];
    if (value === undefined) continue;
    if (!(isPem(value) || (Array.isArray(value) && value.length > 0 && value.every(isPem)))) {
      throw new TypeError(
        `option "tls.${field}" must be a PEM string, a Buffer or an array of them, got ${describe(value)}`,
      );
    }
    resolved[field] = Array.isArray(value)
      ? [...(value as (string | Buffer)[])]
      : (value as PemInput);
  }
  if ((resolved.cert === undefined) !== (resolved.key === undefined)) {
    throw new TypeError('option "tls" needs both "cert" and "key" for a client certificate');
  }
  const { servername, rejectUnauthorized } = given;
  if (servername !== undefined) {
    if (typeof servername !== 'string' || servername === '') {
      throw new TypeError(`option "tls.servername" must be a non-empty string`);
    }
    resolved.servername = servername;
  }
  if (rejectUnauthorized !== undefined) {
    if (typeof rejectUnauthorized !== 'boolean') {
      throw new TypeError(
        `option "tls.rejectUnauthorized" must be a boolean, got ${describe(rejectUnauthorized)}`,
      );
    }
    resolved.rejectUnauthorized = rejectUnauthorized;
  }
  try {
    createSecureContext({ ca: resolved.ca, cert: resolved.cert, key: resolved.key });
  } catch (error) {
    throw new TypeError(`option "tls": ${(error as Error).message}`, { cause: error });
  }
  return resolved;
}
