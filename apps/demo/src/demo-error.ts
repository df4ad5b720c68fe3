/**
 * A failure the demo has diagnosed and explains in its message (a port taken, a node that would not
 * start, a walkthrough step that did not hold): shown without a stack trace, which would only bury
 * the explanation. Anything else is a bug and keeps its stack.
 */
export class DemoError extends Error {
  override name = 'DemoError';
}
