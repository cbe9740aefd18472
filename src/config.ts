import { hostname } from 'node:os';
import { alertsTopicFilter, alertsTopicOf, filtersOverlap, topicMatches } from './mqtt-topics';

export const APP_CONFIG = Symbol('AppConfig');

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface AppConfig {
  readonly port: number;
  readonly host: string;
  /** The SQLite file, used when databaseUrl is unset. */
  readonly dbPath: string;
  /** postgres:// or postgresql://: when set, the weights live in PostgreSQL instead of dbPath. */
  readonly databaseUrl: string | undefined;
  /** How long a start keeps trying a PostgreSQL server that cannot be reached yet; 0 fails at once. */
  readonly databaseStartupWaitMs: number;
  /** Connections each process may hold to PostgreSQL: replicas x this must fit the server's max_connections. */
  readonly databasePoolMax: number;
  /** How long a write waits for another writer's lock before answering 503 (SQLite busy_timeout, PostgreSQL lock_timeout). */
  readonly dbBusyTimeoutMs: number;
  /** A request (headers and body) must arrive within this, or gets 408: slow clients cannot hold sockets. */
  readonly requestTimeoutMs: number;
  /** An answer its client does not read (no progress) for this long is abandoned and its socket closed. */
  readonly responseTimeoutMs: number;
  /**
   * Largest body each POST route reads, in bytes (set as a size such as `16mb`): each route gets what its content needs, so a route that takes one number
   * cannot be made to parse megabytes.
   */
  readonly bodyLimits: BodyLimits;
  readonly logLevel: LogLevel;
  /** `pretty` needs the dev dependency pino-pretty: for people at a terminal, not for collectors. */
  readonly logFormat: LogFormat;
  /** On SIGTERM, how long /ready answers 503 before the server stops accepting connections. */
  readonly shutdownDelayMs: number;
  /** When set, writes (and reads too, with apiTokenForReads) need `Authorization: Bearer <token>`. */
  readonly apiToken: string | undefined;
  readonly apiTokenForReads: boolean;
  /** Live ingestion of readings over MQTT; undefined (MQTT_URL unset, the default) turns it off. */
  readonly mqtt: MqttConfig | undefined;
  /** Debounce: consecutive readings at or above the threshold that raise an alert, and below it that clear one. */
  readonly alertRaiseAfter: number;
  readonly alertClearAfter: number;
  /** When set, every alert transition is also POSTed here as JSON. */
  readonly alertWebhookUrl: string | undefined;
  /** Merge live readings that are not in alert into their model, in batches of this many readings or this many ms. */
  readonly learnFromStream: LearnFromStreamConfig;
}

export interface MqttConfig {
  /** mqtt:// or mqtts:// with optional user:password (never logged). */
  readonly url: string;
  /** Subscribed with QoS 1; its `+` level is the sensor id. */
  readonly readingsTopic: string;
  /** The shared-subscription group replicas split the readings in (`$share/<group>/<topic>`). */
  readonly shareGroup: string;
  /** Where transitions are published (QoS 1, retained); `{sensor_id}` is replaced by the sensor id. */
  readonly alertsTopic: string;
  /** Names this replica's persistent session: stable across restarts, distinct per replica. */
  readonly clientId: string;
  /**
   * How long after the latest message on a model's alerts topic the retained message is
   * compared with the stored state, and corrected if another replica's late message (or a
   * lost one) left it wrong; 0 turns this off (the alerts topics are then not subscribed).
   */
  readonly alertsReconcileMs: number;
}

export interface LearnFromStreamConfig {
  readonly enabled: boolean;
  readonly batchSize: number;
  readonly batchMs: number;
}

