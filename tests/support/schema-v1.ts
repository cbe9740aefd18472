// The schema as the release before the model lifecycle wrote it (version 1, both backends),
// copied verbatim: the fixture the migration tests upgrade. Never edit it.

export const SQLITE_SCHEMA_V1 = `
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
  `;

export const POSTGRES_SCHEMA_V1 = `
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
  `;
