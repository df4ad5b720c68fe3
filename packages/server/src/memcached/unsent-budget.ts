/** What one connection may hold unsent while the node is within its budget. */
export const CONNECTION_UNSENT_BYTES = 256 * 1024;
/** What one connection may still hold once the node is over its budget (Node's write buffer). */
export const PRESSED_UNSENT_BYTES = 16 * 1024;

/**
 * The node-wide budget of memcached reply bytes produced but not yet handed to the kernel. Each
 * connection reports what it holds ({@link change}); a connection produces its next reply only
 * while it holds less than {@link limit}: 256 KiB normally, 16 KiB once the node is over budget,
 * so the connections holding the most stop first while clients that read keep being served.
 *
 * A reply is produced whole (one value may be `maxValueBytes`), so what the node holds is at most
 * the budget plus, per connection, the pressed limit and one reply. Large values are passed by
 * reference: a value still in the cache costs nothing more however many connections hold it.
 */
export class UnsentBudget {
  /** Bytes all connections hold, as last reported. */
  total = 0;
  private readonly normal: number;
  private readonly pressed: number;

  constructor(readonly maxBytes: number) {
    this.normal = Math.min(CONNECTION_UNSENT_BYTES, maxBytes);
    this.pressed = Math.min(PRESSED_UNSENT_BYTES, this.normal);
  }

  /** Unsent bytes from which a connection must wait for its client before replying more. */
  limit(): number {
    return this.total > this.maxBytes ? this.pressed : this.normal;
  }

  change(delta: number): void {
    this.total += delta;
  }
}
