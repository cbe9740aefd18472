import { Pool, TypeOverrides, types, type PoolClient } from 'pg';
import { isConnectionLost } from './postgres-errors';
import { checkReadableSchema, type SchemaMigration } from '../readable-schema';

/** Each entry migrates the schema from version `index` to `index + 1` (table weights_schema). */
const MIGRATIONS: readonly string[] = [
  `
  -- COLLATE "C": byte order, so list() orders sensor ids and metrics as SQLite does.
  CREATE TABLE weights (
    sensor_id  TEXT COLLATE "C" NOT NULL,
    metric     TEXT COLLATE "C" NOT NULL,
    -- float8 admits Infinity and NaN; NaN compares above Infinity, so these refuse both.
    mean       DOUBLE PRECISION NOT NULL CHECK (mean > '-Infinity' AND mean < 'Infinity'),
    std        DOUBLE PRECISION NOT NULL CHECK (std >= 0 AND std < 'Infinity'),
    n          BIGINT NOT NULL CHECK (n >= 2),
    version    BIGINT NOT NULL CHECK (version >= 1),
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (sensor_id, metric)
  );

  CREATE TABLE weights_history (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sensor_id   TEXT COLLATE "C" NOT NULL,
    metric      TEXT COLLATE "C" NOT NULL,
    version     BIGINT NOT NULL,
    change      TEXT NOT NULL CHECK (change IN ('fit', 'adjust')),
    mean        DOUBLE PRECISION NOT NULL,
    std         DOUBLE PRECISION NOT NULL,
    n           BIGINT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL
  );
  CREATE INDEX weights_history_by_model ON weights_history (sensor_id, metric, id);

  -- The history is an audit trail: the database itself refuses to rewrite it.
  CREATE FUNCTION weights_history_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    RAISE EXCEPTION 'weights_history is append-only' USING ERRCODE = 'restrict_violation';
  END $$;
  CREATE TRIGGER weights_history_is_append_only_update BEFORE UPDATE OR DELETE ON weights_history
    FOR EACH ROW EXECUTE FUNCTION weights_history_is_append_only();
  CREATE TRIGGER weights_history_is_append_only_truncate BEFORE TRUNCATE ON weights_history
    FOR EACH STATEMENT EXECUTE FUNCTION weights_history_is_append_only();
  `,
  // 2: the model lifecycle. Models keep the adjust factor beside what they learned, and the
  // learned sufficient statistics (JSON of ReadingsAccumulator's Moments, as text so every
  // double reads back exactly; NULL for rows written before: derived from mean, std and n
  // when read, see domain/legacy-moments.ts). The history records both, and admits the
  // changes update and rollback. Adding a column with a default rewrites no row and fires
  // no trigger. And the Idempotency-Key records of the writes.
  `
  ALTER TABLE weights ADD COLUMN adjustment DOUBLE PRECISION NOT NULL DEFAULT 1
    CHECK (adjustment > '-Infinity' AND adjustment < 'Infinity' AND adjustment <> 0);
  ALTER TABLE weights ADD COLUMN moments TEXT;
  ALTER TABLE weights_history ADD COLUMN adjustment DOUBLE PRECISION NOT NULL DEFAULT 1;
  ALTER TABLE weights_history ADD COLUMN moments TEXT;
  ALTER TABLE weights_history DROP CONSTRAINT weights_history_change_check;
  ALTER TABLE weights_history ADD CONSTRAINT weights_history_change_check CHECK (change IN ('fit', 'update', 'adjust', 'rollback'));
  CREATE INDEX weights_history_by_version ON weights_history (sensor_id, metric, version);

  -- Idempotency-Key records: status and body NULL while the request is in flight. Times in
  -- milliseconds since the epoch.
  CREATE TABLE idempotency_keys (
    route       TEXT NOT NULL,
    sensor_id   TEXT NOT NULL,
    metric      TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      INTEGER,
    body        TEXT,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (route, sensor_id, metric, key)
  );
  CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);
  `,
  // 3: live readings. Each model's debounced alert state (AlertDebounce's AlertState) and
  // its latest reading, so a restart or another replica neither repeats a raise nor forgets
  // an alert. A model without a row is cleared. Rows are locked (FOR UPDATE) while a batch
  // steps them: that is what lets only one replica decide a transition.
  `
  CREATE TABLE alert_states (
    sensor_id  TEXT COLLATE "C" NOT NULL,
    metric     TEXT COLLATE "C" NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('raised', 'cleared')),
    pending    INTEGER NOT NULL CHECK (pending >= 0),
    since      TIMESTAMPTZ CHECK (since IS NOT NULL OR status = 'cleared'),
    last_value DOUBLE PRECISION NOT NULL,
    threshold  DOUBLE PRECISION NOT NULL,
    last_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (sensor_id, metric)
  );
  -- GET /alerts/active reads the raised ones alone, in key order.
  CREATE INDEX alert_states_raised ON alert_states (sensor_id, metric) WHERE status = 'raised';
  `,
  // 4: deleting a model. Its row stays, marked deleted, so that its versions go on counting
  // when it is stored again; the history admits the change delete. A column with a constant
  // default rewrites no row. This build writes a deleted row only to store the model again
  // (deleted = false); a replica of schema 3 still running knows nothing of the mark, and its
  // writes (acknowledged) would stay invisible to the others: the trigger makes any write to
  // a deleted row store the model again.
  `
  ALTER TABLE weights ADD COLUMN deleted BOOLEAN NOT NULL DEFAULT false;
  CREATE FUNCTION weights_written_is_stored() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    NEW.deleted := false;
    RETURN NEW;
  END $$;
  CREATE TRIGGER weights_written_is_stored BEFORE UPDATE ON weights
    FOR EACH ROW WHEN (OLD.deleted AND NEW.deleted) EXECUTE FUNCTION weights_written_is_stored();
  ALTER TABLE weights_history DROP CONSTRAINT weights_history_change_check;
  ALTER TABLE weights_history ADD CONSTRAINT weights_history_change_check CHECK (change IN ('fit', 'update', 'adjust', 'rollback', 'delete'));
  `,
  // 5: the database's identity, drawn once at random (32 hex digits), which every replica on
  // it shares: its alert events carry it, so that a replica can tell another database's
  // events on the same topics from its own (it leaves those alone, rather than correct them).
  `
  CREATE TABLE database_identity (
    one BOOLEAN PRIMARY KEY DEFAULT true CHECK (one),
    id  TEXT NOT NULL CHECK (length(id) = 32)
  );
  INSERT INTO database_identity (id) VALUES (replace(gen_random_uuid()::text, '-', ''));
  `,
];

