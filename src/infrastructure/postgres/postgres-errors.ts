// How PostgreSQL and socket failures are told apart from faults of a request.

// Conditions of the server or the network, not of the request: worth a 503 and a retry.
// 08 connection exception, 53 insufficient resources (53300 too many connections),
// 57P01-57P03 shutdown or starting up, 25006 read-only transaction (a standby),
// 55P03 lock timeout, 57014 statement cancelled, 40001/40P01 serialization failure, deadlock.
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0[1-3]|25006$|55P03$|57014$|40001$|40P01$)/;
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ENOENT']);
// pg reports these without a code.
const UNAVAILABLE_MESSAGE = /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Cannot use a pool after calling end)/;

// Errors are read by shape, not class: Node's own (from net, dns) may come from another
// realm than this module's, as under a test runner's sandbox.
export function isConnectionLost(error: unknown): boolean {
  const inner = innerErrors(error);
  if (inner) return inner.some(isConnectionLost);
  const code = errorCode(error);
  if (code !== undefined) return UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_ERRNO.has(code);
  return UNAVAILABLE_MESSAGE.test(messageOf(error));
}

/** A one-line account of a failure, without the server's address. */
export function describePostgresError(error: unknown): string {
  const code = errorCode(error) ?? innerErrors(error)?.map(errorCode).find(Boolean);
  // Socket errors name the server's address: that is for the logs (the cause), not for clients.
  if (code && UNAVAILABLE_ERRNO.has(code)) return `the database server cannot be reached (${code})`;
  return code ? `${messageOf(error)} (${code})` : messageOf(error);
}

/** Node reports a refused connection to every address of a name as one AggregateError with no message. */
function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  if (typeof message === 'string' && message) return message;
  return innerErrors(error)?.map(messageOf).join('; ') ?? String(error);
}

function innerErrors(error: unknown): unknown[] | undefined {
  const errors = (error as { errors?: unknown } | null)?.errors;
  return Array.isArray(errors) ? errors : undefined;
}

/** The SQLSTATE or errno of a failure, if it has one. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
