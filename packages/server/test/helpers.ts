import { CacheServer } from '../src/index.js';
import type { ServerAddress, ServerOptions } from '../src/index.js';

export interface RunningNode {
  server: CacheServer;
  address: ServerAddress;
  url: string;
  close(): Promise<void>;
}

/** The one way tests start a node: 127.0.0.1, an ephemeral port; call close() in afterEach/afterAll. */
export async function startNode(options: ServerOptions = {}): Promise<RunningNode> {
  const server = new CacheServer({ logLevel: 'silent', ...options });
  const address = await server.listen({ host: '127.0.0.1', port: 0 });
  return { server, address, url: address.url, close: () => server.close() };
}

/** A clock tests move by hand. */
export function manualClock(start = 1_000_000): { now: () => number; advance(ms: number): void } {
  let time = start;
  return { now: () => time, advance: (ms) => void (time += ms) };
}
