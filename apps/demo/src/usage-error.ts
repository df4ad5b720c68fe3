/** A bad command-line flag: main prints the message and the usage, then exits with code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
