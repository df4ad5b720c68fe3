import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { CliNode } from '../cli-node.js';

/** Raw TCP clients of a node's HTTP port, each remembered so `destroySockets()` can end them all. */
const open = new Set<Socket>();

export interface RawClient {
  socket: Socket;
  /** Everything the node sent so far. */
  received(): string;
  /** Resolves once the node (or the network) closed the connection. */
  closed: Promise<void>;
}

/** Opens a raw connection to `node`'s HTTP port (resolves once connected, or already closed). */
export async function rawClient(node: CliNode): Promise<RawClient> {
  const { hostname, port } = new URL(node.url);
  const socket = connect(Number(port), hostname);
  open.add(socket);
  let text = '';
  socket.on('data', (chunk: Buffer) => {
    if (text.length < 4096) text += chunk.toString('latin1');
  });
  socket.on('error', () => undefined); // a reset is one of the outcomes tests look at
  // Not events.once: that rejects on 'error' (an EPIPE while writing to a node that hung up).
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      open.delete(socket);
      resolve();
    }),
  );
  await Promise.race([new Promise((resolve) => socket.once('connect', resolve)), closed]);
  return { socket, received: () => text, closed };
}

/** Ends every raw client still open (afterEach). */
export function destroySockets(): void {
  for (const socket of open) socket.destroy();
  open.clear();
}

/** Samples `node`'s RSS every 25 ms until `stop()`; `peak` is the highest seen. */
export function rssSampler(node: CliNode): { readonly peak: number; stop(): number } {
  let peak = node.rss();
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, node.rss());
    } catch {
      // the process is gone: the test's own checks say so
    }
  }, 25);
  return {
    get peak() {
      return peak;
    },
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

export const MiB = 1024 * 1024;

/** The process itself and its transient buffers, in the README's bound. */
export const FIXED_OVERHEAD = 160 * MiB;

/**
 * The server README's bound on a node's RSS (Limits): the cache, request bodies in flight (twice: a
 * completed body is copied once), unread responses (their budget, plus the one that crosses it)
 * and a fixed overhead. Defaults: 64 MiB cache, 64 MiB budget, 16 MiB batches.
 */
export function rssBound({
  maxMemory = 64 * MiB,
  maxInflightBodyBytes = 64 * MiB,
  maxBatchBytes = 16 * MiB,
}: { maxMemory?: number; maxInflightBodyBytes?: number; maxBatchBytes?: number } = {}): number {
  return maxMemory + 3 * maxInflightBodyBytes + maxBatchBytes + FIXED_OVERHEAD;
}

/** Resolves after `ms` (bounded waits inside hostile scenarios; never used to assert speed). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
