// Stops the cluster global-setup.js started, if any.
module.exports = async function globalTeardown() {
  await globalThis.__sensorAlertsPostgres?.stop();
};
