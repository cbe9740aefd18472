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

// Short enough that a write follows a released lock closely, long enough to cost nothing.
const MAX_RETRY_PAUSE_MS = 25;

/**
 * Runs a write transaction, retrying it while another connection holds the write lock
 * (SQLITE_BUSY comes at once, as busy_timeout is 0 after the migration) with growing pauses,
 * up to `busyTimeoutMs`: the event loop serves other work meanwhile. A database that cannot
 * take it becomes a StorageUnavailableError.
 */
export async function writeWhenFree<T>(write: () => T, busyTimeoutMs: number): Promise<T> {
  const deadline = Date.now() + busyTimeoutMs;
  for (let pauseMs = 1; ; pauseMs = Math.min(pauseMs * 2, MAX_RETRY_PAUSE_MS)) {
    try {
      return write();
    } catch (error) {
      const left = deadline - Date.now();
      if (errorCode(error) === 'SQLITE_BUSY' && left > 0) {
        await new Promise((resolve) => setTimeout(resolve, Math.min(pauseMs, left)));
        continue;
      }
      throw asStorageFault(error);
    }
  }
}
