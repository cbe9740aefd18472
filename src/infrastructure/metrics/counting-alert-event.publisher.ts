import type { AlertEventPublisher } from '../../application/ports/alert-event.publisher';
import type { AlertEvent } from '../../domain/alert-event';
import type { ServiceMetrics } from './service-metrics';

/** Counts each transition by the state entered (alert_transitions_total), then hands it on. */
export class CountingAlertEventPublisher implements AlertEventPublisher {
  constructor(
    private readonly inner: AlertEventPublisher,
    private readonly metrics: ServiceMetrics,
  ) {}

  publish(event: AlertEvent): void {
    this.metrics.alertTransitions.inc({ state: event.state });
    this.inner.publish(event);
  }
}
