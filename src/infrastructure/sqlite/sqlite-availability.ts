import { StorageUnavailableError } from '../../application/storage-unavailable.error';
import { errorCode } from '../error-shape';

// Conditions of the file, not of the request: worth a 503 and a retry, not a 500.
const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|READONLY|FULL|IOERR|CANTOPEN)/;

/** A SQLite error that says the database cannot serve now, as a StorageUnavailableError; any other error as it is. */
export function asStorageFault(error: unknown): unknown {
  const code = errorCode(error);
  return code && UNAVAILABLE.test(code) ? new StorageUnavailableError(`${(error as Error).message} (${code})`, { cause: error }) : error;
}

/** Runs a statement; a database that cannot serve it becomes a StorageUnavailableError. */
export function available<T>(statement: () => T): T {
  try {
    return statement();
  } catch (error) {
    throw asStorageFault(error);
  }
}
