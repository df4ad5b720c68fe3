// One DNS lookup of the cluster's nodes: SRV or A/AAAA records to a sorted list of members.
import { isIP } from 'node:net';
import type { DiscoveryTarget } from './discovery-url.js';
import { DiscoveryError } from './errors/discovery-error.js';
import { normaliseNode } from './options.js';

/**
 * Most nodes a lookup may name. A DNS answer over TCP holds up to 64 KiB — a few thousand records —
 * and each node costs a connection pool and `vnodes` ring points: an answer naming more is refused
 * (code 'ETOOMANY') and the last good nodes kept, rather than let a wrong record set swell the ring.
 */
export const MAX_MEMBERS = 1024;
const TOO_MANY = 'ETOOMANY';

/** A node found in DNS. */
export interface Member {
  /**
   * Its identity and base URL, the ring's key: the SRV target name and port
   * (`http://dcache-0.dcache.default.svc.cluster.local:8001`), or the address and port for A/AAAA
   * records. An SRV target keeps its name across pod restarts, so its keys stay put.
   */
  url: string;
  /** The host in `url` (an SRV target name, or an address). */
  host: string;
  /** The address to connect to (for an address host, the host itself). */
  address: string;
  family: 4 | 6;
}

/** The part of `dns.promises.Resolver` a lookup uses. */
export interface RecordLookup {
  resolveSrv(name: string): Promise<{ name: string; port: number }[]>;
  resolve4(name: string): Promise<string[]>;
  resolve6(name: string): Promise<string[]>;
}

/**
 * The members `target` names now, sorted by URL and without duplicates, so every client that sees
 * the same records builds the same ring whatever order the answer listed them in. Rejects with a
 * DiscoveryError when a lookup fails or finds nothing (no records, or an SRV target without
 * addresses): a partial answer must not shrink the ring.
 */
export async function lookupMembers(
  resolver: RecordLookup,
  target: DiscoveryTarget,
): Promise<Member[]> {
  const fail = (name: string, error: unknown): DiscoveryError =>
    new DiscoveryError(target.href, name, codeOf(error), { cause: error });
  const endpoints: { host: string; port: number }[] = [];
  if (target.records === 'srv') {
    let records;
    try {
      records = await resolver.resolveSrv(target.name);
    } catch (error) {
      throw fail(target.name, error);
    }
    for (const { name, port } of records) endpoints.push({ host: name, port });
  } else {
    for (const { address } of await addressesOf(resolver, target.name, fail)) {
      endpoints.push({ host: address, port: target.port! });
    }
  }
  if (endpoints.length === 0) {
    throw fail(target.name, Object.assign(new Error('no records'), { code: 'ENODATA' }));
  }
  // Before the address lookups: those would be one query per record.
  if (endpoints.length > MAX_MEMBERS) {
    const error = new Error(`${endpoints.length} records, more than ${MAX_MEMBERS}`);
    throw fail(target.name, Object.assign(error, { code: TOO_MANY }));
  }

  const members = await Promise.all(
    endpoints.map(async ({ host, port }): Promise<Member> => {
      const literal = isIP(host);
      const [first] =
        literal === 0
          ? await addressesOf(resolver, host, fail)
          : [{ address: host, family: literal as 4 | 6 }];
      const hostInUrl = first!.family === 6 && literal !== 0 ? `[${host}]` : host;
      const url = normaliseNode(`${target.protocol}//${hostInUrl}:${port}`, 'a discovered node');
      return {
        url,
        host: new URL(url).hostname.replace(/^\[|\]$/g, ''),
        address: first!.address,
        family: first!.family,
      };
    }),
  );
  const byUrl = new Map(members.map((member) => [member.url, member]));
  return [...byUrl.values()].sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
}

/**
 * A name's addresses, sorted: its A records, or when it has none its AAAA records (a dual-stack
 * node is one node, reached over IPv4). Rejects when it has neither.
 */
async function addressesOf(
  resolver: RecordLookup,
  name: string,
  fail: (name: string, error: unknown) => DiscoveryError,
): Promise<{ address: string; family: 4 | 6 }[]> {
  let found: { address: string; family: 4 | 6 }[];
  try {
    found = (await resolver.resolve4(name)).map((address) => ({ address, family: 4 }));
  } catch (error) {
    if (!isNoData(error)) throw fail(name, error);
    try {
      found = (await resolver.resolve6(name)).map((address) => ({ address, family: 6 }));
    } catch (error6) {
      throw fail(name, error6);
    }
  }
  if (found.length === 0)
    throw fail(name, Object.assign(new Error('no addresses'), { code: 'ENODATA' }));
  return found.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

/** No record of this type (the name may have others): try the other address family. */
function isNoData(error: unknown): boolean {
  const code = codeOf(error);
  return code === 'ENODATA' || code === 'ENOTFOUND';
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : 'EUNKNOWN';
}
