// The `nodes` string that asks for DNS discovery instead of a fixed list of node URLs.

/** How the node list is read from DNS, and how its nodes are spoken to. */
export interface DiscoveryTarget {
  /** The URL as given, for messages and stats. */
  href: string;
  /** 'srv': SRV records give each node's host and port; 'address': A/AAAA records, one port. */
  records: 'srv' | 'address';
  /** `https:` nodes (`dns+srvs:`, `dnss:`) or `http:` ones. */
  protocol: 'http:' | 'https:';
  /** The name looked up, e.g. `_http._tcp.dcache.default.svc.cluster.local`. */
  name: string;
  /** The nodes' port, for 'address' records (SRV records carry their own). */
  port: number | undefined;
}

const SCHEMES: Readonly<Record<string, Pick<DiscoveryTarget, 'records' | 'protocol'>>> = {
  'dns+srv:': { records: 'srv', protocol: 'http:' },
  'dns+srvs:': { records: 'srv', protocol: 'https:' },
  'dns:': { records: 'address', protocol: 'http:' },
  'dnss:': { records: 'address', protocol: 'https:' },
};

export const DISCOVERY_SCHEMES = 'dns+srv://, dns+srvs://, dns://host:port or dnss://host:port';

/**
 * A URL's user and password: from after its scheme (and slashes) to the last `@` of the value. The
 * URL parser skips leading spaces and control characters, and tabs and newlines anywhere (a list
 * split on ", " still parses), so the scheme may have them. And to the value's last `@`, not the
 * authority's: a password with an unencoded `#`, `?` or `/` ends the authority early, and the URL
 * then does not parse, its credentials past where a parsed URL's would end.
 */
// eslint-disable-next-line no-control-regex -- the C0 characters the URL parser skips, on purpose
const USERINFO = /^([\x00-\x20]*[a-z][a-z0-9+.\t\n\r-]*:[\\/\t\n\r]*)[\s\S]*@/i;

/**
 * `value` with the user and password of the URL it holds replaced by `***`, for an error message:
 * one refusing credentials in a URL must not carry them into the logs that show it.
 */
export function withoutCredentials(value: string): string {
  return value.replace(USERINFO, '$1***@');
}

/** A DNS name as a resolver takes it: dot-separated labels of 1–63 characters, 253 in all. */
const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/i;

/**
 * The discovery URL `nodes` holds; throws a TypeError naming `nodes` and the value for anything
 * that is not one of the four forms (a bare http URL included: a fixed list is an array).
 */
export function parseDiscoveryUrl(value: string): DiscoveryTarget {
  const shown = JSON.stringify(withoutCredentials(value));
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(value)?.[0].toLowerCase();
  const kind = scheme === undefined ? undefined : SCHEMES[scheme];
  if (kind === undefined) {
    throw new TypeError(
      `nodes must be an array of base URLs or a discovery URL (${DISCOVERY_SCHEMES}), got ${shown}`,
    );
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`nodes is not a valid discovery URL: ${shown}`);
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new TypeError(`nodes: a discovery URL has no query, fragment or credentials: ${shown}`);
  }
  if (url.pathname !== '' && url.pathname !== '/') {
    throw new TypeError(`nodes: a discovery URL has no path, got ${shown}`);
  }
  // Not a special scheme: URL leaves the host's case alone, and DNS names are case-insensitive.
  const name = url.hostname.replace(/\.$/, '').toLowerCase();
  if (name.length > 253 || !name.split('.').every((label) => LABEL.test(label))) {
    throw new TypeError(`nodes: ${JSON.stringify(url.hostname)} is not a DNS name in ${shown}`);
  }
  if (kind.records === 'srv') {
    if (url.port !== '') {
      throw new TypeError(`nodes: SRV records carry the port; ${shown} must not give one`);
    }
    return { href: value, ...kind, name, port: undefined };
  }
  if (url.port === '') {
    throw new TypeError(
      `nodes: ${scheme}// needs the nodes' port (${scheme}//host:port), got ${shown}`,
    );
  }
  return { href: value, ...kind, name, port: Number(url.port) };
}
