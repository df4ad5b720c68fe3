import { createSecureContext } from 'node:tls';

/** A certificate and its private key, as PEM text or bytes: what the node's TLS ports serve with. */
export interface TlsPair {
  cert: string | Buffer;
  key: string | Buffer;
}

function pem(name: string, value: unknown): string | Buffer {
  if ((typeof value === 'string' || Buffer.isBuffer(value)) && value.length > 0) return value;
  throw new TypeError(`${name} must be a non-empty PEM string or Buffer`);
}

/**
 * Checks a `tls` option now, so a bad pair is an option error (CLI exit 2), not a failure to
 * listen later or a handshake failing on every connection. `prefix` names the caller in messages
 * (`'memcached listener: '`). Returns a copy holding the two fields only.
 */
export function tlsPair(tls: unknown, prefix = ''): TlsPair {
  if (typeof tls !== 'object' || tls === null) {
    throw new TypeError(`${prefix}tls must be an object { cert, key }`);
  }
  // Only these two reach the server: another field dropped silently (`requestCert` and `ca` for
  // mutual TLS, `minVersion`) would leave the port less strict than its operator asked.
  for (const field of Object.keys(tls)) {
    if (field !== 'cert' && field !== 'key') {
      throw new TypeError(
        `${prefix}unknown option "tls.${field}" (tls takes cert and key only; the node asks for no client certificate)`,
      );
    }
  }
  const given = tls as { cert?: unknown; key?: unknown };
  const pair = {
    cert: pem(`${prefix}tls.cert`, given.cert),
    key: pem(`${prefix}tls.key`, given.key),
  };
  try {
    createSecureContext(pair);
  } catch (error) {
    throw new RangeError(
      `${prefix}tls.cert and tls.key must be a PEM certificate and its private key: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return pair;
}
