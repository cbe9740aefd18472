// How PostgreSQL and socket failures are told apart from faults of a request.
import { StorageUnavailableError } from '../../application/storage-unavailable.error';
import { errorCode, errorMessage, innerErrors } from '../error-shape';

// Conditions of the server or the network, not of the request: worth a 503 and a retry.
// 08 connection exception, 53 insufficient resources (53300 too many connections),
// 57P01-57P03 shutdown or starting up, 25006 read-only transaction (a standby),
// 55P03 lock timeout, 57014 statement cancelled, 40001/40P01 serialization failure, deadlock,
// 42501 a right the role lacks (only an operator can grant it: no Retry-After).
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0[1-3]|25006$|55P03$|57014$|40001$|40P01$|42501$)/;
const NOT_RETRYABLE_SQLSTATE = new Set(['42501']);
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ENOENT']);
// pg reports these without a code.
const UNAVAILABLE_MESSAGE = /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Cannot use a pool after calling end)/;
// Losses that can come after a statement reached the server, with no word from it (a server
// error, with its SQLSTATE, means the statement was not applied; a refused connection, that
// it was never sent).
const LOST_AFTER_SENDING_MESSAGE = /^(Connection terminated(?! due to connection timeout)|Query read timeout)/;
const LOST_AFTER_SENDING_ERRNO = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

export function isConnectionLost(error: unknown): boolean {
  const inner = innerErrors(error);
  if (inner) return inner.some(isConnectionLost);
  const code = errorCode(error);
  if (code !== undefined) return UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_ERRNO.has(code);
  return UNAVAILABLE_MESSAGE.test(errorMessage(error));
}

// The conditions clients meet, in the service's terms (the server's own words, which may
// quote SQL, go to the log with the cause).
const CONDITIONS: ReadonlyArray<[RegExp, string]> = [
  [/^55P03$/, 'another write held the model past DB_BUSY_TIMEOUT_MS (lock timeout)'],
  [/^57014$/, 'the statement ran past REQUEST_TIMEOUT_MS and the server cancelled it'],
  [/^25006$/, 'the database is read-only (a standby, or default_transaction_read_only)'],
  [/^53/, 'the database server is out of a resource (connections, memory or disk)'],
  [/^57P0[1-3]$/, 'the database server ended the session (shutting down, restarting or starting up, or by an administrator)'],
  [/^42501$/, 'the database role lacks a right this needs (README, "Storage: SQLite or PostgreSQL": the rights a role needs)'],
  [/^(40001|40P01)$/, 'a concurrent write conflicted with this one'],
  [/^08/, 'the connection to the database failed'],
];
const CONDITION_MESSAGES: ReadonlyArray<[RegExp, string]> = [
  [/^Query read timeout/, 'no answer from the database within REQUEST_TIMEOUT_MS and 1 s'],
  [/^(timeout exceeded when trying to connect|Connection terminated due to connection timeout)/, 'no connection to the database in time'],
  [/^(Connection terminated|Client has encountered a connection error)/, 'the connection to the database was lost'],
  [/^Cannot use a pool after calling end/, 'the database connections are closing (the service is stopping)'],
];

/** A one-line account of a failure in the service's terms, with its SQLSTATE or errno; never the server's address. */
export function describePostgresError(error: unknown): string {
  const code = errorCode(error) ?? innerErrors(error)?.map(errorCode).find(Boolean);
  // Socket errors name the server's address: that is for the logs (the cause), not for clients.
  if (code && UNAVAILABLE_ERRNO.has(code)) return `the database server cannot be reached (${code})`;
  if (code) return `${CONDITIONS.find(([pattern]) => pattern.test(code))?.[1] ?? errorMessage(error)} (${code})`;
  const message = errorMessage(error);
  return CONDITION_MESSAGES.find(([pattern]) => pattern.test(message))?.[1] ?? message;
}

/** Whether the connection was lost, or stopped answering, when a statement may already have reached the server. */
export function lostAfterSending(error: unknown): boolean {
  const code = errorCode(error);
  return code === undefined ? LOST_AFTER_SENDING_MESSAGE.test(errorMessage(error)) : LOST_AFTER_SENDING_ERRNO.has(code);
}

/** A COMMIT whose answer was lost (see inTransaction): the transaction may have committed. */
export class CommitOutcomeUnknown extends Error {
  constructor(readonly lost: unknown) {
    super(errorMessage(lost), { cause: lost });
    this.name = 'CommitOutcomeUnknown';
  }
}

/**
 * Runs a storage call; a server that cannot take it becomes a StorageUnavailableError, whose
 * outcome is unknown when the call is a write the server may have applied: a lost COMMIT
 * (CommitOutcomeUnknown, from inTransaction; the server rolls back a transaction whose
 * connection is lost before it), or, for a `oneStatementWrite` (autocommitted), any loss
 * after the statement was sent.
 */
export async function served<T>(call: () => Promise<T>, { oneStatementWrite = false } = {}): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof CommitOutcomeUnknown) {
      throw new StorageUnavailableError(describePostgresError(error.lost), { cause: error.lost, outcomeUnknown: true });
    }
    if (isConnectionLost(error)) {
      const outcomeUnknown = oneStatementWrite && lostAfterSending(error);
      const code = errorCode(error);
      throw new StorageUnavailableError(describePostgresError(error), { cause: error, outcomeUnknown, retryable: !(code && NOT_RETRYABLE_SQLSTATE.has(code)) });
    }
    throw error;
  }
}
