import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const QUERY_BUCKETS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25];
const SIZE_BUCKETS = [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216];

/**
 * Everything /metrics exposes, in its own registry (one per container, so tests never
 * share counters). Labels are bounded: route templates, status classes, outcomes and
 * operation names, never sensor ids or metric names.
 */
export class ServiceMetrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route template and status class.',
    labelNames: ['method', 'route', 'status_class'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from request to response, by method, route template and status class.',
    labelNames: ['method', 'route', 'status_class'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  private requestsInFlight = 0;

  // Kept in a plain number and read when scraped: a gauge update at every request's start
  // and end cost more than all of that request's other metrics.
  readonly httpInFlight: Gauge = new Gauge({
    name: 'http_requests_in_flight',
    help: 'Requests being handled now.',
    registers: [this.registry],
    collect: (): void => this.httpInFlight.set(this.requestsInFlight),
  });

  readonly httpRequestBytes = new Histogram({
    name: 'http_request_body_bytes',
    help: 'Request body sizes (Content-Length), by route template.',
    labelNames: ['route'] as const,
    buckets: SIZE_BUCKETS,
    registers: [this.registry],
  });

  readonly httpResponseBytes = new Histogram({
    name: 'http_response_body_bytes',
    help: 'Response body sizes, by route template.',
    labelNames: ['route'] as const,
    buckets: SIZE_BUCKETS,
    registers: [this.registry],
  });

  readonly validationFailures = new Counter({
    name: 'http_validation_failures_total',
    help: 'Requests refused for bad input (400 or 422), by route template.',
    labelNames: ['route'] as const,
    registers: [this.registry],
  });

  readonly predictions = new Counter({
    name: 'sensor_predictions_total',
    help: 'Predictions answered, by outcome.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly modelChanges = new Counter({
    name: 'sensor_model_changes_total',
    help: 'Models written, by change (fit, update, adjust, rollback, delete).',
    labelNames: ['change'] as const,
    registers: [this.registry],
  });

  readonly storageDuration = new Histogram({
    name: 'weights_storage_operation_seconds',
    help: 'Time spent in the weights repository (SQLite or PostgreSQL, as configured), by operation and result (ok; refused: a rule the domain refused, the client\'s 4xx; error: anything else).',
    labelNames: ['operation', 'result'] as const,
    buckets: QUERY_BUCKETS,
    registers: [this.registry],
  });

  readonly readingsIngested = new Counter({
    name: 'sensor_readings_ingested_total',
    help: 'Live readings (MQTT) by outcome: alert, no_alert, unscored (no model); invalid counts refused messages, one per message.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly invalidMessages = new Counter({
    name: 'mqtt_invalid_messages_total',
    help: 'Readings messages refused, by reason (too_large, not_json, shape, not_finite, sensor_id, metric, at).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly retainedAlertRaisesRepublished = new Counter({
    name: 'mqtt_retained_alert_raises_republished_total',
    help: "Raises published again on a sensor's alerts topic (no {metric} in MQTT_ALERTS_TOPIC) after another metric's event, true for its own model, took the retained message while this one stayed raised.",
    registers: [this.registry],
  });

  readonly retainedAlertCorrections = new Counter({
    name: 'mqtt_retained_alert_corrections_total',
    help: 'Alert events published because the message the broker retained for a model was not its stored state (MQTT_ALERTS_RECONCILE_MS).',
    registers: [this.registry],
  });

  readonly staleSubscriptionMessages = new Counter({
    name: 'mqtt_stale_subscription_messages_total',
    help: 'Messages acknowledged and dropped because only a subscription an earlier configuration left in the persistent MQTT session brought them (another MQTT_SHARE_GROUP or MQTT_READINGS_TOPIC).',
    registers: [this.registry],
  });

  readonly retainedAlertCorrectionsWithheld = new Counter({
    name: 'mqtt_retained_alert_corrections_withheld_total',
    help: 'Wrong retained alert messages left alone because this replica had already corrected that same message twice on its topic (something keeps republishing it).',
    registers: [this.registry],
  });

  readonly foreignAlertEvents = new Counter({
    name: 'mqtt_foreign_alert_events_total',
    help: 'Retained alert events on the alerts topics published for another database (their database_id is not ours): left alone when published while this replica runs, checked once when a subscription brings them.',
    registers: [this.registry],
  });

  readonly alertTransitions = new Counter({
    name: 'alert_transitions_total',
    help: 'Alert transitions decided, by the state entered (raised, cleared).',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  readonly brokerConnected = new Gauge({
    name: 'mqtt_broker_connected',
    help: '1 while connected to the MQTT broker, 0 otherwise (absent without MQTT_URL).',
    registers: [this.registry],
  });

  readonly scoringLag = new Histogram({
    name: 'reading_scoring_lag_seconds',
    help: 'Time from a readings message arriving to its readings stored and scored (waiting for its batch included); refused messages are not counted.',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly ingestBatchReadings = new Histogram({
    name: 'mqtt_ingest_batch_readings',
    help: 'Readings per storage batch (what arrived together).',
    buckets: [1, 10, 100, 1000, 10000],
    registers: [this.registry],
  });

  readonly webhookDeliveries = new Counter({
    name: 'sensor_alerts_webhook_deliveries_total',
    help: 'Alert events for ALERT_WEBHOOK_URL, by result: delivered (2xx), retried (an attempt failed and is retried), failed (refused, or retries ran out), dropped (queue full, or the service stopped first).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  private webhookQueueSource: () => number = () => 0;

  // Read when scraped, from the publisher's own queue: nothing to update per event.
  readonly webhookQueueDepth: Gauge = new Gauge({
    name: 'sensor_alerts_webhook_queue_depth',
    help: 'Alert events waiting for ALERT_WEBHOOK_URL or being sent now.',
    registers: [this.registry],
    collect: (): void => this.webhookQueueDepth.set(this.webhookQueueSource()),
  });

  /** The webhook publisher's queue, read at each scrape. */
  watchWebhookQueue(depth: () => number): void {
    this.webhookQueueSource = depth;
  }

  requestStarted(): void {
    this.requestsInFlight++;
  }

  requestEnded(): void {
    this.requestsInFlight--;
  }

  /** Leaves mqtt_broker_connected out of /metrics: without MQTT_URL there is no broker, and a 0 would fire a "broker down" alert. */
  withoutBroker(): void {
    this.registry.removeSingleMetric('mqtt_broker_connected');
  }

  /** Adds Node's own metrics (event-loop lag, heap, GC, CPU, file descriptors): for a server, not a batch job. */
  collectProcessMetrics(): void {
    collectDefaultMetrics({ register: this.registry });
  }
}
