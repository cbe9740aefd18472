import type { AlertEvent } from '../../domain/alert-event';

/**
 * An alert event on the wire, the one JSON every sink sends (the MQTT alerts topic, the
 * webhook): snake_case names as in the HTTP API's answers (`sensor_id`), the time as
 * ISO-8601 UTC with milliseconds, numbers as JSON numbers. Described for readers as the
 * AlertEvent schema of the OpenAPI document (response-schemas.ts); a unit test holds the two
 * to the same fields.
 */
export interface AlertEventMessage {
  readonly sensor_id: string;
  readonly metric: string;
  readonly state: AlertEvent['state'];
  readonly value: number;
  readonly threshold: number;
  readonly mean: number;
  readonly std: number;
  /** (value - mean) / std; null when that is not finite (std 0). */
  readonly z_score: number | null;
  readonly at: string;
  /** Only on the `cleared` event of a deleted model's raised alert. */
  readonly reason?: 'model_deleted';
}

export function alertEventMessage(event: AlertEvent): AlertEventMessage {
  return {
    sensor_id: event.sensorId,
    metric: event.metric,
    state: event.state,
    value: event.value,
    threshold: event.threshold,
    mean: event.mean,
    std: event.std,
    // The domain already gives null for a non-finite z-score; kept here too, since JSON has no
    // Infinity and JSON.stringify would silently turn one into null anyway.
    z_score: event.zScore !== null && Number.isFinite(event.zScore) ? event.zScore : null,
    at: event.at.toISOString(),
    ...(event.reason && { reason: event.reason }),
  };
}

/** The event as the bytes every sink sends (UTF-8 JSON, one line, fields in the order above). */
export function alertEventJson(event: AlertEvent): string {
  return JSON.stringify(alertEventMessage(event));
}
