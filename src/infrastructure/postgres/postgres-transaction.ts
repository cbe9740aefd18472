import type { Pool, PoolClient } from 'pg';
import { CommitOutcomeUnknown, isConnectionLost, lostAfterSending } from './postgres-errors';

/**
 * Runs `work` in a transaction on one connection of the pool: COMMIT when it resolves,
 * ROLLBACK when it rejects (rejecting with its error). A connection whose rollback failed, or
 * that was lost, is not returned to the pool for someone else. A COMMIT whose answer is lost
 * rejects with CommitOutcomeUnknown: the transaction may have committed.
 */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: unknown;
  // pg also emits a connection lost while the client is checked out (a restarted server, a
  // terminated backend) as an 'error' event, which would crash the process unheard; the
  // query in progress rejects with it all the same.
  const onError = (error: Error) => (broken ??= error);
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    let result: T;
    try {
      result = await work(client);
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: unknown) => (broken ??= rollbackError));
      throw error;
    }
    try {
      await client.query('COMMIT');
    } catch (error) {
      // A COMMIT that fails with a server error has rolled back; one without an answer may not have.
      throw isConnectionLost(error) && lostAfterSending(error) ? new CommitOutcomeUnknown(error) : error;
    }
    return result;
  } catch (error) {
    broken ??= isConnectionLost(error) || error instanceof CommitOutcomeUnknown ? error : undefined;
    throw error;
  } finally {
    client.off('error', onError);
    client.release(broken ? (broken as Error) : undefined);
  }
}
