import { isIP } from 'node:net';
import { isLoopback } from '../memcached/exposure.js';

/**
 * Domains whose names no one can register in public DNS (RFC 6761 `.localhost` and `.test`, RFC
 * 6762 `.local` with Kubernetes' `cluster.local`, RFC 8375 `.home.arpa`, ICANN's private-use
 * `.internal`), so an attacker's page can only get one pointed at this machine through its own
 * resolver: they reach a node on loopback as legitimately as `localhost` does (a test cluster's
 * `dcache-0.dcache.test`).
 */
const RESERVED_DOMAINS = ['.localhost', '.test', '.local', '.home.arpa', '.internal'];

/** Host values remembered; bounded so a client cannot grow the map. */
const MAX_REMEMBERED_HOSTS = 64;

/** A name as `allowedHosts` takes it: labels of letters, digits, `-` and `_`; `.` first for a domain. */
const ALLOWED_NAME = /^\.?[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;

/**
 * Validates `allowedHosts` (ServerOptions): names lower-cased, `*` for any. Throws a
 * TypeError/RangeError naming the entry.
 */
export function allowedHostsOption(value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    throw new TypeError(
      'allowedHosts must be an array of host names (".example.com" for a domain)',
    );
  }
  return value.map((entry: unknown, i) => {
    if (typeof entry !== 'string') {
      throw new TypeError(`allowedHosts[${i}] must be a string, got ${typeof entry}`);
    }
    const name = entry.toLowerCase().replace(/\.$/, '');
    if (name !== '*' && !ALLOWED_NAME.test(name)) {
      throw new RangeError(
        `allowedHosts[${i}] must be a host name without scheme or port ("cache.internal", ".example.com" for a domain and its subdomains, or "*"), got ${JSON.stringify(entry)}`,
      );
    }
    return name;
  });
}

/**
 * Which `Host` names the node answers, against DNS rebinding: a web page whose own name its
 * attacker re-points at 127.0.0.1 reads, as the same origin, whatever a node on this machine
 * answers it — every key of a node without a token. A page's name reaches the node as `Host`,
 * so a node listening on loopback alone answers only names no page's attacker can own: IP
 * addresses, `localhost`, and names under the special-use domains no one can register publicly
 * (RESERVED_DOMAINS), plus `allowedHosts`. Beyond loopback the names are
 * the cluster's own (Service and pod names), unknown here: checked only when `allowedHosts` lists
 * them. `*` serves any name. A missing or malformed Host is not this check's: the HTTP adapter
 * answers it 400.
 */
export class ServedHosts {
  readonly #allowed: readonly string[];
  readonly #any: boolean;
  readonly #listed: boolean;
  #checking: boolean;
  readonly #answers = new Map<string, boolean>();

  constructor(allowed: readonly string[] | undefined) {
    this.#allowed = allowed ?? [];
    this.#any = this.#allowed.includes('*');
    this.#listed = allowed !== undefined;
    // An app served by another runtime does not know its address: it checks what it was given.
    this.#checking = this.#listed && !this.#any;
  }

  /** The address the node's HTTP listener bound (CacheServer.listen). */
  listeningOn(address: string): void {
    this.#checking = !this.#any && (this.#listed || isLoopback(address));
    this.#answers.clear();
  }

  /** Whether a request with this `Host` value is answered (false: 403 `host_refused`). */
  serves(host: string | undefined): boolean {
    if (!this.#checking || host === undefined) return true;
    let answer = this.#answers.get(host);
    if (answer === undefined) {
      answer = this.#decide(host);
      if (this.#answers.size < MAX_REMEMBERED_HOSTS) this.#answers.set(host, answer);
    }
    return answer;
  }

  /** The refusal's message, naming what would serve `host`. */
  refusal(host: string): string {
    const name = hostnameOf(host) ?? host;
    return `this node answers IP addresses, localhost, names under ${RESERVED_DOMAINS.join(' ')}${this.#listed ? ` and ${this.#allowed.join(', ')}` : ''}, not ${JSON.stringify(name)} (a web page's name pointed at this node: DNS rebinding); to serve it, add it to --allowed-hosts (allowedHosts)`;
  }

  #decide(host: string): boolean {
    const name = hostnameOf(host);
    if (name === undefined) return true;
    if (isIP(name) !== 0 || name === 'localhost') return true;
    if (RESERVED_DOMAINS.some((domain) => name.endsWith(domain))) return true;
    return this.#allowed.some(
      (allowed) =>
        allowed === name ||
        (allowed.startsWith('.') && (name.endsWith(allowed) || name === allowed.slice(1))),
    );
  }
}

/** The name in a Host value, lower-cased, without port, brackets or final dot; undefined if none. */
function hostnameOf(host: string): string | undefined {
  let hostname: string;
  try {
    hostname = new URL(`http://${host}/`).hostname;
  } catch {
    return undefined;
  }
  if (hostname.startsWith('[') && hostname.endsWith(']')) return hostname.slice(1, -1);
  return hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
}
