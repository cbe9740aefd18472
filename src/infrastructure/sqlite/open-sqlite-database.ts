import Database from 'better-sqlite3';
import { accessSync, constants, existsSync, mkdirSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { checkReadableSchema, type SchemaMigration } from '../readable-schema';

/** Each entry migrates the schema from version `index` to `index + 1` (PRAGMA user_version). */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE weights (
    sensor_id  TEXT    NOT NULL,
    metric     TEXT    NOT NULL,
    mean       REAL    NOT NULL CHECK (mean BETWEEN -1.7976931348623157e308 AND 1.7976931348623157e308),
    std        REAL    NOT NULL CHECK (std BETWEEN 0 AND 1.7976931348623157e308),
    n          INTEGER NOT NULL CHECK (n >= 2),
    version    INTEGER NOT NULL CHECK (version >= 1),
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (sensor_id, metric)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE weights_history (
    id          INTEGER PRIMARY KEY,
    sensor_id   TEXT    NOT NULL,
    metric      TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    change      TEXT    NOT NULL CHECK (change IN ('fit', 'adjust')),
    mean        REAL    NOT NULL,
    std         REAL    NOT NULL,
    n           INTEGER NOT NULL,
    recorded_at TEXT    NOT NULL
  ) STRICT;
  CREATE INDEX weights_history_by_model ON weights_history (sensor_id, metric, id);

  -- The history is an audit trail: the database itself refuses to rewrite it.
  CREATE TRIGGER weights_history_is_append_only_update BEFORE UPDATE ON weights_history
  BEGIN SELECT RAISE(ABORT, 'weights_history is append-only'); END;
  CREATE TRIGGER weights_history_is_append_only_delete BEFORE DELETE ON weights_history
  BEGIN SELECT RAISE(ABORT, 'weights_history is append-only'); END;
  `,
  // 2: the model lifecycle. Models keep the adjust factor beside what they learned, and the
  // learned sufficient statistics (JSON of ReadingsAccumulator's Moments; NULL for rows
  // written before: derived from mean, std and n when read, see domain/legacy-moments.ts).
  // The history records both, and admits the changes update and rollback: SQLite cannot
  // alter a CHECK, so the table is rebuilt, every revision copied with its id. And the
  // Idempotency-Key records of the writes.
  `
  ALTER TABLE weights ADD COLUMN adjustment REAL NOT NULL DEFAULT 1
    CHECK (adjustment BETWEEN -1.7976931348623157e308 AND 1.7976931348623157e308 AND adjustment <> 0);
  ALTER TABLE weights ADD COLUMN moments TEXT;

  CREATE TABLE weights_history_2 (
    id          INTEGER PRIMARY KEY,
    sensor_id   TEXT    NOT NULL,
    metric      TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    change      TEXT    NOT NULL CHECK (change IN ('fit', 'update', 'adjust', 'rollback')),
    mean        REAL    NOT NULL,
    std         REAL    NOT NULL,
    n           INTEGER NOT NULL,
    recorded_at TEXT    NOT NULL,
    adjustment  REAL    NOT NULL DEFAULT 1,
    moments     TEXT
  ) STRICT;
  INSERT INTO weights_history_2 (id, sensor_id, metric, version, change, mean, std, n, recorded_at)
    SELECT id, sensor_id, metric, version, change, mean, std, n, recorded_at FROM weights_history ORDER BY id;
  -- Dropping a table fires no trigger, and takes its triggers and index with it.
  DROP TABLE weights_history;
  ALTER TABLE weights_history_2 RENAME TO weights_history;
  CREATE INDEX weights_history_by_model ON weights_history (sensor_id, metric, id);
  CREATE INDEX weights_history_by_version ON weights_history (sensor_id, metric, version);
  CREATE TRIGGER weights_history_is_append_only_update BEFORE UPDATE ON weights_history
  BEGIN SELECT RAISE(ABORT, 'weights_history is append-only'); END;
  CREATE TRIGGER weights_history_is_append_only_delete BEFORE DELETE ON weights_history
  BEGIN SELECT RAISE(ABORT, 'weights_history is append-only'); END;

  -- Idempotency-Key records: status and body NULL while the request is in flight. Times in
  -- milliseconds since the epoch.
  CREATE TABLE idempotency_keys (
    route       TEXT    NOT NULL,
    sensor_id   TEXT    NOT NULL,
    metric      TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    status      INTEGER,
    body        TEXT,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (route, sensor_id, metric, key)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);
  `,
  // 3: live readings. Each model's debounced alert state (AlertDebounce's AlertState) and
  // its latest reading: a restart or another process neither repeats a raise nor forgets an
  // alert. A model without a row is cleared. Times in milliseconds since the epoch: written
  // per batch of readings, where an ISO string would cost a conversion each way.
  `
  CREATE TABLE alert_states (
    sensor_id  TEXT    NOT NULL,
    metric     TEXT    NOT NULL,
    status     TEXT    NOT NULL CHECK (status IN ('raised', 'cleared')),
    pending    INTEGER NOT NULL CHECK (pending >= 0),
    since      INTEGER CHECK (since IS NOT NULL OR status = 'cleared'),
    last_value REAL    NOT NULL,
    threshold  REAL    NOT NULL,
    last_at    INTEGER NOT NULL,
    PRIMARY KEY (sensor_id, metric)
  ) STRICT, WITHOUT ROWID;
  -- GET /alerts/active reads the raised ones alone, in key order.
  CREATE INDEX alert_states_raised ON alert_states (sensor_id, metric) WHERE status = 'raised';
  `,
  // 4: deleting a model. Its row stays, marked deleted, so that its versions go on counting
  // when it is stored again; the history admits the change delete (the table rebuilt for its
  // CHECK, every revision copied with its id, as in 2). This build writes a deleted row only
  // to store the model again (deleted = 0); a build of schema 3 still running on the file
  // knows nothing of the mark, and its writes (acknowledged) would stay invisible here: the
  // trigger makes any write to a deleted row store the model again.
  `
  ALTER TABLE weights ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1));
  CREATE TRIGGER weights_written_is_stored AFTER UPDATE OF version ON weights WHEN OLD.deleted = 1 AND NEW.deleted = 1
  BEGIN UPDATE weights SET deleted = 0 WHERE sensor_id = NEW.sensor_id AND metric = NEW.metric; END;

  CREATE TABLE weights_history_4 (
    id          INTEGER PRIMARY KEY,
    sensor_id   TEXT    NOT NULL,
    metric      TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    change      TEXT    NOT NULL CHECK (change IN ('fit', 'update', 'adjust', 'rollback', 'delete')),
    mean        REAL    NOT NULL,
    std         REAL    NOT NULL,
    n           INTEGER NOT NULL,
    recorded_at TEXT    NOT NULL,
    adjustment  REAL    NOT NULL DEFAULT 1,
    moments     TEXT
  ) STRICT;
  INSERT INTO weights_history_4 SELECT id, sensor_id, metric, version, change, mean, std, n, recorded_at, adjustment, moments FROM weights_history ORDER BY id;
  DROP TABLE weights_history;
  ALTER TABLE weights_history_4 RENAME TO weights_history;
  CREATE INDEX weights_history_by_model ON weights_history (sensor_id, metric, id);
  CREATE INDEX weights_history_by_version ON weights_history (sensor_id, metric, version);
  CREATE TRIGGER weights_history_is_append_only_update BEFORE UPDATE ON weights_history
  BEGIN SELECT RAISE(ABORT, 'weights_history is append-only'); END;
  CREATE TRIGGER weights_history_is_append_only_delete BEFORE DELETE ON weights_history
  BEGIN SELECT RAISE(ABORT, 'weights_history is append-only'); END;
  `,
  // 5: the database's identity, drawn once at random (32 hex digits), which every replica on
  // it shares: its alert events carry it, so that a replica can tell another database's
  // events on the same topics from its own (it leaves those alone, rather than correct them).
  `
  CREATE TABLE database_identity (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    id  TEXT    NOT NULL CHECK (length(id) = 32)
  ) STRICT;
  INSERT INTO database_identity (one, id) VALUES (1, lower(hex(randomblob(16))));
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Opens (creating folder and file if missing, unless `create` is false: then a missing file,
 * or one that holds no weights schema yet, such as an empty file, is an error, and nothing
 * is written to it) and migrates the weights database.
 * WAL lets readers proceed during a write; synchronous=FULL makes every acknowledged
 * commit survive a crash or power loss. The migration may wait up to `busyTimeoutMs` for
 * another process's lock; after it, the connection never waits (busy_timeout 0): SQLite
 * would wait synchronously, freezing the event loop, so SqliteWeightsRepository retries
 * a busy write asynchronously instead.
 */
