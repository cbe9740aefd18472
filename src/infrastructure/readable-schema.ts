/** A schema migration an open made: from which version to which, and how long it took (ms). */
export interface SchemaMigration {
  readonly from: number;
  readonly to: number;
  readonly ms: number;
}

/**
 * Refuses, by its schema version, a database that a tool which only reads (alerts) cannot
 * use as it is: no schema yet (0), or one newer or older than this build's `current` (such a
 * tool migrates nothing). `variable` names the setting that chose the database. The same
 * rule for SQLite (PRAGMA user_version) and PostgreSQL (weights_schema).
 */
export function checkReadableSchema(version: number, current: number, variable: 'DB_PATH' | 'DATABASE_URL'): void {
  if (version === 0) throw new Error(`holds no weights yet (an empty database, or not one this service wrote): train first, or check ${variable}`);
  if (version > current) throw new Error(`database schema version ${version} is newer than this build supports (${current})`);
  if (version < current) throw new Error(`database schema version ${version} is older than this build's (${current}): run train or serve on it once, which upgrades it`);
}
