import type { AlertEvent } from '../domain/alert-event';
import type { AlertEventPublisher } from './ports/alert-event.publisher';
import type { Logger } from './ports/logger';

/** One place alert events go (MQTT, the webhook), named for the log. */
export interface AlertEventSink {
  readonly name: string;
  readonly publisher: AlertEventPublisher;
}

const FAULT_LOG_INTERVAL_MS = 60_000;

/**
 * Hands each event to every configured sink, in order; none configured, it does nothing. A
 * sink is not meant to throw (the port says so), but if one does, the others still get the
 * event and ingestion goes on: the fault is logged, at most once a minute per sink.
 */
export class FanOutAlertEventPublisher implements AlertEventPublisher {
  private readonly faults = new Map<string, { loggedAt: number; since: number }>();

  constructor(
    private readonly sinks: readonly AlertEventSink[],
    private readonly logger: Logger,
  ) {}

  publish(event: AlertEvent): void {
    for (const sink of this.sinks) {
      try {
        sink.publisher.publish(event);
      } catch (error) {
        this.logFault(sink.name, error);
      }
    }
  }

  private logFault(sink: string, error: unknown): void {
    const now = Date.now();
    const fault = this.faults.get(sink) ?? { loggedAt: -Infinity, since: 0 };
    fault.since++;
    if (now - fault.loggedAt >= FAULT_LOG_INTERVAL_MS) {
      this.logger.error('alert event sink threw; the other sinks still got the event', {
        sink,
        error: error instanceof Error ? error.message : String(error),
        faultsSinceLastLog: fault.since,
      });
      fault.loggedAt = now;
      fault.since = 0;
    }
    this.faults.set(sink, fault);
  }
}