export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;

// Any constant both replicas agree on: it names the lock that serializes migrations.
const MIGRATION_LOCK_KEY = 7_216_349_001;

export interface PostgresPoolOptions {
  /** Connections this process may hold; replicas x max must stay under the server's max_connections. */
  readonly max?: number;
  /** How long a statement waits for a row lock before failing (then a 503), as SQLite's busy timeout. */
  readonly lockTimeoutMs?: number;
  /**
   * How long a statement may run: the server cancels it past this (statement_timeout, so it
   * is rolled back and the failure is a clean one), and the client gives up on a server or
   * network that does not answer at all QUERY_TIMEOUT_GRACE_MS later (then a write's
   * outcome is unknown). Also bounds the wait for a new connection.
   */
  readonly queryTimeoutMs?: number;
  /** How long a request waits for a free connection, or for a new one to connect (default 10 s, or less than queryTimeoutMs). */
  readonly connectionTimeoutMs?: number;
  /**
   * How long to keep trying when the server cannot be reached yet (a database container
   * started alongside, still initialising); 0 fails at the first refusal.
   */
  readonly startupWaitMs?: number;
  /** Called with errors of idle connections (a restarted server); the pool replaces them. */
  readonly onIdleError?: (error: Error) => void;
  /** Called once the schema of an existing database was migrated (not when it is created, nor when another replica did it). */
  readonly onMigrated?: (migration: SchemaMigration) => void;
  /**
   * For a tool that only reads (alerts): every session is read-only on the server's side
   * (default_transaction_read_only), and the schema is checked, never created or migrated,
   * so it must be the current one.
   */
  readonly readOnly?: boolean;
}

/**
 * A pool of connections configured as the service uses them (timeouts, types, read-only),
 * without connecting yet: for a second pool beside the one openPostgresPool opened.
 */
export function createPostgresPool(connectionString: string, options: PostgresPoolOptions = {}): Pool {
  const { queryTimeoutMs } = options;
  const pool = new Pool({
    connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? Math.min(10_000, queryTimeoutMs ?? 10_000),
    ...(queryTimeoutMs !== undefined && { statement_timeout: queryTimeoutMs, query_timeout: queryTimeoutMs + QUERY_TIMEOUT_GRACE_MS }),
    idleTimeoutMillis: 30_000,
    // TCP keep-alive notices a server that vanished without closing its connections.
    keepAlive: true,
    // PostgreSQL reads 0 as "wait forever"; ours means "do not wait", as SQLite's busy timeout does.
    ...(options.lockTimeoutMs !== undefined && { lock_timeout: Math.max(1, options.lockTimeoutMs) }),
    // A transaction left open by a crashed request must not hold its row locks forever.
    idle_in_transaction_session_timeout: 60_000,
    application_name: 'sensor-alerts',
    // A statement whose client gave up (no answer in time) is cancelled once the server sees
    // its connection closed, rather than committed later (PostgreSQL 14+).
    options: `-c client_connection_check_interval=${CONNECTION_CHECK_MS}${options.readOnly ? ' -c default_transaction_read_only=on' : ''}`,
    types: bigintsAsNumbers(),
  });
  // Without a listener, an idle connection dropped by the server would crash the process.
  pool.on('error', (error) => options.onIdleError?.(error));
  return pool;
}

