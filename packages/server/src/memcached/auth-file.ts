import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** One `user:password` line of an auth file, kept only as digests. */
interface Credential {
  readonly user: Buffer;
  readonly password: Buffer;
}

/** Hashed so that every comparison is of 32 bytes, whatever the lengths involved. */
function digest(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}

/**
 * The users of memcached's ASCII authentication (`-Y <file>`): one `user:password` per line.
 * Passwords are never kept in the clear and never appear in an error message.
 */
export class MemcachedCredentials {
  readonly #entries: readonly Credential[];

  private constructor(entries: readonly Credential[]) {
    this.#entries = entries;
  }

  get size(): number {
    return this.#entries.length;
  }

  /**
   * Parses an auth file's text. Throws a RangeError naming `source` and the line (never its
   * password) for a line that is not `user:password` with neither part empty nor holding
   * whitespace (the client sends them space-separated, so such a password could never match).
   */
  static parse(text: string, source: string): MemcachedCredentials {
    const entries: Credential[] = [];
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.replace(/\r$/, '');
      if (line.length === 0) continue;
      const colon = line.indexOf(':');
      const user = colon === -1 ? line : line.slice(0, colon);
      const password = colon === -1 ? '' : line.slice(colon + 1);
      if (colon <= 0 || password.length === 0 || /\s/.test(user) || /\s/.test(password)) {
        throw new RangeError(
          `${source}: line ${i + 1} must be user:password (both non-empty, without spaces)`,
        );
      }
      entries.push({ user: digest(Buffer.from(user)), password: digest(Buffer.from(password)) });
    }
    if (entries.length === 0) {
      throw new RangeError(`${source}: holds no user:password line, so no client could log in`);
    }
    return new MemcachedCredentials(entries);
  }

  /** Reads and parses an auth file; throws a RangeError naming `source` when it cannot. */
  static read(path: string, source: string): MemcachedCredentials {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new RangeError(`${source}: cannot read ${path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return MemcachedCredentials.parse(text, source);
  }

  /** Whether the pair matches a line; takes the same time whichever user or part differs. */
  check(user: Uint8Array, password: Uint8Array): boolean {
    const u = digest(user);
    const p = digest(password);
    let ok = false;
    for (const entry of this.#entries) {
      // Both compared every time (`&` not `&&`): no early exit that timing could reveal.
      const match =
        Number(timingSafeEqual(u, entry.user)) & Number(timingSafeEqual(p, entry.password));
      ok = ok || match === 1;
    }
    return ok;
  }
}
