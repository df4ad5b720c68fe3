// Throwaway self-signed certificates for TLS tests, made by the machine's openssl as
// @dcache/server's own TLS tests do.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertificatePair {
  cert: Buffer;
  key: Buffer;
}

/** A self-signed EC certificate and its key, valid one day for `subjectAltName` (e.g. `IP:127.0.0.1`). */
export function selfSigned(commonName: string, subjectAltName: string): CertificatePair {
  const dir = mkdtempSync(join(tmpdir(), 'dcache-client-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        `/CN=${commonName}`,
        '-addext',
        `subjectAltName=${subjectAltName}`,
      ],
      { stdio: 'ignore' },
    );
    return { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
