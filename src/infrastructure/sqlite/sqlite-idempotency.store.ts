import type Database from 'better-sqlite3';
import { IDEMPOTENCY_KEY_LIFETIME_MS, type IdempotencyClaim, type IdempotencyScope, type IdempotencyStore, type StoredAnswer } from '../../application/ports/idempotency.store';
import { StorageUnavailableError } from '../../application/storage-unavailable.error';
import { errorCode } from '../error-shape';
import { available } from './sqlite-availability';

interface KeyRow {
  fingerprint: string;
  status: number | null;
  body: string | null;
}

type ScopeParameters = [string, string, string, string];

/** Idempotency-Key records in the weights database file (table idempotency_keys). */
export class SqliteIdempotencyStore implements IdempotencyStore {
  private readonly deleteExpired: Database.Statement<[number]>;
  private readonly select: Database.Statement<ScopeParameters, KeyRow>;
  private readonly insert: Database.Statement<[...ScopeParameters, string, number, number]>;
  private readonly update: Database.Statement<[number, string, ...ScopeParameters]>;
  private readonly delete: Database.Statement<ScopeParameters>;
  private readonly deleteClaim: Database.Statement<[...ScopeParameters, string, number]>;
  private readonly claimTransaction: Database.Transaction<(scope: ScopeParameters, fingerprint: string, now: number) => IdempotencyClaim>;

  /** `busyTimeoutMs`: how long a claim retries, without blocking, while another connection holds the write lock. */
  constructor(
    db: Database.Database,
    private readonly busyTimeoutMs = 5000,
  ) {
    const where = 'route = ? AND sensor_id = ? AND metric = ? AND key = ?';
    this.deleteExpired = db.prepare('DELETE FROM idempotency_keys WHERE expires_at <= ?');
    this.select = db.prepare(`SELECT fingerprint, status, body FROM idempotency_keys WHERE ${where}`);
    this.insert = db.prepare('INSERT INTO idempotency_keys (route, sensor_id, metric, key, fingerprint, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.update = db.prepare(`UPDATE idempotency_keys SET status = ?, body = ? WHERE ${where}`);
    this.delete = db.prepare(`DELETE FROM idempotency_keys WHERE ${where}`);
    this.deleteClaim = db.prepare(`DELETE FROM idempotency_keys WHERE ${where} AND fingerprint = ? AND created_at = ? AND status IS NULL`);
    this.claimTransaction = db.transaction((scope: ScopeParameters, fingerprint: string, now: number): IdempotencyClaim => {
      this.deleteExpired.run(now);
      const row = this.select.get(...scope);
      if (!row) {
        this.insert.run(...scope, fingerprint, now, now + IDEMPOTENCY_KEY_LIFETIME_MS);
        return { outcome: 'claimed' };
      }
      if (row.fingerprint !== fingerprint) return { outcome: 'other-request' };
      if (row.status === null || row.body === null) return { outcome: 'in-flight' };
      return { outcome: 'replay', answer: { status: row.status, body: row.body } };
    });
  }

  async claim(scope: IdempotencyScope, fingerprint: string, now: Date): Promise<IdempotencyClaim> {
    // IMMEDIATE: the read and the insert under one write lock, across processes; retried
    // with growing pauses while another connection holds it, as the repository's writes are.
    const deadline = Date.now() + this.busyTimeoutMs;
    for (let pauseMs = 1; ; pauseMs = Math.min(pauseMs * 2, 25)) {
      try {
        return available(() => this.claimTransaction.immediate(parameters(scope), fingerprint, now.getTime()));
      } catch (error) {
        const left = deadline - Date.now();
        if (!(error instanceof StorageUnavailableError && errorCode(error.cause) === 'SQLITE_BUSY' && left > 0)) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(pauseMs, left)));
      }
    }
  }

  async complete(scope: IdempotencyScope, answer: StoredAnswer): Promise<void> {
    available(() => this.update.run(answer.status, answer.body, ...parameters(scope)));
  }

  async release(scope: IdempotencyScope, claim?: { fingerprint: string; claimedAt: Date }): Promise<void> {
    available(() => (claim ? this.deleteClaim.run(...parameters(scope), claim.fingerprint, claim.claimedAt.getTime()) : this.delete.run(...parameters(scope))));
  }
}

function parameters({ route, sensorId, metric, key }: IdempotencyScope): ScopeParameters {
  return [route, sensorId, metric, key];
}

