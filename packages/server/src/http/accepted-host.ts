/** Host values remembered per door; bounded so a client cannot grow the map. */
const MAX_REMEMBERED_HOSTS = 64;

/**
 * Whether @hono/node-server takes a request with this `Host`: it answers 400 to a missing or empty
 * one, and to one that does not survive URL parsing unchanged (`a b`, `x/y`, a port past 65535).
 * Every door that answers without it (the GET fast path, the batch fast path, the batch lane)
 * leaves such a request to it, so each door answers as the route does. One per door: the answers
 * are remembered, for the few Host values a node sees.
 */
export function acceptedHost(): (host: string | undefined) => boolean {
  const hosts = new Map<string, boolean>();
  return (host) => {
    if (host === undefined || host === '') return false;
    let accepted = hosts.get(host);
    if (accepted === undefined) {
      try {
        const { hostname } = new URL(`http://${host}/`);
        accepted = hostname.length === host.length || hostname === host.replace(/:\d+$/, '');
      } catch {
        accepted = false;
      }
      if (hosts.size < MAX_REMEMBERED_HOSTS) hosts.set(host, accepted);
    }
    return accepted;
  };
}
