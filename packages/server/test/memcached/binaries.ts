import { execFileSync } from 'node:child_process';

/**
 * Path of a tool from Debian's memcached / libmemcached-tools packages. A missing tool fails the
 * test file loudly (CI installs them: `apt-get install memcached libmemcached-tools`).
 */
export function requireBinary(name: string): string {
  try {
    return execFileSync('which', [name], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(
      `${name} is not installed: run \`apt-get install memcached libmemcached-tools\` (CI installs them)`,
    );
  }
}
