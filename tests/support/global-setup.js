// Once per test run, before the workers start: build the server and CLIs, and start one
// throwaway PostgreSQL cluster (scripts/postgres-cluster.ts). The workers inherit process.env,
// which is how they learn the cluster's URL, or why there is none.
const buildOnce = require('./build-once.global-setup');
const { startPostgresCluster } = require('../../scripts/postgres-cluster');

module.exports = async function globalSetup() {
  buildOnce();
  if (process.env.TEST_DATABASE_URL) return;
  try {
    const cluster = await startPostgresCluster();
    globalThis.__sensorAlertsPostgres = cluster; // for the global teardown, in this same process
    process.on('exit', () => cluster.stopNow()); // a run that dies early leaves no server behind
    process.env.TEST_DATABASE_URL = cluster.url;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (process.env.REQUIRE_POSTGRES === '1') throw new Error(`REQUIRE_POSTGRES=1 but no PostgreSQL cluster could be started: ${reason}`);
    process.env.TEST_POSTGRES_UNAVAILABLE = reason;
    console.warn(`\nPostgreSQL tests will be SKIPPED: ${reason}`);
  }
};
