// A test file's nemesis and clients, taken down after each test — clients first, so none is left
// talking to nodes that are gone — whether the test passed or not.
import { afterEach } from 'vitest';
import { Nemesis } from './nemesis.js';
import type { NemesisOptions } from './nemesis.js';

interface Closable {
  close(): Promise<void>;
}

export interface NemesisFixture {
  /** The running test's nemesis, once `start` resolved. */
  readonly nemesis: Nemesis | undefined;
  /** Starts the running test's nemesis. */
  start(options?: NemesisOptions): Promise<Nemesis>;
  /** Closes `client` after the running test; returns it. */
  keep<C extends Closable>(client: C): C;
}

/** Registers the cleanup (vitest's afterEach) for the calling test file. */
export function useNemesis(): NemesisFixture {
  let nemesis: Nemesis | undefined;
  const clients: Closable[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await nemesis?.cleanup();
    nemesis = undefined;
  });
  return {
    get nemesis() {
      return nemesis;
    },
    async start(options) {
      nemesis = await Nemesis.start(options);
      return nemesis;
    },
    keep(client) {
      clients.push(client);
      return client;
    },
  };
}
