import type { AlertEvent } from '../../domain/alert-event';

export const ALERT_EVENT_PUBLISHER = Symbol('AlertEventPublisher');

/**
 * Where alert transitions go (MQTT, a webhook, both, or nowhere). `publish` hands the event
 * over and returns at once: it never blocks ingestion and never throws; delivery, retries and
 * counting failures are the adapter's job.
 */
export interface AlertEventPublisher {
  publish(event: AlertEvent): void;
}
