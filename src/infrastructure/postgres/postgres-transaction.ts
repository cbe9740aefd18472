import type { Pool, PoolClient } from 'pg';
import { isConnectionLost } from './postgres-errors';

/**
 * Runs `work` in a transaction on one connection of the pool: COMMIT when it resolves,
 * ROLLBACK when it rejects (rejecting with its error). A connection whose rollback failed, or
 * that was lost, is not returned to the pool for someone else.
 */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: unknown;
  try {
    await client.query('BEGIN');
    try {
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: unknown) => (broken = rollbackError));
      throw error;
    }
  } catch (error) {
    broken ??= isConnectionLost(error) ? error : undefined;
    throw error;
  } finally {
    client.release(broken ? (broken as Error) : undefined);
  }
}
