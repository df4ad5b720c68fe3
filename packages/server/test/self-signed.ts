import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** Where {@link makeSelfSignedPair} wrote the PEM files. */
export interface SelfSignedPair {
  certFile: string;
  keyFile: string;
}

/**
 * Writes a throwaway self-signed EC pair for 127.0.0.1 and localhost into `dir` (`cert.pem`,
 * `key.pem`), made by the machine's openssl; valid for a day.
 */
export function makeSelfSignedPair(dir: string): SelfSignedPair {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
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
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  return { certFile, keyFile };
}
