import { isUtf8 } from 'node:buffer';
import type { IncomingReading } from '../../application/ingest-readings.use-case';
import { MetricName } from '../../domain/metric-name';
import { Sensor } from '../../domain/sensor';
import { isValidIdentifier } from '../../domain/identifier-rule';

/** Largest readings payload taken, in bytes: a collect of hundreds of metrics fits, and a flood of huge messages costs no more than this each. */
export const MAX_READING_PAYLOAD_BYTES = 64 * 1024;

/** Why a message was refused: a small fixed set, fit for a log field. */
export type InvalidReason = 'too_large' | 'not_json' | 'shape' | 'not_finite' | 'sensor_id' | 'metric' | 'at';

export type ParsedMessage = { readonly readings: IncomingReading[] } | { readonly invalid: InvalidReason; readonly detail: string };

// Strict ISO-8601 date-time with a zone: a time without one would be read in the server's own zone.
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

// The instants a four-digit year can name in UTC: an offset must not carry one past them
// (0000-01-01T00:00+00:01 is year -1, written back as -000001-12-31T23:59:00.000Z).
const FIRST_INSTANT = Date.parse('0000-01-01T00:00:00Z');
const LAST_INSTANT = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * The instant of an ISO-8601 date-time with a zone, or undefined. Each field is held to its
 * range first: Date.parse moves an impossible date on (2026-02-30 became March 2nd, T24:00 the
 * next day) instead of refusing it.
 */
function parseDateTime(text: string): Date | undefined {
  const fields = ISO_DATE_TIME.exec(text);
  if (!fields) return undefined;
  const field = (group: number) => Number(fields[group] ?? 0); // an absent second or zone offset is 0
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = [field(1), field(2), field(3), field(4), field(5), field(6), field(7), field(8)];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  if (month < 1 || month > 12 || day < 1 || day > days || hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) return undefined;
  const instant = Date.parse(text);
  return Number.isNaN(instant) || instant < FIRST_INSTANT || instant > LAST_INSTANT ? undefined : new Date(instant);
}

/**
 * Reads one message of the readings topic (a hot path: plain code, no schema library; tens of
 * thousands a second). The sensor id is the topic's `+` level. The payload is UTF-8 JSON, one of:
 *   {"value": 0.0123}                                   metric `value`
 *   {"metric": "params.velRMS.x", "value": 0.0012}
 *   {"readings": {"params.velRMS.x": 0.0012, "params.accelRMS.x": 0.051}}
 * each with an optional "at" (ISO-8601 with a zone; absent: `receivedAt`). Any other key,
 * a number JSON cannot hold as a finite double (1e999), an id or metric name that breaks the
 * identifier rule, or more than MAX_READING_PAYLOAD_BYTES make the whole message invalid.
 */
export class ReadingMessageParser {
  private readonly sensorLevel: number;
  private readonly levels: number;

  constructor(readingsTopic: string) {
    const levels = readingsTopic.split('/');
    this.sensorLevel = levels.indexOf('+');
    this.levels = levels.length;
  }

  parse(topic: string, payload: Buffer, receivedAt: Date): ParsedMessage {
    if (payload.length > MAX_READING_PAYLOAD_BYTES) return { invalid: 'too_large', detail: `${payload.length} bytes, more than ${MAX_READING_PAYLOAD_BYTES}` };
    const levels = topic.split('/');
    const id = levels.length === this.levels ? levels[this.sensorLevel]! : '';
    if (!isValidIdentifier(id)) return { invalid: 'sensor_id', detail: 'the topic level of the sensor id breaks the identifier rule' };
    const sensor = Sensor.withId(id);

    // JSON is UTF-8 (RFC 8259): bytes that are not are refused, not decoded as U+FFFD.
    if (!isUtf8(payload)) return { invalid: 'not_json', detail: 'the payload is not UTF-8' };
    let body: unknown;
    try {
      const text = payload.toString('utf8');
      // A UTF-8 byte order mark is ignored, as RFC 8259 allows and the HTTP API does.
      body = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    } catch {
      return { invalid: 'not_json', detail: 'the payload is not JSON' };
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return { invalid: 'shape', detail: 'the payload is not a JSON object' };

    let at = receivedAt;
    let value: unknown;
    let metric: unknown;
    let readings: unknown;
    for (const key of Object.keys(body)) {
      const field = (body as Record<string, unknown>)[key];
      if (key === 'value') value = field;
      else if (key === 'metric') metric = field;
      else if (key === 'readings') readings = field;
      else if (key === 'at') {
        const instant = typeof field === 'string' ? parseDateTime(field) : undefined;
        if (!instant) return { invalid: 'at', detail: '"at" is not an ISO-8601 date-time with a zone' };
        at = instant;
      } else return { invalid: 'shape', detail: 'unknown key (expected value, metric, readings, at)' };
    }

    if (readings !== undefined) {
      if (value !== undefined || metric !== undefined) return { invalid: 'shape', detail: '"readings" goes without "value" and "metric"' };
      if (typeof readings !== 'object' || readings === null || Array.isArray(readings)) return { invalid: 'shape', detail: '"readings" is not an object' };
      const out: IncomingReading[] = [];
      for (const name of Object.keys(readings)) {
        const reading = (readings as Record<string, unknown>)[name];
        if (!isValidIdentifier(name)) return { invalid: 'metric', detail: 'a metric name breaks the identifier rule' };
        if (typeof reading !== 'number') return { invalid: 'shape', detail: 'a reading is not a number' };
        if (!Number.isFinite(reading)) return { invalid: 'not_finite', detail: 'a reading is not a finite number' };
        out.push({ sensor, metric: MetricName.of(name), value: reading, at });
      }
      if (out.length === 0) return { invalid: 'shape', detail: '"readings" is empty' };
      return { readings: out };
    }

    if (value === undefined) return { invalid: 'shape', detail: 'neither "value" nor "readings"' };
    if (typeof value !== 'number') return { invalid: 'shape', detail: '"value" is not a number' };
    if (!Number.isFinite(value)) return { invalid: 'not_finite', detail: '"value" is not a finite number' };
    let name = MetricName.DEFAULT;
    if (metric !== undefined) {
      if (typeof metric !== 'string' || !isValidIdentifier(metric)) return { invalid: 'metric', detail: '"metric" breaks the identifier rule' };
      name = MetricName.of(metric);
    }
    return { readings: [{ sensor, metric: name, value, at }] };
  }
}