/**
 * Connects to PostgreSQL and migrates the schema (or, `readOnly`, checks it); rejects when
 * the server cannot be reached or the schema is newer than this build (or, `readOnly`,
 * missing or older). The pool parses BIGINT to numbers.
 */
export async function openPostgresPool(connectionString: string, options: PostgresPoolOptions = {}): Promise<Pool> {
  const pool = createPostgresPool(connectionString, options);
  const deadline = Date.now() + (options.startupWaitMs ?? 0);
  for (;;) {
    try {
      const client = await pool.connect();
      // Lost while checked out, pg also emits the error as an event: unheard, a crash. The query rejects with it anyway.
      let lost: Error | undefined;
      const onError = (error: Error) => (lost = error);
      client.on('error', onError);
      try {
        if (options.readOnly) await checkSchema(client);
        else {
          const migration = await migrate(client);
          if (migration) options.onMigrated?.(migration);
        }
      } finally {
        client.off('error', onError);
        client.release(lost);
      }
      return pool;
    } catch (error) {
      if (isConnectionLost(error) && Date.now() + STARTUP_RETRY_MS < deadline) {
        await new Promise((resolve) => setTimeout(resolve, STARTUP_RETRY_MS));
        continue;
      }
      await pool.end().catch(() => undefined);
      throw error;
    }
  }
}

const STARTUP_RETRY_MS = 500;
// The server's statement_timeout fires first, with a clean cancellation; this is for a server that cannot answer at all.
const QUERY_TIMEOUT_GRACE_MS = 1000;
const CONNECTION_CHECK_MS = 1000;

// Lock, read and migrate in one transaction, so replicas starting together cannot both
// create the schema: the second waits, then finds it current.
async function migrate(client: PoolClient): Promise<SchemaMigration | undefined> {
  // Already current (the common start): nothing to lock or create, so a role with rights on
  // the tables but none to change the schema (least privilege) can run the service.
  if ((await schemaVersion(client)) === POSTGRES_SCHEMA_VERSION) return undefined;
  const started = Date.now();
  await client.query('BEGIN');
  try {
    // Waiting for another replica's migration is expected; the requests' timeouts are not for this.
    await client.query('SET LOCAL lock_timeout = 0');
    await client.query('SET LOCAL statement_timeout = 0');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query('CREATE TABLE IF NOT EXISTS weights_schema (version INTEGER NOT NULL)');
    const { rows } = await client.query<{ version: number }>('SELECT version FROM weights_schema');
    const current = rows[0]?.version ?? 0;
    if (current > POSTGRES_SCHEMA_VERSION) {
      throw new Error(`database schema version ${current} is newer than this build supports (${POSTGRES_SCHEMA_VERSION})`);
    }
    for (let version = current; version < POSTGRES_SCHEMA_VERSION; version++) await client.query(MIGRATIONS[version]!);
    if (rows.length === 0) await client.query('INSERT INTO weights_schema (version) VALUES ($1)', [POSTGRES_SCHEMA_VERSION]);
    else if (current < POSTGRES_SCHEMA_VERSION) await client.query('UPDATE weights_schema SET version = $1', [POSTGRES_SCHEMA_VERSION]);
    await client.query('COMMIT');
    return current > 0 && current < POSTGRES_SCHEMA_VERSION ? { from: current, to: POSTGRES_SCHEMA_VERSION, ms: Date.now() - started } : undefined;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** The schema's version, 0 when it has none (an empty database), read without writing. */
async function schemaVersion(client: PoolClient): Promise<number> {
  const { rows: tables } = await client.query<{ found: string | null }>("SELECT to_regclass('weights_schema')::text AS found");
  const { rows } = tables[0]?.found ? await client.query<{ version: number }>('SELECT version FROM weights_schema') : { rows: [] };
  return rows[0]?.version ?? 0;
}

/** The schema of a database opened read-only: it must be this build's, as nothing may migrate it. */
async function checkSchema(client: PoolClient): Promise<void> {
  checkReadableSchema(await schemaVersion(client), POSTGRES_SCHEMA_VERSION, 'DATABASE_URL');
}

/** pg returns BIGINT as text, since it may exceed 2^53; ours (versions, counts) never do, and are checked. */
function bigintsAsNumbers(): TypeOverrides {
  const overrides = new TypeOverrides();
  overrides.setTypeParser(types.builtins.INT8, (text: string) => {
    const value = Number(text);
    if (!Number.isSafeInteger(value)) throw new RangeError(`BIGINT ${text} exceeds the integers a JavaScript number holds exactly`);
    return value;
  });
  return overrides;
}
