// Storage failures are read by shape, not by class: Node's own errors (net, dns) and the
// SQLite addon's may come from another realm or another copy of a module than this one's,
// as under a test runner that loads modules per file.

/** The code of a failure (SQLITE_*, a SQLSTATE, an errno), if it has one. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The failures an AggregateError gathers: Node reports a refused connection to every address of a host name as one. */
export function innerErrors(error: unknown): unknown[] | undefined {
  const errors = (error as { errors?: unknown } | null)?.errors;
  return Array.isArray(errors) ? errors : undefined;
}

/** A failure's message; for an AggregateError without one, its failures' messages. */
export function errorMessage(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  if (typeof message === 'string' && message) return message;
  return innerErrors(error)?.map(errorMessage).join('; ') ?? String(error);
}
