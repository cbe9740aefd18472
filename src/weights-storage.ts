import { existsSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import type { Pool } from 'pg';
import type { AlertStateRepository } from './application/ports/alert-state.repository';
import type { IdempotencyStore } from './application/ports/idempotency.store';
import type { WeightsRepository } from './application/ports/weights.repository';
import { redactDatabaseUrl, type AppConfig } from './config';
import { errorMessage } from './infrastructure/error-shape';
import type { SchemaMigration } from './infrastructure/readable-schema';
import { missingFoldersAbove, openSqliteDatabase } from './infrastructure/sqlite/open-sqlite-database';
import { SqliteAlertStateRepository } from './infrastructure/sqlite/sqlite-alert-state.repository';
import { SqliteIdempotencyStore } from './infrastructure/sqlite/sqlite-idempotency.store';
import { SqliteWeightsRepository } from './infrastructure/sqlite/sqlite-weights.repository';

// How long closing PostgreSQL waits for queries still running before letting them go.
const POOL_END_WAIT_MS = 2000;

export interface WeightsStorage {
  readonly repository: WeightsRepository;
  /** The Idempotency-Key records of the writes, in the same database. */
  readonly idempotency: IdempotencyStore;
  /** Each model's alert state (live readings), in the same database. */
  readonly alertStates: AlertStateRepository;
  /**
   * The database's identity (32 hex digits, drawn when its schema was created or upgraded to
   * version 5), shared by every replica on it and carried by their MQTT alert events.
   */
  readonly databaseId: string;
  /** The schema migration this open made, for the log: a large SQLite history takes seconds. */
  readonly migration?: SchemaMigration;
  close(): Promise<void>;
}

export type WeightsStorageConfig = Pick<AppConfig, 'dbPath'> &
  Partial<Pick<AppConfig, 'databaseUrl' | 'databasePoolMax' | 'databaseStartupWaitMs' | 'dbBusyTimeoutMs' | 'requestTimeoutMs'>> & {
    /**
     * For a tool that only reads (alerts): either database is opened read-only, its schema
     * checked, never created or migrated; a missing SQLite file is an error, not a new one.
     */
    readonly readOnly?: boolean;
  };

/**
 * Opens the configured weights storage and its repository: PostgreSQL when DATABASE_URL
 * is set (connected and migrated before this resolves, so a bad URL fails the start),
 * else the SQLite file at DB_PATH. Shared by the server's container and the command-line
 * tools, which wire their one use case by hand: they start often, and loading the
 * server's logging, metrics and HTTP modules would cost them a good part of a run on the
 * case's file.
 */
export async function openWeightsStorage(
  config: WeightsStorageConfig,
  onIdleError: (error: Error) => void = () => undefined,
  onFileLost: (path: string) => void = () => undefined,
): Promise<WeightsStorage> {
  try {
    return await openConfigured(config, onIdleError, onFileLost);
  } catch (error) {
    throw new WeightsStorageOpenError(`cannot open the weights database at ${describeWeightsStorage(config)}: ${errorMessage(error)}`, { cause: error });
  }
}

/** The configured storage cannot be opened: unreachable, refused, corrupt, or of a newer schema. */
export class WeightsStorageOpenError extends Error {
  override readonly name = 'WeightsStorageOpenError';
}

async function openConfigured(config: WeightsStorageConfig, onIdleError: (error: Error) => void, onFileLost: (path: string) => void): Promise<WeightsStorage> {
  let migration: SchemaMigration | undefined;
  if (config.databaseUrl) {
    // Loaded only when used: pg is most of what the CLIs would otherwise load at every start.
    const [{ createPostgresPool, openPostgresPool }, { PostgresWeightsRepository }, { PostgresIdempotencyStore }, { PostgresAlertStateRepository }] = await Promise.all([
      import('./infrastructure/postgres/open-postgres-pool.js'),
      import('./infrastructure/postgres/postgres-weights.repository.js'),
      import('./infrastructure/postgres/postgres-idempotency.store.js'),
      import('./infrastructure/postgres/postgres-alert-state.repository.js'),
    ]);
    const options = {
      startupWaitMs: config.databaseStartupWaitMs ?? 0,
      // No query outlives the request it serves.
      ...(config.requestTimeoutMs !== undefined && { queryTimeoutMs: config.requestTimeoutMs }),
      lockTimeoutMs: config.dbBusyTimeoutMs ?? 5000,
      // An idle connection the server dropped is replaced on next use; worth a log line, no more.
      onIdleError,
      onMigrated: (made: SchemaMigration) => (migration = made),
      readOnly: config.readOnly ?? false,
    };
    // A quarter of the connections (at least one, given two) serve reads and health checks
    // alone: writers queued behind one model's row lock must not hold every connection, or
    // /health and the predictions of every other sensor wait with them.
    const max = config.databasePoolMax ?? 10;
    const readMax = max >= 2 ? Math.max(1, Math.floor(max / 4)) : 0;
    const pool = await openPostgresPool(config.databaseUrl, { ...options, max: max - readMax });
    const reads = readMax > 0 ? createPostgresPool(config.databaseUrl, { ...options, max: readMax }) : pool;
    let closed: Promise<void> | undefined;
    // pool.end() waits for every query still running: at shutdown, those of requests cut off
    // after the grace period, which a hung server may never answer. Exiting closes them.
    const end = (ending: Pool) => Promise.race([ending.end(), delay(POOL_END_WAIT_MS, undefined, { ref: false })]);
    const { rows } = await pool.query<{ id: string }>('SELECT id FROM database_identity');
    return {
      migration,
      databaseId: rows[0]!.id,
      repository: new PostgresWeightsRepository(pool, reads),
      idempotency: new PostgresIdempotencyStore(pool),
      alertStates: new PostgresAlertStateRepository(pool, reads),
      close: () => (closed ??= Promise.all([end(pool), reads === pool ? undefined : end(reads)]).then(() => undefined)),
    };
  }
  const database = openSqliteDatabase(config.dbPath, config.dbBusyTimeoutMs, { create: !config.readOnly, onMigrated: (made) => (migration = made) });
  const repository = new SqliteWeightsRepository(database, config.dbBusyTimeoutMs, onFileLost);
  return {
    migration,
    databaseId: database.prepare('SELECT id FROM database_identity').pluck().get() as string,
    repository,
    idempotency: new SqliteIdempotencyStore(database, config.dbBusyTimeoutMs),
    alertStates: new SqliteAlertStateRepository(database, config.dbBusyTimeoutMs, () => repository.assertFileInPlace()),
    close: async () => {
      database.close();
    },
  };
}

/** Files and folders (deepest first) that opening the storage would create. */
export interface StorageCreated {
  readonly files: readonly string[];
  readonly folders: readonly string[];
}

/**
 * What opening the configured storage creates: for a SQLite file not there yet, the file, its
 * -wal, -shm and -journal companions and the folders above it; nothing for PostgreSQL or an
 * existing file. Taken before the open, for a start that fails to remove again.
 */
export function storageCreatedByOpen(config: WeightsStorageConfig): StorageCreated | undefined {
  if (config.databaseUrl || existsSync(config.dbPath)) return undefined;
  return { files: ['', '-wal', '-shm', '-journal'].map((suffix) => config.dbPath + suffix), folders: missingFoldersAbove(config.dbPath) };
}

/** Where the weights live, for logs and messages: the file, or the URL without its password. */
export function describeWeightsStorage(config: WeightsStorageConfig): string {
  return config.databaseUrl ? redactDatabaseUrl(config.databaseUrl) : config.dbPath;
}
