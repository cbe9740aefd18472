import { hostname } from 'node:os';
import { ConfigError, loadConfig, redactDatabaseUrl } from '../../src/config';

describe('loadConfig', () => {
  it('has defaults for everything', () => {
    expect(loadConfig({})).toEqual({
      port: 3000,
      host: '0.0.0.0',
      dbPath: 'data/sensors.db',
      databaseUrl: undefined,
      databaseStartupWaitMs: 0,
      databasePoolMax: 10,
      dbBusyTimeoutMs: 5000,
      requestTimeoutMs: 30000,
      responseTimeoutMs: 30000,
      bodyLimits: { fit: 16_777_216, batch: 20_971_520, small: 1024 },
      logLevel: 'info',
      logFormat: 'json',
      shutdownDelayMs: 0,
      apiToken: undefined,
      apiTokenForReads: false,
      mqtt: undefined,
      alertRaiseAfter: 1,
      alertClearAfter: 1,
      alertWebhookUrl: undefined,
      learnFromStream: { enabled: false, batchSize: 1000, batchMs: 1000 },
    });
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '', LOG_LEVEL: '', DB_PATH: '' })).toMatchObject({ port: 3000, logLevel: 'info', dbPath: 'data/sensors.db' });
  });

  it('reads every variable', () => {
    const env = {
      PORT: '8080',
      HOST: '127.0.0.1',
      DB_PATH: '/data/w.db',
      DATABASE_URL: 'postgresql://app:pw@db.internal:5433/weights',
      DATABASE_STARTUP_WAIT_MS: '30000',
      DATABASE_POOL_MAX: '4',
      DB_BUSY_TIMEOUT_MS: '250',
      REQUEST_TIMEOUT_MS: '2000',
      RESPONSE_TIMEOUT_MS: '4000',
      BODY_LIMIT_FIT: '512kb',
      BODY_LIMIT_BATCH: '2mb',
      BODY_LIMIT_SMALL: '100',
      LOG_LEVEL: 'debug',
      LOG_FORMAT: 'pretty',
      SHUTDOWN_DELAY_MS: '5000',
      API_TOKEN: 'a-long-enough-secret',
      API_TOKEN_READS: 'true',
      MQTT_URL: 'mqtt://ingest:pw@broker:1883',
      MQTT_READINGS_TOPIC: 'plant/+/vibration',
      MQTT_SHARE_GROUP: 'alerts-eu',
      MQTT_ALERTS_TOPIC: 'plant/{sensor_id}/alert-state',
      MQTT_CLIENT_ID: 'sensor-alerts-1',
      MQTT_ALERTS_RECONCILE_MS: '250',
      ALERT_RAISE_AFTER: '3',
      ALERT_CLEAR_AFTER: '5',
      ALERT_WEBHOOK_URL: 'https://hooks.example.com/alerts',
      LEARN_FROM_STREAM: 'true',
      LEARN_BATCH_SIZE: '500',
      LEARN_BATCH_MS: '250',
    };
    expect(loadConfig(env)).toEqual({
      port: 8080,
      host: '127.0.0.1',
      dbPath: '/data/w.db',
      databaseUrl: 'postgresql://app:pw@db.internal:5433/weights',
      databaseStartupWaitMs: 30000,
      databasePoolMax: 4,
      dbBusyTimeoutMs: 250,
      requestTimeoutMs: 2000,
      responseTimeoutMs: 4000,
      bodyLimits: { fit: 524_288, batch: 2_097_152, small: 100 },
      logLevel: 'debug',
      logFormat: 'pretty',
      shutdownDelayMs: 5000,
      apiToken: 'a-long-enough-secret',
      apiTokenForReads: true,
      mqtt: {
        url: 'mqtt://ingest:pw@broker:1883',
        readingsTopic: 'plant/+/vibration',
        shareGroup: 'alerts-eu',
        alertsTopic: 'plant/{sensor_id}/alert-state',
        clientId: 'sensor-alerts-1',
        alertsReconcileMs: 250,
      },
      alertRaiseAfter: 3,
      alertClearAfter: 5,
      alertWebhookUrl: 'https://hooks.example.com/alerts',
      learnFromStream: { enabled: true, batchSize: 500, batchMs: 250 },
    });
  });

  it('defaults every MQTT setting but the URL, and names this host in the client id', () => {
    expect(loadConfig({ MQTT_URL: 'mqtt://localhost' }).mqtt).toEqual({
      url: 'mqtt://localhost',
      readingsTopic: 'sensors/+/readings',
      shareGroup: 'sensor-alerts',
      alertsTopic: 'sensors/{sensor_id}/alerts',
      clientId: `sensor-alerts-${hostname()}`,
      alertsReconcileMs: 1000,
    });
  });

  it('takes an alerts topic whose topics overlap the readings when retained messages are not checked', () => {
    expect(loadConfig({ MQTT_URL: 'mqtt://b', MQTT_ALERTS_TOPIC: 'sensors/{sensor_id}/{metric}', MQTT_ALERTS_RECONCILE_MS: '0' }).mqtt).toMatchObject({ alertsReconcileMs: 0 });
    expect(loadConfig({ MQTT_URL: 'mqtt://b', MQTT_ALERTS_TOPIC: 'sensors/{sensor_id}/alerts/{metric}' }).mqtt).toMatchObject({ alertsReconcileMs: 1000 });
  });

  it('never shows the MQTT or webhook password in a message', () => {
    expect(() => loadConfig({ MQTT_URL: 'http://ingest:hunter2@broker', ALERT_WEBHOOK_URL: 'ftp://u:hunter3@x' })).toThrow(
      'MQTT_URL="http://ingest:***@broker": expected an mqtt://, mqtts://, ws:// or wss:// URL; ALERT_WEBHOOK_URL="ftp://u:***@x"',
    );
  });

  it.each(['0.0.0.0', '127.0.0.1', '::', '::1', 'localhost', 'api.internal'])('accepts HOST=%s', (host) => {
    expect(loadConfig({ HOST: host }).host).toBe(host);
  });

  it.each(['999.1.1.1', '1.2.3', '10.0.0.256', 'bad host', 'http://localhost'])('refuses HOST=%s, naming HOST', (host) => {
    expect(() => loadConfig({ HOST: host })).toThrow(
      `invalid configuration: HOST=${JSON.stringify(host)}: expected an IP address (e.g. 0.0.0.0, 127.0.0.1, ::) or a host name`,
    );
  });

  it('never shows the API token in a message', () => {
    expect(() => loadConfig({ API_TOKEN: 'short secret' })).not.toThrow(/short secret/);
  });

  it('accepts postgres:// as well as postgresql://', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://localhost/weights' }).databaseUrl).toBe('postgres://localhost/weights');
  });

  it('never shows the database password in a message', () => {
    expect(() => loadConfig({ DATABASE_URL: 'http://app:hunter2@db/weights' })).not.toThrow(/hunter2/);
  });

  it.each([
    ['postgres://app:s3cr%2Ft@db:5432/weights', 'postgres://app:***@db:5432/weights'],
    ['postgresql://app@db/weights', 'postgresql://app@db/weights'],
    ['postgres://db/weights?user=app&password=s3cret&sslmode=require', 'postgres://db/weights?user=app&password=***&sslmode=require'],
    ['not a url:with:colons@at', 'not a url:with:colons@at'],
  ])('redacts %s as %s', (raw, shown) => {
    expect(redactDatabaseUrl(raw)).toBe(shown);
  });

  it.each([
    [{ PORT: '3.5' }, 'PORT="3.5"'],
    [{ PORT: '-1' }, 'PORT="-1"'],
    [{ BODY_LIMIT_FIT: '16 megabytes' }, 'BODY_LIMIT_FIT="16 megabytes": expected a size from 1 byte to 1gb, such as 16mb, 512kb or 1048576'],
    [{ BODY_LIMIT_FIT: '99999gb' }, 'BODY_LIMIT_FIT="99999gb": expected a size from 1 byte to 1gb'],
    [{ BODY_LIMIT_BATCH: '1.1gb' }, 'BODY_LIMIT_BATCH="1.1gb": expected a size from 1 byte to 1gb'],
    [{ BODY_LIMIT_SMALL: '0' }, 'BODY_LIMIT_SMALL="0": expected a size from 1 byte to 1gb'],
    [{ BODY_LIMIT_SMALL: 'small' }, 'BODY_LIMIT_SMALL="small": expected a size'],
    [{ BODY_LIMIT: '16mb' }, 'BODY_LIMIT is replaced by BODY_LIMIT_FIT, BODY_LIMIT_BATCH and BODY_LIMIT_SMALL'],
    [{ DB_PATH: ':memory:' }, 'DB_PATH=":memory:": expected a file path (not :memory: or a file: URI)'],
    [{ DB_PATH: 'file:/x?mode=ro' }, 'DB_PATH="file:/x?mode=ro": expected a file path (not :memory: or a file: URI)'],
    [{ DB_PATH: 'FILE:data/w.db' }, 'DB_PATH="FILE:data/w.db": expected a file path'],
    [{ LOG_LEVEL: 'trace' }, 'LOG_LEVEL="trace": expected one of debug, info, warn, error, silent'],
    [{ PORT: '0x50' }, 'PORT="0x50": expected an integer from 0 to 65535'],
    [{ LOG_FORMAT: 'xml' }, 'LOG_FORMAT="xml": expected one of json, pretty'],
    [{ SHUTDOWN_DELAY_MS: '-5' }, 'SHUTDOWN_DELAY_MS="-5": expected milliseconds, 0 to 999999'],
    [{ API_TOKEN: 'short secret' }, 'API_TOKEN (hidden, 12 characters): expected at least 16 printable characters, no spaces'],
    [{ DATABASE_URL: 'mysql://app:hunter2@db/weights' }, 'DATABASE_URL="mysql://app:***@db/weights": expected a postgres:// or postgresql:// URL'],
    [{ DATABASE_URL: 'db.internal:5432' }, 'DATABASE_URL="db.internal:5432": expected a postgres:// or postgresql:// URL'],
    [{ DATABASE_POOL_MAX: '0' }, 'DATABASE_POOL_MAX="0": expected an integer from 1 to 9999'],
    [{ API_TOKEN_READS: 'yes' }, 'API_TOKEN_READS="yes": expected true or false'],
    [{ API_TOKEN_READS: 'true' }, 'API_TOKEN_READS=true needs API_TOKEN'],
    [{ MQTT_URL: 'localhost:1883' }, 'MQTT_URL="localhost:1883": expected an mqtt://, mqtts://, ws:// or wss:// URL'],
    [{ MQTT_URL: 'mqtt://b', MQTT_READINGS_TOPIC: 'sensors/#' }, 'MQTT_READINGS_TOPIC="sensors/#": expected a topic filter with exactly one + level'],
    [{ MQTT_URL: 'mqtt://b', MQTT_READINGS_TOPIC: 'a/+/b/+' }, 'MQTT_READINGS_TOPIC="a/+/b/+"'],
    [{ MQTT_URL: 'mqtt://b', MQTT_READINGS_TOPIC: '$share/g/a/+' }, 'MQTT_READINGS_TOPIC="$share/g/a/+"'],
    [{ MQTT_URL: 'mqtt://b', MQTT_SHARE_GROUP: 'a/b' }, 'MQTT_SHARE_GROUP="a/b": expected 1-64 characters without / + # or spaces'],
    [{ MQTT_URL: 'mqtt://b', MQTT_ALERTS_TOPIC: 'alerts/#' }, 'MQTT_ALERTS_TOPIC="alerts/#": expected a topic name without + or # that holds {sensor_id}'],
    [{ MQTT_URL: 'mqtt://b', MQTT_ALERTS_TOPIC: 'plant/alerts' }, 'MQTT_ALERTS_TOPIC="plant/alerts": expected a topic name without + or # that holds {sensor_id}'],
    [{ MQTT_READINGS_TOPIC: 'a/+' }, 'MQTT_READINGS_TOPIC needs MQTT_URL'],
    [
      { MQTT_URL: 'mqtt://b', MQTT_ALERTS_TOPIC: 'sensors/{sensor_id}/readings' },
      'MQTT_ALERTS_TOPIC="sensors/{sensor_id}/readings": its events would arrive on MQTT_READINGS_TOPIC ("sensors/+/readings"); choose a topic outside it',
    ],
    [{ MQTT_URL: 'mqtt://b', MQTT_READINGS_TOPIC: 'plant/+/x', MQTT_ALERTS_TOPIC: 'plant/{sensor_id}/x' }, 'MQTT_ALERTS_TOPIC="plant/{sensor_id}/x": its events would arrive on MQTT_READINGS_TOPIC ("plant/+/x")'],
    [{ MQTT_URL: 'mqtt://b', MQTT_ALERTS_RECONCILE_MS: '-1' }, 'MQTT_ALERTS_RECONCILE_MS="-1": expected milliseconds, 0 (off) to 999999'],
    [{ MQTT_ALERTS_RECONCILE_MS: '0' }, 'MQTT_ALERTS_RECONCILE_MS needs MQTT_URL'],
    // Checking retained messages subscribes to every alerts topic, sensors/+/+ here: it would take the readings too.
    [
      { MQTT_URL: 'mqtt://b', MQTT_ALERTS_TOPIC: 'sensors/{sensor_id}/{metric}' },
      'MQTT_ALERTS_TOPIC="sensors/{sensor_id}/{metric}": the topics it gives (sensors/+/+) overlap MQTT_READINGS_TOPIC ("sensors/+/readings"); choose a topic outside it, or set MQTT_ALERTS_RECONCILE_MS=0',
    ],
    [{ ALERT_RAISE_AFTER: '0' }, 'ALERT_RAISE_AFTER="0": expected an integer from 1 to 1000000'],
    [{ ALERT_CLEAR_AFTER: '1.5' }, 'ALERT_CLEAR_AFTER="1.5": expected an integer from 1 to 1000000'],
    [{ ALERT_WEBHOOK_URL: 'hooks.example.com' }, 'ALERT_WEBHOOK_URL="hooks.example.com": expected an http:// or https:// URL'],
    [{ LEARN_FROM_STREAM: 'true' }, 'LEARN_FROM_STREAM=true needs MQTT_URL'],
    [{ LEARN_BATCH_MS: '0' }, 'LEARN_BATCH_MS="0": expected milliseconds, 1 to 9999999'],
  ])('fails fast on %j naming the variable and its value', (env, fragment) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(fragment);
  });
});
