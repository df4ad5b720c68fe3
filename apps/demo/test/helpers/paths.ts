import { fileURLToPath } from 'node:url';

/** The built demo entry point: these tests run what `pnpm demo` runs (build first). */
export const DEMO_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
