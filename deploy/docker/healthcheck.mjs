/* global fetch, AbortSignal */
// The image's HEALTHCHECK: the slim base has no curl, so node asks the node's own /healthz (which
// never needs the token). Exit 0 when it answers 200 within 2 s, 1 otherwise, as Docker expects.
// A node started with --port instead of DCACHE_PORT must pass the same port here.
const port = process.argv[2] ?? process.env.DCACHE_PORT ?? '8001';
try {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`, {
    signal: AbortSignal.timeout(2000),
  });
  process.exitCode = response.status === 200 ? 0 : 1;
} catch {
  process.exitCode = 1;
}
