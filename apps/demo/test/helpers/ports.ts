import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { nodeCommand } from './node-command.js';

/**
 * `count` distinct ports that were free a moment ago, each bound on 127.0.0.1 and released. They
 * are drawn below the kernel's ephemeral range: a port `listen(0)` hands out is one every outgoing
 * connection of the suites running alongside may take as its own (thousands a second), and one did
 * in the time between its release and a node binding it. Below the range only a process that names
 * the port can take it. If one does, NodeProcess.start() fails loudly (it checks that the node
 * answering is the one it spawned), never silently.
 */
export async function freePorts(count: number): Promise<number[]> {
  const low = ephemeralRangeStart();
  const ports: number[] = [];
  for (let tries = 0; ports.length < count; tries++) {
    if (tries === 1000) throw new Error(`no ${count} free ports found below ${low}`);
    const port = Math.floor(low / 2 + Math.random() * (low / 2));
    if (!ports.includes(port) && (await canBind(port))) ports.push(port);
  }
  return ports;
}

/** The first port of the kernel's ephemeral range (Linux's default when it cannot be read). */
function ephemeralRangeStart(): number {
  try {
    const low = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0],
    );
    if (Number.isInteger(low) && low >= 4096) return low;
  } catch {
    // Not Linux, or no /proc: the default below.
  }
  return 32768;
}

/** Whether 127.0.0.1:`port` can be listened on right now (released before this resolves). */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** True while a process with this pid exists (signal 0 probes without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A process holding a TCP socket that listens on a port. */
export interface Listener {
  pid: number;
  /** Its process group. */
  pgid: number;
  /** Its command line. */
  args: string[];
}

/**
 * The processes listening on TCP `port` (any address), from /proc: Linux only. Unlike a connect
 * (`isListening`), this says whose the listener is: a port a test freed in the ephemeral range may
 * be another test's a moment later, and only a listener of the test's own is a leftover.
 */
export function listenersOn(port: number): Listener[] {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return [];
  const listeners: Listener[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const listener = holder(Number(entry), inodes);
    if (listener !== undefined) listeners.push(listener);
  }
  return listeners;
}

/** The inodes of the sockets in state LISTEN (0A) on `port`, from /proc/net/tcp and tcp6. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue; // no IPv6 on this machine
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const fields = line.trim().split(/\s+/);
      const local = fields[1]?.split(':')[1];
      if (local === undefined || fields[3] !== '0A' || parseInt(local, 16) !== port) continue;
      inodes.add(fields[9]!);
    }
  }
  return inodes;
}

/** Process `pid` as a Listener if one of its descriptors is one of `inodes`' sockets. */
function holder(pid: number, inodes: ReadonlySet<string>): Listener | undefined {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined; // gone, or not ours to read
  }
  const holds = fds.some((fd) => {
    try {
      const socket = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      return socket !== null && inodes.has(socket[1]!);
    } catch {
      return false; // closed meanwhile
    }
  });
  if (!holds) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the command name in parentheses: state, ppid, pgrp, …
    const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return { pid, pgid, args };
  } catch {
    return undefined; // gone meanwhile
  }
}

/** Whether `listener` is a dcache node started with `--port <port>`. */
export function isNodeOnPort(listener: Listener, port: number): boolean {
  return nodeCommand(listener.args)?.port === String(port);
}
