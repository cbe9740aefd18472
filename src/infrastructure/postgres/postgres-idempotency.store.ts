import type { Pool } from 'pg';
import { IDEMPOTENCY_KEY_LIFETIME_MS, type IdempotencyClaim, type IdempotencyScope, type IdempotencyStore, type StoredAnswer } from '../../application/ports/idempotency.store';
import { served as storage } from './postgres-errors';

interface KeyRow {
  fingerprint: string;
  status: number | null;
  body: string | null;
}

const WHERE = 'route = $1 AND sensor_id = $2 AND metric = $3 AND key = $4';

// One statement: expired records of this scope are replaced, a live one is left alone (the
// insert answers no row, and the caller reads it). The primary key makes concurrent claims
// of one key queue: exactly one inserts.
const CLAIM = `
  INSERT INTO idempotency_keys AS k (route, sensor_id, metric, key, fingerprint, created_at, expires_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7)
  ON CONFLICT (route, sensor_id, metric, key) DO UPDATE SET
    fingerprint = excluded.fingerprint, status = NULL, body = NULL, created_at = excluded.created_at, expires_at = excluded.expires_at
  WHERE k.expires_at <= excluded.created_at
  RETURNING 1`;

/** Idempotency-Key records in the weights database (table idempotency_keys), shared by every replica. */
export class PostgresIdempotencyStore implements IdempotencyStore {
  constructor(private readonly pool: Pool) {}

  async claim(scope: IdempotencyScope, fingerprint: string, now: Date): Promise<IdempotencyClaim> {
    const at = now.getTime();
    // Expired keys of any scope go as new ones come: the table holds a day of keys at most.
    await storage(() => this.pool.query('DELETE FROM idempotency_keys WHERE expires_at <= $1', [at]));
    // A one-statement write: a connection lost once it was sent leaves the claim unknown (outcomeUnknown).
    const inserted = await storage(() => this.pool.query(CLAIM, [...parameters(scope), fingerprint, at, at + IDEMPOTENCY_KEY_LIFETIME_MS]), { oneStatementWrite: true });
    if (inserted.rowCount === 1) return { outcome: 'claimed' } as const;
    return storage(async () => {
      const { rows } = await this.pool.query<KeyRow>(`SELECT fingerprint, status, body FROM idempotency_keys WHERE ${WHERE}`, parameters(scope));
      const row = rows[0];
      // Released between the two statements: its request failed; this one may run.
      if (!row) return this.claim(scope, fingerprint, now);
      if (row.fingerprint !== fingerprint) return { outcome: 'other-request' } as const;
      if (row.status === null || row.body === null) return { outcome: 'in-flight' } as const;
      return { outcome: 'replay', answer: { status: row.status, body: row.body } } as const;
    });
  }

  async complete(scope: IdempotencyScope, answer: StoredAnswer): Promise<void> {
    await storage(() => this.pool.query(`UPDATE idempotency_keys SET status = $5, body = $6 WHERE ${WHERE}`, [...parameters(scope), answer.status, answer.body]));
  }

  async release(scope: IdempotencyScope, claim?: { fingerprint: string; claimedAt: Date }): Promise<void> {
    await storage(() =>
      claim
        ? this.pool.query(`DELETE FROM idempotency_keys WHERE ${WHERE} AND fingerprint = $5 AND created_at = $6 AND status IS NULL`, [...parameters(scope), claim.fingerprint, claim.claimedAt.getTime()])
        : this.pool.query(`DELETE FROM idempotency_keys WHERE ${WHERE}`, parameters(scope)),
    );
  }
}

function parameters({ route, sensorId, metric, key }: IdempotencyScope): [string, string, string, string] {
  return [route, sensorId, metric, key];
}
