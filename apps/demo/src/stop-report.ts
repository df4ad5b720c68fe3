import type { Exit } from './node-process.js';

/**
 * How long before the demo handles a Ctrl-C a node's clean exit is still taken to be that Ctrl-C's
 * doing: the terminal signals the nodes too, and on a loaded machine their exits can be handled
 * before the demo's own SIGINT. Generous, since a hand `kill` of a node just before a Ctrl-C is rare.
 */
export const CTRL_C_EXIT_WINDOW_MS = 5000;

export interface NodeAtStop {
  /** The node still ran when the stop began. */
  running: boolean;
  /** How it exited, once it has. */
  exit: Exit;
  /** How long before the stop began it was seen to exit; undefined if it ran then or never did. */
  exitedMsBefore: number | undefined;
}

/**
 * Whether the Stopping report says the demo stopped this node, rather than that it had already
 * exited (never started, crashed, or killed by hand). `ctrlC`: the stop is a SIGINT, which a
 * terminal also sent to the nodes.
 */
export function stoppedByTheStop(
  { running, exit, exitedMsBefore }: NodeAtStop,
  ctrlC: boolean,
): boolean {
  if (running) return true;
  const cleanExit = exit.code === 0 && exit.signal === null;
  return (
    ctrlC && cleanExit && exitedMsBefore !== undefined && exitedMsBefore <= CTRL_C_EXIT_WINDOW_MS
  );
}
