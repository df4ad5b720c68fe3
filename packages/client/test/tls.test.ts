import { createServer as createHttpsServer } from 'node:https';
import type { Server } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { pack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DistributedCacheClient } from '../src/index.js';
import { isCacheUnavailableError } from '../src/index.js';
import type { ClientOptions } from '../src/index.js';
import { selfSigned } from './certificates.js';
import type { CertificatePair } from './certificates.js';
import { connect, listenOnLoopback, TestNode } from './cluster.js';

/** What a call rejected with, for assertions on the error itself. */
async function failureOf(call: Promise<unknown>): Promise<Error> {
  return call.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error as Error,
  );
}

/** The first node error inside a CacheUnavailableError (what the TLS handshake said). */
function nodeCause(error: Error): string {
  expect(isCacheUnavailableError(error), error.message).toBe(true);
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? cause.message : String(cause);
}

/** An https dcache node with a fresh self-signed certificate for the suite it is called in. */
function httpsNode(
  commonName: string,
  subjectAltName: string,
): { pair: CertificatePair; node: TestNode } {
  const fixture = {} as { pair: CertificatePair; node: TestNode };
  beforeAll(async () => {
    fixture.pair = selfSigned(commonName, subjectAltName);
    fixture.node = await TestNode.start({ tls: fixture.pair });
  });
  afterAll(() => fixture.node.kill());
  return fixture;
}

describe('tls option against an https dcache node with a self-signed certificate', () => {
  const https = httpsNode('localhost', 'IP:127.0.0.1,DNS:localhost');

  async function roundTrip(options: ClientOptions): Promise<unknown> {
    const client: DistributedCacheClient = connect([https.node.url], { replicas: 1, ...options });
    try {
      expect(await client.set('greeting', { hello: 'tls' })).toBe(true);
      return await client.get('greeting');
    } finally {
      await client.close();
    }
  }

  it('works over https with tls.ca set to the node certificate', async () => {
    expect(https.node.url).toMatch(/^https:/);
    expect(await roundTrip({ tls: { ca: https.pair.cert } })).toStrictEqual({ hello: 'tls' });
    expect(https.node.entry('greeting')).toBeDefined();
  });

  it('takes the CA as a PEM string too, and batching off', async () => {
    const ca = https.pair.cert.toString('utf8');
    expect(await roundTrip({ tls: { ca: [ca] }, batch: false })).toStrictEqual({ hello: 'tls' });
  });

  // Also shows that the process's own trust (Node's CA store, any NODE_EXTRA_CA_CERTS) does not
  // cover this certificate: the successes here come from the tls option alone.
  it('fails without it: CacheUnavailableError whose cause names the certificate', async () => {
    const client = connect([https.node.url], { replicas: 1 });
    try {
      const error = await failureOf(client.get('greeting'));
      expect(nodeCause(error)).toMatch(/self[- ]signed certificate/i);
    } finally {
      await client.close();
    }
  });

  it('works with rejectUnauthorized: false (encrypted, not verified)', async () => {
    expect(await roundTrip({ tls: { rejectUnauthorized: false } })).toStrictEqual({
      hello: 'tls',
    });
  });
});

describe('tls.servername', () => {
  // A certificate naming only a host name, for a node addressed by IP (behind a load balancer, say).
  const https = httpsNode('cache.internal', 'DNS:cache.internal');

  it('verifies the certificate against servername instead of the URL host', async () => {
    const wrongName = connect([https.node.url], { replicas: 1, tls: { ca: https.pair.cert } });
    const named = connect([https.node.url], {
      replicas: 1,
      tls: { ca: https.pair.cert, servername: 'cache.internal' },
    });
    try {
      const error = await failureOf(wrongName.get('k'));
      expect(nodeCause(error)).toMatch(/altnames|does not match/i);
      expect(await named.set('k', 1)).toBe(true);
      expect(await named.get('k')).toBe(1);
    } finally {
      await Promise.all([wrongName.close(), named.close()]);
    }
  });
});

// @dcache/server cannot require client certificates, so a stand-in https server that does, and
// answers every get of a batch with a miss, shows the client presents tls.cert/tls.key.
describe('tls.cert and tls.key (mutual TLS, against a stand-in node)', () => {
  let serverPair: CertificatePair;
  let clientPair: CertificatePair;
  let server: Server;
  let url: string;
  const presented: string[] = [];
  beforeAll(async () => {
    serverPair = selfSigned('localhost', 'IP:127.0.0.1');
    clientPair = selfSigned('dcache-client', 'DNS:dcache-client');
    server = createHttpsServer(
      {
        ...serverPair,
        ca: clientPair.cert,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (request, response) => {
        const peer = (request.socket as TLSSocket).getPeerCertificate();
        presented.push(String(peer.subject?.CN));
        request.resume();
        request.on('end', () => {
          response.writeHead(200, { 'content-type': 'application/msgpack' });
          response.end(pack([[404]]));
        });
      },
    );
    url = (await listenOnLoopback(server)).replace('http:', 'https:');
  });
  afterAll(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  );

  it('presents the client certificate; without one the node refuses the connection', async () => {
    const withCert = connect([url], { replicas: 1, tls: { ca: serverPair.cert, ...clientPair } });
    const without = connect([url], { replicas: 1, tls: { ca: serverPair.cert } });
    try {
      expect(await withCert.get('k')).toBeUndefined();
      expect(presented).toStrictEqual(['dcache-client']);
      const error = await failureOf(without.get('k'));
      expect(isCacheUnavailableError(error)).toBe(true);
      expect(presented).toStrictEqual(['dcache-client']);
    } finally {
      await Promise.all([withCert.close(), without.close()]);
    }
  });
});
