import type { AlertEvent } from '../domain/alert-event';
import type { AlertEventPublisher } from './ports/alert-event.publisher';
import { LogThrottle } from './log-throttle';
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
  private readonly faultLogs = new Map<string, LogThrottle>();

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
    let throttle = this.faultLogs.get(sink);
    if (!throttle) this.faultLogs.set(sink, (throttle = new LogThrottle(FAULT_LOG_INTERVAL_MS, Date.now)));
    const heldBack = throttle.pass();
    if (heldBack === undefined) return;
    this.logger.error('alert event sink threw; the other sinks still got the event', {
      sink,
      error: error instanceof Error ? error.message : String(error),
      faultsSinceLastLog: heldBack + 1, // this one included
    });
  }
}
