/** A command line the tool cannot act on: one line and exit 2, no stack. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
