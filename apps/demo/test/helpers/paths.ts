import { fileURLToPath } from 'node:url';

/** The built demo entry point: these tests run what `pnpm demo` runs (build first). */
export const DEMO_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** The built Cluster module, for scripts run as separate processes. */
export const CLUSTER_MODULE = new URL('../../dist/cluster.js', import.meta.url).href;