export function openSqliteDatabase(
  path: string,
  busyTimeoutMs = 5000,
  { create = true, onMigrated }: { create?: boolean; onMigrated?: (migration: SchemaMigration) => void } = {},
): Database.Database {
  if (path !== ':memory:') {
    if (!create && !existsSync(path)) throw new Error('no such file (DB_PATH names the database the trainer or the server wrote)');
    // Opening a FIFO for reading waits for a writer forever; a folder or device is no database either.
    const kind = statOrNothing(path); // a path under a file: createFolderOf says so
    if (kind && !kind.isFile()) throw new Error(`not a regular file (${kind.isDirectory() ? 'a folder' : 'a FIFO, device or socket'}): DB_PATH names the database file`);
    // SQLite would open a read-only file read-only, then leave -wal and -shm files beside it,
    // read-only too, on its way to refusing the first write: refuse before touching anything.
    if (kind && create) refuseUnwritable(path, constants.R_OK | constants.W_OK);
    createFolderOf(path);
  }
  if (!create) return openForReading(path);
  const db = openFile(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
    const migration = migrate(db);
    db.pragma('busy_timeout = 0');
    if (migration) onMigrated?.(migration);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Creates the missing folders above the file one at a time, failing at the first that cannot
 * be made: mkdirSync({ recursive: true }) retries forever, synchronously, where mkdir answers
 * ENOENT under an existing folder (/proc/x), so the process would hang deaf to signals.
 */
function createFolderOf(path: string): void {
  const missing = missingFoldersAbove(path);
  const nearest = dirname(missing.at(-1) ?? resolve(path));
  if (statOrMissing(nearest)?.isDirectory() === false) throw new Error(`${nearest} is a file, not a folder (DB_PATH must be a file inside folders)`);
  for (const folder of missing.reverse()) {
    try {
      mkdirSync(folder);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue; // another process made it meanwhile
      throw new Error(`cannot create the folder ${folder} for DB_PATH: ${(error as Error).message}`, { cause: error });
    }
  }
}

/**
 * The folders above `path` that do not exist yet, deepest first: those a first open creates.
 * The walk stops at the nearest entry that exists (a folder, or a file in the way) and below
 * the root. (The server removes them again when its start fails.)
 */
export function missingFoldersAbove(path: string): string[] {
  const missing: string[] = [];
  for (let folder = dirname(resolve(path)); dirname(folder) !== folder && isMissing(folder); folder = dirname(folder)) missing.push(folder);
  return missing;
}

function isMissing(path: string): boolean {
  try {
    statSync(path);
    return false;
  } catch (error) {
    // Not there, also under a file (ENOTDIR: the walk up finds that file); any other fault is left to the open to report.
    return ['ENOENT', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '');
  }
}

/** Its stats, or undefined when it is missing, also under a file (ENOTDIR: the walk up finds that file). */
function statOrMissing(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (error) {
    if (['ENOENT', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '')) return undefined;
    throw error;
  }
}

/** SQLite says only "unable to open database file"; name the usual cause, a folder we may not write. */
function openFile(path: string): Database.Database {
  try {
    return new Database(path);
  } catch (error) {
    if (path === ':memory:') throw error;
    refuseUnwritable(dirname(path), constants.W_OK | constants.X_OK);
    refuseUnwritable(path, constants.R_OK | constants.W_OK);
    throw error;
  }
}

/** Throws, naming `target` and this process's user, when `mode` is denied (or the file system is read-only). */
function refuseUnwritable(target: string, mode: number): void {
  try {
    accessSync(target, mode);
  } catch (denied) {
    const code = (denied as NodeJS.ErrnoException).code;
    if (code === 'EACCES') throw new Error(`permission denied: this process (uid ${process.getuid?.() ?? '?'}) cannot write ${target}`, { cause: denied });
    if (code === 'EROFS') throw new Error(`${target} is on a read-only file system`, { cause: denied });
  }
}

/**
 * A read-only connection, for a tool that only reads (alerts): it never writes the file (a
 * read-write connection checkpoints the WAL into it on close), takes no write lock (so a
 * training meanwhile cannot make it fail), and migrates nothing, so the schema must be the
 * current one. As any reader of a WAL database, SQLite may create the -wal and -shm files
 * beside it when they are missing.
 */
function openForReading(path: string): Database.Database {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    checkReadableSchema(db.pragma('user_version', { simple: true }) as number, SCHEMA_VERSION, 'DB_PATH');
    return db;
  } catch (error) {
    db.close();
    // SQLite reads a WAL database only with its -shm file, which it creates when missing (the
    // service removes both when it stops): a user who may not write the folder cannot.
    const folder = dirname(resolve(path));
    if (String((error as { code?: unknown }).code).startsWith('SQLITE_READONLY') && !existsSync(`${path}-shm`) && !writable(folder)) {
      throw new Error(
        `SQLite must create ${path}-shm to read this WAL database, and this process (uid ${process.getuid?.() ?? '?'}) may not write ${folder}: run as a user who may, or while the service runs on it (it keeps that file)`,
        { cause: error },
      );
    }
    throw error;
  }
}

function writable(folder: string): boolean {
  try {
    accessSync(folder, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

// Read and migrate inside one write transaction, so two processes starting on a new file
// cannot both try to create the schema. Answers the migration made, if any (not a new file's creation).
function migrate(db: Database.Database): SchemaMigration | undefined {
  const started = Date.now();
  const from = db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > SCHEMA_VERSION) {
      throw new Error(`database schema version ${current} is newer than this build supports (${SCHEMA_VERSION})`);
    }
    for (let version = current; version < SCHEMA_VERSION; version++) {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    }
    return current;
  }).immediate();
  return from > 0 && from < SCHEMA_VERSION ? { from, to: SCHEMA_VERSION, ms: Date.now() - started } : undefined;
}

function statOrNothing(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
