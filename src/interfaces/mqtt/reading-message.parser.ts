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
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/;

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
      body = JSON.parse(payload.toString('utf8'));
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
        if (typeof field !== 'string' || !ISO_DATE_TIME.test(field) || Number.isNaN(Date.parse(field))) return { invalid: 'at', detail: '"at" is not an ISO-8601 date-time with a zone' };
        at = new Date(field);
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
