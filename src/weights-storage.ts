import type Database from 'better-sqlite3';
import type { AppConfig } from './config';
import { openSqliteDatabase } from './infrastructure/sqlite/open-sqlite-database';
import { SqliteWeightsRepository } from './infrastructure/sqlite/sqlite-weights.repository';

export interface WeightsStorage {
  readonly database: Database.Database;
  readonly repository: SqliteWeightsRepository;
  close(): void;
}

/**
 * Opens the configured weights database and its repository. Shared by the server's
 * container and the command-line tools, which wire their one use case by hand: they
 * start often, and loading the server's logging, metrics and HTTP modules would cost
 * them a good part of a run on the case's file.
 */
export function openWeightsStorage(config: Pick<AppConfig, 'dbPath'> & Partial<Pick<AppConfig, 'dbBusyTimeoutMs'>>): WeightsStorage {
  const database = openSqliteDatabase(config.dbPath, config.dbBusyTimeoutMs);
  return { database, repository: new SqliteWeightsRepository(database), close: () => database.close() };
}
