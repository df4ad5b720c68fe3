// The image's HEALTHCHECK: the slim base has no curl, so node asks the node's own /healthz (which
// never needs the token). Exit 0 when it answers 200 within 2 s, 1 otherwise, as Docker expects.
// It reads the node's own DCACHE_* settings: the port (a node started with --port instead must
// pass the same port here), the address when it is not a wildcard, and HTTPS when TLS is on.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

// An empty variable is unset, as the node takes it (its default port then, not 80).
const port = process.argv[2] || process.env.DCACHE_PORT || '8001';
const bound = process.env.DCACHE_HOST ?? '';
const host = bound === '' || bound === '0.0.0.0' || bound === '::' ? '127.0.0.1' : bound;
const tls = (process.env.DCACHE_TLS_CERT ?? '') !== '';
const request = tls ? httpsRequest : httpRequest;
// Liveness, not identity: the node's certificate need not name the address asked here.
const req = request(
  { host, port, path: '/healthz', timeout: 2000, ...(tls ? { rejectUnauthorized: false } : {}) },
  (res) => {
    process.exitCode = res.statusCode === 200 ? 0 : 1;
    res.resume();
  },
);
req.on('timeout', () => req.destroy(new Error('no answer within 2 s')));
req.on('error', () => {
  process.exitCode = 1;
});
req.end();