export interface BodyLimits {
  /** POST /:sensor_id/fit and /:sensor_id/update: a million readings. */
  readonly fit: number;
  /** POST /predict: up to 100,000 items. */
  readonly batch: number;
  /** POST /:sensor_id/predict, /:sensor_id/adjust and /:sensor_id/rollback: one number, or nothing. */
  readonly small: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const SIZE = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i;
const SIZE_EXPECTED = 'a size from 1 byte to 1gb, such as 16mb, 512kb or 1048576';
const UNITS = ['b', 'kb', 'mb', 'gb'];
// A body limit past this is no limit: Node could not hold the body (99999gb was accepted).
const MAX_SIZE = 1024 ** 3;
/** `16mb` -> 16777216, as body-parser counts (1 kb = 1024 bytes). */
const size = (raw: string): number | undefined => {
  const match = SIZE.exec(raw);
  const bytes = match ? Math.floor(Number(match[1]) * 1024 ** UNITS.indexOf((match[2] ?? 'b').toLowerCase())) : undefined;
  return bytes !== undefined && bytes >= 1 && bytes <= MAX_SIZE ? bytes : undefined;
};
/** The settings that mean nothing without MQTT_URL. */
const MQTT_SETTINGS = ['MQTT_READINGS_TOPIC', 'MQTT_SHARE_GROUP', 'MQTT_ALERTS_TOPIC', 'MQTT_CLIENT_ID', 'MQTT_ALERTS_RECONCILE_MS'];

/**
 * Reads the service's settings once; throws a ConfigError naming every bad variable.
 * An empty variable (PORT= in a compose file) means "use the default", like an unset one.
 * Plain code rather than a schema library: the trainer CLI loads this too, and every
 * millisecond of its start-up counts.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const problems: string[] = [];
  // `secret`: true hides the whole value; a function shows what of it may be shown.
  const read = <T>(
    name: string,
    fallback: T,
    parse: (raw: string) => T | undefined,
    expected: string,
    secret: boolean | ((raw: string) => string) = false,
  ): T => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = parse(raw);
    const shown =
      secret === true ? ` (hidden, ${raw.length} characters)` : `=${JSON.stringify(typeof secret === 'function' ? secret(raw) : raw)}`;
    if (value === undefined) problems.push(`${name}${shown}: expected ${expected}`);
    return value ?? fallback;
  };

  const mqttUrl = read<string | undefined>('MQTT_URL', undefined, parseMqttUrl, 'an mqtt://, mqtts://, ws:// or wss:// URL', redactUrlPassword);
  const mqtt: MqttConfig | undefined = mqttUrl === undefined ? undefined : {
    url: mqttUrl,
    readingsTopic: read('MQTT_READINGS_TOPIC', 'sensors/+/readings', parseReadingsTopic, 'a topic filter with exactly one + level (the sensor id) and no #'),
    shareGroup: read('MQTT_SHARE_GROUP', 'sensor-alerts', (raw) => (/^[^/+#\s]{1,64}$/.test(raw) ? raw : undefined), '1-64 characters without / + # or spaces'),
    // Events are retained: a topic without {sensor_id} would keep one state for all sensors.
    alertsTopic: read(
      'MQTT_ALERTS_TOPIC',
      'sensors/{sensor_id}/alerts',
      (raw) => (/[+#]/.test(raw) || raw.length > 256 || !raw.includes('{sensor_id}') ? undefined : raw),
      'a topic name without + or # that holds {sensor_id} (each sensor keeps its own retained state)',
    ),
    clientId: read('MQTT_CLIENT_ID', `sensor-alerts-${hostname()}`, (raw) => (/^[\x21-\x7e]{1,128}$/.test(raw) ? raw : undefined), '1-128 printable characters, no spaces'),
    alertsReconcileMs: read('MQTT_ALERTS_RECONCILE_MS', 1000, (raw) => (/^\d{1,6}$/.test(raw) ? Number(raw) : undefined), 'milliseconds, 0 (off) to 999999'),
  };
  if (!mqtt) for (const name of MQTT_SETTINGS) if (env[name]) problems.push(`${name} needs MQTT_URL`);
  // The service would read its own alert events back as (bad) readings, on every replica.
  if (mqtt && topicMatches(mqtt.readingsTopic, alertsTopicOf(mqtt.alertsTopic, 'SEN1', 'value'))) {
    problems.push(`MQTT_ALERTS_TOPIC=${JSON.stringify(mqtt.alertsTopic)}: its events would arrive on MQTT_READINGS_TOPIC (${JSON.stringify(mqtt.readingsTopic)}); choose a topic outside it`);
  } else if (mqtt && mqtt.alertsReconcileMs > 0 && filtersOverlap(mqtt.readingsTopic, alertsTopicFilter(mqtt.alertsTopic))) {
    // Reconciling subscribes to every alerts topic, on every replica: it would get each reading too.
    problems.push(
      `MQTT_ALERTS_TOPIC=${JSON.stringify(mqtt.alertsTopic)}: the topics it gives (${alertsTopicFilter(mqtt.alertsTopic)}) overlap MQTT_READINGS_TOPIC (${JSON.stringify(mqtt.readingsTopic)}); choose a topic outside it, or set MQTT_ALERTS_RECONCILE_MS=0`,
    );
  }

  const config: AppConfig = {
    port: read('PORT', 3000, (raw) => (/^\d{1,5}$/.test(raw) && Number(raw) <= 65535 ? Number(raw) : undefined), 'an integer from 0 to 65535'),
    host: read('HOST', '0.0.0.0', parseHost, 'an IP address (e.g. 0.0.0.0, 127.0.0.1, ::) or a host name'),
    // better-sqlite3 would take `:memory:` (nothing persists) and make `file:` URIs a folder
    // named `file:`: neither is the durable file the service promises.
    dbPath: read('DB_PATH', 'data/sensors.db', (raw) => (raw === ':memory:' || /^file:/i.test(raw) ? undefined : raw), 'a file path (not :memory: or a file: URI)'),
    databaseUrl: read<string | undefined>('DATABASE_URL', undefined, parsePostgresUrl, 'a postgres:// or postgresql:// URL', redactDatabaseUrl),
    databaseStartupWaitMs: read('DATABASE_STARTUP_WAIT_MS', 0, (raw) => (/^\d{1,6}$/.test(raw) ? Number(raw) : undefined), 'milliseconds, 0 to 999999'),
    databasePoolMax: read('DATABASE_POOL_MAX', 10, (raw) => (/^\d{1,4}$/.test(raw) && Number(raw) >= 1 ? Number(raw) : undefined), 'an integer from 1 to 9999'),
    dbBusyTimeoutMs: read('DB_BUSY_TIMEOUT_MS', 5000, (raw) => (/^\d{1,6}$/.test(raw) ? Number(raw) : undefined), 'milliseconds, 0 to 999999'),
    requestTimeoutMs: read('REQUEST_TIMEOUT_MS', 30_000, (raw) => (/^\d{3,6}$/.test(raw) && Number(raw) >= 100 ? Number(raw) : undefined), 'milliseconds, 100 to 999999'),
    responseTimeoutMs: read('RESPONSE_TIMEOUT_MS', 30_000, (raw) => (/^\d{3,6}$/.test(raw) && Number(raw) >= 100 ? Number(raw) : undefined), 'milliseconds, 100 to 999999'),
    bodyLimits: {
      fit: read('BODY_LIMIT_FIT', 16 * 1024 ** 2, size, SIZE_EXPECTED),
      // 100,000 items of 64-character ids and metrics and 24-character numbers are 19.0 MB.
      batch: read('BODY_LIMIT_BATCH', 20 * 1024 ** 2, size, SIZE_EXPECTED),
      // {"value":-2.2250738585072014e-308} is 35 bytes; room for whitespace, no more.
      small: read('BODY_LIMIT_SMALL', 1024, size, SIZE_EXPECTED),
    },
    logLevel: read('LOG_LEVEL', 'info', (raw) => LOG_LEVELS.find((level) => level === raw), `one of ${LOG_LEVELS.join(', ')}`),
    logFormat: read('LOG_FORMAT', 'json', (raw) => LOG_FORMATS.find((format) => format === raw), `one of ${LOG_FORMATS.join(', ')}`),
    shutdownDelayMs: read('SHUTDOWN_DELAY_MS', 0, (raw) => (/^\d{1,6}$/.test(raw) ? Number(raw) : undefined), 'milliseconds, 0 to 999999'),
    apiToken: read<string | undefined>('API_TOKEN', undefined, (raw) => (/^[\x21-\x7e]{16,}$/.test(raw) ? raw : undefined), 'at least 16 printable characters, no spaces', true),
    apiTokenForReads: read('API_TOKEN_READS', false, (raw) => ({ true: true, false: false })[raw], 'true or false'),
    mqtt,
    alertRaiseAfter: read('ALERT_RAISE_AFTER', 1, count, COUNT_EXPECTED),
    alertClearAfter: read('ALERT_CLEAR_AFTER', 1, count, COUNT_EXPECTED),
    alertWebhookUrl: read<string | undefined>('ALERT_WEBHOOK_URL', undefined, parseHttpUrl, 'an http:// or https:// URL', redactUrlPassword),
    learnFromStream: {
      enabled: read('LEARN_FROM_STREAM', false, (raw) => ({ true: true, false: false })[raw], 'true or false'),
      batchSize: read('LEARN_BATCH_SIZE', 1000, count, COUNT_EXPECTED),
      batchMs: read('LEARN_BATCH_MS', 1000, (raw) => (/^\d{1,7}$/.test(raw) && Number(raw) >= 1 ? Number(raw) : undefined), 'milliseconds, 1 to 9999999'),
    },
  };
  if (config.learnFromStream.enabled && !mqtt) problems.push('LEARN_FROM_STREAM=true needs MQTT_URL');
  // Silently ignoring the old single limit would leave an operator's setting without effect.
  if (env.BODY_LIMIT) problems.push('BODY_LIMIT is replaced by BODY_LIMIT_FIT, BODY_LIMIT_BATCH and BODY_LIMIT_SMALL');
  if (config.apiTokenForReads && !config.apiToken) problems.push('API_TOKEN_READS=true needs API_TOKEN');
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  return config;
}

const COUNT_EXPECTED = 'an integer from 1 to 1000000';
const count = (raw: string): number | undefined => (/^\d{1,7}$/.test(raw) && Number(raw) >= 1 && Number(raw) <= 1_000_000 ? Number(raw) : undefined);

function parseUrl(raw: string, protocols: readonly string[]): string | undefined {
  try {
    return protocols.includes(new URL(raw).protocol) ? raw : undefined;
  } catch {
    return undefined;
  }
}
const parseHttpUrl = (raw: string) => parseUrl(raw, ['http:', 'https:']);
const parseMqttUrl = (raw: string) => parseUrl(raw, ['mqtt:', 'mqtts:', 'ws:', 'wss:']);

/** One `+` level (the sensor id), no `#`, no `$share/` prefix (the group is MQTT_SHARE_GROUP). */
function parseReadingsTopic(raw: string): string | undefined {
  const levels = raw.split('/');
  const ok = levels.filter((level) => level === '+').length === 1 && !raw.includes('#') && !raw.startsWith('$') && levels.every((level) => level === '+' || !level.includes('+'));
  return ok && raw.length <= 256 ? raw : undefined;
}

/** The URL with the password of its userinfo replaced by ***: fit for logs. */
export function redactUrlPassword(raw: string): string {
  return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/?#]*):[^@]*@/i, '$1:***@');
}

/** Catches the typos that would otherwise surface as a DNS failure (`getaddrinfo ENOTFOUND 999.1.1.1`). */
function parseHost(raw: string): string | undefined {
  if (/^[\d.]+$/.test(raw)) {
    const octets = raw.split('.');
    return octets.length === 4 && octets.every((octet) => /^\d{1,3}$/.test(octet) && Number(octet) <= 255) ? raw : undefined;
  }
  return /^[A-Za-z0-9.-]{1,253}$/.test(raw) || /^[0-9A-Fa-f:.]+$/.test(raw) ? raw : undefined;
}

function parsePostgresUrl(raw: string): string | undefined {
  try {
    const url = new URL(raw);
    return url.protocol === 'postgres:' || url.protocol === 'postgresql:' ? raw : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The URL with its password, in the userinfo or a `password=` parameter, replaced by ***:
 * fit for logs and error messages. Works on text that is not a valid URL too.
 */
export function redactDatabaseUrl(raw: string): string {
  return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/?#]*):[^@]*@/i, '$1:***@').replace(/([?&]password=)[^&#]*/gi, '$1***');
}
