import { readFileSync } from 'node:fs';
import { nodeCommand } from './node-command.js';

/** A node the demo's narration says it started: enough to recognise that very process later. */
export interface DemoNode {
  pid: number;
  nodeId: string;
  port: number;
}

/**
 * Every node the narration printed: the first ones ("node-1  http://…  pid N  (dcache-server --port P
 * --node-id node-1 …)") and a restarted one ("node-2 is back (pid N)", on its first port).
 */
export function demoNodes(stdout: string): DemoNode[] {
  const ports = new Map<string, number>();
  const nodes: DemoNode[] = [];
  for (const [, nodeId, pid, port] of stdout.matchAll(
    /(node-\d+) +\S+ +pid (\d+) +\(dcache-server --port (\d+) --node-id \1\b/g,
  )) {
    ports.set(nodeId!, Number(port));
    nodes.push({ pid: Number(pid), nodeId: nodeId!, port: Number(port) });
  }
  for (const [, nodeId, pid] of stdout.matchAll(/(node-\d+) is back \(pid (\d+)\)/g)) {
    const port = ports.get(nodeId!);
    if (port !== undefined) nodes.push({ pid: Number(pid), nodeId: nodeId!, port });
  }
  return nodes;
}

/**
 * True only while `node.pid` is still that dcache-server node: pids are reused (pid_max is small on
 * a shared machine), so a bare "is the pid alive" could name, and then kill, someone else's process.
 */
export function isDemoNodeAlive({ pid, nodeId, port }: DemoNode): boolean {
  let args: string[];
  try {
    args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return false; // ENOENT: gone (or not Linux, where the check cannot be made safely)
  }
  const command = nodeCommand(args);
  // A node asked for any free port (`--port 0`, as the demo's fourth node is) is narrated with the
  // port it got.
  return (
    command !== undefined &&
    (command.port === String(port) || command.port === '0') &&
    command.nodeId === nodeId
  );
}

/**
 * SIGKILLs `node` if it is still that node. A cleanup step: it does not throw when the process has
 * gone (ESRCH) or turns out not to be ours to signal (EPERM) in the meantime.
 */
export function killDemoNode(node: DemoNode): void {
  if (!isDemoNodeAlive(node)) return;
  try {
    process.kill(node.pid, 'SIGKILL');
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    if (code !== 'ESRCH' && code !== 'EPERM') throw error;
  }
}
