#!/usr/bin/env node
/* global URL, Response, Buffer */
// Client CPU per HTTP request, by layer: what ky costs on its own (with a `fetch` that answers at
// once), and a whole 18-operation batch request against one real dcache node through the client's
// transport (undici's dispatcher, batch-exchange.ts) against bare undici `Agent.request` and
// `Client.request`, `node:http` with a keep-alive Agent, and a hand-written HTTP/1.1 exchange on
// one socket (bench/hand-written-exchange.js: no pool, no parser beyond content-length), all doing
// the same msgpack work. Sequential requests; the variants alternate; medians of 5 measured rounds
// (one warm-up).
//
//   pnpm --filter @dcache/server... build && pnpm --filter @dcache/client... build
//   node bench/request-cost.js            (in packages/client; ~20 s)
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import ky from 'ky';
import { request as httpRequest, Agent as HttpAgent } from 'node:http';
import { Agent, Client } from 'undici';
import { HandWrittenConnection } from './hand-written-exchange.js';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const { Transport } = await import(here('../dist/transport.js'));
const { encodeBatch, decodeBatch } = await import(here('../dist/wire.js'));
const ROUNDS = 6;

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

/** µs of this process's CPU per call of `fn`, medians over alternating rounds. */
async function compare(variants, calls) {
  const results = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, fn] of Object.entries(variants)) {
      const before = process.cpuUsage();
      for (let i = 0; i < calls; i++) await fn();
      const used = process.cpuUsage(before);
      if (round > 0) results[name].push((used.user + used.system) / calls);
    }
  }
  for (const [name, values] of Object.entries(results)) {
    console.log(`  ${name.padEnd(44)} ${median(values).toFixed(1).padStart(7)} µs/call`);
  }
}

console.log(`Node ${process.version}`);
console.log('ky alone (answering at once), as the transport configured it before and does now:');
const answerAtOnce = async () => new Response(null, { status: 200 });
const kyLikeTransport = ky.create({
  retry: 0,
  timeout: false,
  throwHttpErrors: false,
  headers: { 'content-type': 'application/msgpack', accept: 'application/msgpack' },
  fetch: answerAtOnce,
});
// What the transport does: the exchange answers from ky's beforeRequest hook, which spares ky's
// clone of the Request (see src/transport.ts).
const kyAnsweringFromHook = ky.create({
  retry: 0,
  timeout: false,
  throwHttpErrors: false,
  headers: { 'content-type': 'application/msgpack', accept: 'application/msgpack' },
  hooks: { beforeRequest: [answerAtOnce] },
});
const body = new Uint8Array(400);
await compare(
  {
    'ky, answered from its beforeRequest hook': () =>
      kyAnsweringFromHook('http://127.0.0.1:9/v1/batch', { method: 'post', dcacheBody: body }),
    'ky, answered by its fetch option': () =>
      kyLikeTransport('http://127.0.0.1:9/v1/batch', { method: 'post', dcacheBody: body }),
    'the fetch alone': answerAtOnce,
  },
  20_000,
);

const node = spawn(process.execPath, [here('../../server/bin/dcache-server.js'), '--port', '0'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
try {
  const url = await new Promise((resolve, reject) => {
    let out = '';
    node.stdout.on('data', (chunk) => {
      out += chunk;
      const match = /listening on (\S+)/.exec(out);
      if (match) resolve(match[1]);
    });
    node.once('exit', (code) => reject(new Error(`dcache node exited (${code})`)));
  });
  const ops = Array.from({ length: 18 }, (_, i) => ['get', `key:${i}`]);
  const transport = new Transport({ timeout: 10_000, token: undefined });
  const agent = new Agent();
  const client = new Client(url);
  const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  const raw = new HandWrittenConnection(url);
  console.log(`an 18-operation POST /v1/batch to one dcache node (${url}), one at a time:`);
  await compare(
    {
      'client transport (undici dispatch)': () => transport.batch(url, ops),
      'bare undici Agent.request + msgpack': async () => {
        const answer = await agent.request({
          origin: url,
          path: '/v1/batch',
          method: 'POST',
          headers: { 'content-type': 'application/msgpack', accept: 'application/msgpack' },
          body: encodeBatch(ops),
        });
        return decodeBatch(new Uint8Array(await answer.body.arrayBuffer()), ops.length);
      },
      'bare undici Client.request + msgpack': async () => {
        const answer = await client.request({
          path: '/v1/batch',
          method: 'POST',
          headers: { 'content-type': 'application/msgpack', accept: 'application/msgpack' },
          body: encodeBatch(ops),
        });
        return decodeBatch(new Uint8Array(await answer.body.arrayBuffer()), ops.length);
      },
      'node:http keep-alive Agent + msgpack': () => nodeHttpExchange(new URL(url), httpAgent, ops),
      'hand-written HTTP/1.1 on one socket + msgpack': async () => {
        const fields = 'content-type: application/msgpack\r\naccept: application/msgpack\r\n';
        const answer = await raw.request(fields, encodeBatch(ops), 10_000);
        return decodeBatch(answer.body, ops.length);
      },
    },
    2_000,
  );
  await transport.close();
  await agent.close();
  await client.close();
  httpAgent.destroy();
  raw.close();
} finally {
  node.kill('SIGTERM');
}

/** One batch through node:http's client on a keep-alive connection. */
function nodeHttpExchange(url, httpAgent, ops) {
  const body = encodeBatch(ops);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        agent: httpAgent,
        host: url.hostname,
        port: url.port,
        path: '/v1/batch',
        method: 'POST',
        headers: {
          'content-type': 'application/msgpack',
          accept: 'application/msgpack',
          'content-length': body.length,
        },
      },
      (response) => {
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('end', () => {
          const joined = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
          const bytes = new Uint8Array(joined.buffer, joined.byteOffset, joined.byteLength);
          resolve(decodeBatch(bytes, ops.length));
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}
