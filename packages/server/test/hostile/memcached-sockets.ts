import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';

/** The resident set of a process in bytes (VmRSS from /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (kb === null) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kb[1]) * 1024;
}

export const MiB = 1024 * 1024;

/** Every socket opened through {@link openSocket}, destroyed by {@link destroySockets}. */
const opened = new Set<Socket>();

/** Connects to 127.0.0.1:`port`; resolves once connected. */
export function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    opened.add(socket);
    socket.once('close', () => opened.delete(socket));
    socket.once('connect', () => {
      socket.off('error', reject);
      // Errors after connecting (a reset when the node refuses or closes) are what tests observe.
      socket.on('error', () => {});
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

export function destroySockets(): void {
  for (const socket of opened) socket.destroy();
  opened.clear();
}

/** Everything the peer sends until it closes the connection (or `timeoutMs` passes). */
export function readUntilClose(socket: Socket, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const timer = setTimeout(() => resolve(`${text}<still open>`), timeoutMs);
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
}

/** Sends `request` and resolves with the reply once it ends with `until`. */
export function ask(
  socket: Socket,
  request: string | Buffer,
  until: string,
  timeoutMs = 5000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      socket.off('data', onData);
      reject(
        new Error(
          `no ${JSON.stringify(until)} within ${timeoutMs} ms; got ${JSON.stringify(text.slice(0, 200))}`,
        ),
      );
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      if (text.endsWith(until)) {
        clearTimeout(timer);
        socket.off('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
    socket.write(request);
  });
}

/** Polls `probe` every 100 ms until it returns true or `timeoutMs` passes. */
export async function waitFor(
  probe: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await probe()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return probe();
}
