import { connect } from 'node:net';
import { LruCache } from '@dcache/core';
import type { StoredValue } from '../../src/operations/stored-value.js';
import { createMemcachedListener } from '../../src/memcached/index.js';
import type { MemcachedListener, MemcachedListenerOptions } from '../../src/memcached/index.js';
import { afterAll, beforeAll } from 'vitest';
import { startCliNode, stopCliNodes } from '../cli-node.js';
import type { CliNode } from '../cli-node.js';

export interface Started {
  listener: MemcachedListener;
  cache: LruCache<StoredValue>;
  port: number;
}

export function newCache(now?: () => number, maxMemory = 64 * 1024 * 1024): LruCache<StoredValue> {
  return new LruCache<StoredValue>({
    maxMemory,
    sizeOf: (v) => v.bytes.length,
    trackAccess: true,
    ...(now === undefined ? {} : { now }),
  });
}

/** Starts a listener on 127.0.0.1:0 over a fresh cache (or the one given). */
export async function startListener(
  options: Partial<MemcachedListenerOptions> = {},
): Promise<Started> {
  const cache = (options.cache as LruCache<StoredValue> | undefined) ?? newCache(options.now);
  const listener = createMemcachedListener({ ...options, cache });
  const { port } = await listener.listen({ host: '127.0.0.1', port: 0 });
  return { listener, cache, port };
}

/**
 * A raw client: `send` writes bytes and `until` resolves once the received text (latin1) ends
 * with the given terminator (or the socket closes).
 */
export class RawClient {
  private received = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;
  readonly socket;

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('data', (d: Buffer) => {
      this.received = Buffer.concat([this.received, d]);
      this.wake();
    });
    this.socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    this.socket.on('error', () => {});
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  ready(): Promise<void> {
    return new Promise((resolve) => this.socket.once('connect', () => resolve()));
  }

  send(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  }

  /**
   * Waits until the reply text ends with `terminator` (or the socket closes, or `timeoutMs`
   * passes — a desynchronised server then shows up as a reply mismatch, not a hang).
   */
  async until(terminator: string, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = this.received.toString('latin1');
      if (text.endsWith(terminator) || this.closed || Date.now() >= deadline) {
        this.received = Buffer.alloc(0);
        return text;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private syncs = 0;

  /**
   * Sends `data`, then a marker command whose reply is unique (an `ms` of a reserved key with a
   * numbered opaque), and returns everything received before the marker's reply.
   */
  async request(data: string | Buffer): Promise<string> {
    const marker = `HD Osync${++this.syncs}\r\n`;
    this.send(data);
    this.send(`ms __sync 0 Osync${this.syncs}\r\n\r\n`);
    const text = await this.until(marker);
    return text.endsWith(marker) ? text.slice(0, -marker.length) : `${text}<no sync>`;
  }

  close(): void {
    this.socket.destroy();
  }
}

const VERSION_REPLY = 'VERSION 1.6.18\r\n';

/**
 * Sends `text`, then `version`, and returns what came back before the version's reply. Unlike
 * {@link RawClient.request}'s `ms` marker, a `version` moves no `stats` counter.
 */
export async function beforeVersion(client: RawClient, text: string): Promise<string> {
  client.send(`${text}version\r\n`);
  return (await client.until(VERSION_REPLY)).slice(0, -VERSION_REPLY.length);
}

/** The numeric fields of a `stats` reply. */
export async function statsOf(client: RawClient): Promise<Map<string, bigint>> {
  const text = await beforeVersion(client, 'stats\r\n');
  const out = new Map<string, bigint>();
  for (const m of text.matchAll(/^STAT (\S+) (\d+)\r$/gm)) out.set(m[1]!, BigInt(m[2]!));
  return out;
}

/**
 * A node started through the CLI with its memcached port, and a {@link RawClient} on that port:
 * started before the calling file's tests, stopped after them. Read `node` and `client` inside
 * tests (they are set once the file's `beforeAll` has run).
 */
export function cliNodeAndClient(): { node: CliNode; client: RawClient } {
  const started = {} as { node: CliNode; client: RawClient };
  beforeAll(async () => {
    started.node = await startCliNode(['--memcached-port', '0', '--log-level', 'silent']);
    started.client = new RawClient(started.node.memcached!.port);
    await started.client.ready();
  }, 30_000);
  afterAll(async () => {
    started.client?.close();
    await stopCliNodes();
  });
  return started;
}
