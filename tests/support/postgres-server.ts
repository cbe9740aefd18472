import { Client } from 'pg';

// How the PostgreSQL half of the suite finds a server. TEST_DATABASE_URL names one (any
// database on it; each test file creates its own). Without it, the global setup starts a
// throwaway cluster and sets TEST_DATABASE_URL for the workers, or, when it cannot,
// TEST_POSTGRES_UNAVAILABLE with the reason. REQUIRE_POSTGRES=1 (as in CI) turns that
// reason into a failure instead of a skip.

/** Which PostgreSQL the tests use: a URL, or why there is none. Synchronous: describe blocks need it. */
export function testPostgres(): { url: string } | { unavailable: string } {
  const url = process.env.TEST_DATABASE_URL;
  if (url) return { url };
  const reason = process.env.TEST_POSTGRES_UNAVAILABLE ?? 'no TEST_DATABASE_URL, and the global setup started no cluster';
  if (process.env.REQUIRE_POSTGRES === '1') throw new Error(`REQUIRE_POSTGRES=1 but PostgreSQL is unavailable: ${reason}`);
  return { unavailable: reason };
}

/**
 * `describe`, or `describe.skip` with a visible warning when there is no PostgreSQL:
 * a skipped half of the suite must never look like a passing one.
 */
export function describeWithPostgres(name: string, body: (adminUrl: () => string) => void): void {
  const postgres = testPostgres();
  if ('unavailable' in postgres) {
    console.warn(`SKIPPED "${name}": no PostgreSQL server (${postgres.unavailable}). Set TEST_DATABASE_URL or install PostgreSQL.`);
    describe.skip(name, () => body(() => ''));
    return;
  }
  describe(name, () => body(() => postgres.url));
}

export interface TestDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

/** A fresh, empty database on the server of `adminUrl`: test files never share state. */
export async function createTestDatabase(adminUrl: string, label: string): Promise<TestDatabase> {
  const name = `sensor_alerts_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${process.pid}_${Date.now().toString(36)}`;
  // A linguistic (ICU) default collation where the server has one, so that a column missing
  // its COLLATE "C" shows up as a wrong order instead of passing on a C-locale test cluster.
  await adminQuery(adminUrl, `CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'`).catch(() =>
    adminQuery(adminUrl, `CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'UTF8'`),
  );
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    // FORCE: a pool the test failed to close must not keep the database alive.
    drop: () => adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
