import { performance } from 'node:perf_hooks';
import type { IPublishPacket } from 'mqtt';
import type { IngestReadingsUseCase, IncomingReading, ReadingOutcome } from '../../application/ingest-readings.use-case';
import type { Logger } from '../../application/ports/logger';
import { LogThrottle } from '../../application/log-throttle';
import type { MqttConfig } from '../../config';
import type { ServiceMetrics } from '../../infrastructure/metrics/service-metrics';
import { subscriptionIdentifierOf } from '../../mqtt-topics';
import { ACK_LATER, type MqttConnection } from './mqtt-connection';
import { ReadingMessageParser } from './reading-message.parser';

/** Readings per use-case call at most; more that arrived together wait for the next call. */
const MAX_BATCH_READINGS = 5000;
/** Backoff while storage refuses a batch: it is retried (not acknowledged meanwhile) from the first to the last. */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 5000;
/** At most one log line per this many ms for refused messages, and one for unscored readings (the others are counted in that line). */
const LOG_INTERVAL_MS = 10_000;
const READING_OUTCOMES: readonly ReadingOutcome[] = ['alert', 'no_alert', 'unscored'];

interface Received {
  readonly readings: readonly IncomingReading[];
  /** QoS 1: acknowledged once its batch is stored. Undefined for QoS 0. */
  readonly messageId: number | undefined;
  readonly connection: number;
  /** performance.now() at arrival, for the scoring lag. */
  readonly arrivedAt: number;
}

/**
 * Live readings in: subscribes `$share/<group>/<readings topic>` at QoS 1 and feeds whatever
 * arrived together to IngestReadingsUseCase in one call (one storage transaction), one batch at
 * a time so each model's readings are stepped in arrival order. A message is acknowledged
 * (PUBACK) only once its batch is stored: a crash, or storage refusing, leaves it with the
 * broker, which delivers it again. A refused message is counted and logged, and acknowledged
 * (sending it again would not mend it); nothing a message holds stops the subscription.
 *
 * The subscription carries an MQTT 5 Subscription Identifier drawn from its filter. The
 * persistent session keeps the subscriptions of earlier starts: after a change of
 * MQTT_SHARE_GROUP or MQTT_READINGS_TOPIC, the old one would bring each reading a second
 * time. A message brought only by a subscription with another identifier is acknowledged and
 * dropped (counted, and logged at most every 10 s); one with none (a build before
 * identifiers, whose subscription to the same filter this one replaced, or a broker without
 * them) is taken.
 */
export class MqttReadingsSubscriber {
  private readonly parser: ReadingMessageParser;
  private readonly queue: Received[] = [];
  private draining: Promise<void> | undefined;
  private stopping = false;
  private storageFailing = false;
  private readonly invalidLog = new LogThrottle(LOG_INTERVAL_MS, () => performance.now());
  private readonly unscoredLog = new LogThrottle(LOG_INTERVAL_MS, () => performance.now());
  private readonly staleLog = new LogThrottle(LOG_INTERVAL_MS, () => performance.now());
  private readonly filter: string;
  private readonly subscriptionIdentifier: number;
  /** Readings by outcome since the start, for the line logged at stop (the metrics die with the process). */
  private readonly totals = { alert: 0, no_alert: 0, unscored: 0, invalid: 0 };

  constructor(
    private readonly config: MqttConfig,
    private readonly connection: MqttConnection,
    private readonly ingest: IngestReadingsUseCase,
    private readonly logger: Logger,
    private readonly metrics: ServiceMetrics,
  ) {
    this.parser = new ReadingMessageParser(config.readingsTopic);
    this.filter = `$share/${config.shareGroup}/${config.readingsTopic}`;
    this.subscriptionIdentifier = subscriptionIdentifierOf(this.filter);
  }

  /** Connects (in the background: an unreachable broker is retried, never fatal) and consumes from then on. */
  start(): void {
    const filter = this.filter;
    this.connection.onMessage((packet, callback) => {
      if (this.fromStaleSubscription(packet)) return callback();
      this.receive(packet);
      callback(ACK_LATER);
    });
    // Subscribed on every connection, even when the broker kept the session: Mosquitto 2.0
    // restarted from its persistence file keeps the session's queue but not its shared
    // subscription, and nothing said so while no reading came. Subscribing again is harmless.
    this.connection.onConnect(() => {
      this.connection.client.subscribe(filter, { qos: 1, ...this.connection.subscriptionProperties(this.subscriptionIdentifier) }, (error, granted) => {
        const refused = granted?.find((grant) => grant.qos > 2);
        if (error || refused) this.logger.error('MQTT subscription refused', { filter, error: error?.message ?? `reason code ${refused?.qos}` });
        else this.logger.info('MQTT subscribed', { filter });
      });
    });
    this.connection.start();
  }

  /**
   * Stops taking messages (any arriving now stay unacknowledged, for the broker to deliver
   * again), finishes the batches already received, then closes the connection.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.draining;
    await this.connection.close();
    this.logger.info('live readings stopped', { readings: { ...this.totals } });
  }

  /** Whether only subscriptions this configuration did not make brought `packet` (then counted and logged). */
  private fromStaleSubscription(packet: IPublishPacket): boolean {
    const identifiers = packet.properties?.subscriptionIdentifier;
    if (identifiers === undefined || identifiers === null) return false;
    if (Array.isArray(identifiers) ? identifiers.includes(this.subscriptionIdentifier) : identifiers === this.subscriptionIdentifier) return false;
    this.metrics.staleSubscriptionMessages.inc();
    const notLoggedSinceLast = this.staleLog.pass();
    if (notLoggedSinceLast !== undefined) {
      this.logger.warn(
        'message from a subscription an earlier configuration left in the MQTT session (another MQTT_SHARE_GROUP or MQTT_READINGS_TOPIC): acknowledged and dropped; it lasts until the session expires, or use a new MQTT_CLIENT_ID',
        { topic: packet.topic, filter: this.filter, notLoggedSinceLast },
      );
    }
    return true;
  }

  private receive(packet: IPublishPacket): void {
    // Not acknowledged: on the next connection of this session the broker delivers it again.
    if (this.stopping) return;
    const arrivedAt = performance.now();
    const parsed = this.parser.parse(packet.topic, packet.payload as Buffer, new Date());
    let readings: readonly IncomingReading[] = [];
    if ('invalid' in parsed) this.refused(packet.topic, parsed.invalid, parsed.detail);
    else readings = parsed.readings;
    this.queue.push({ readings, messageId: packet.qos > 0 ? packet.messageId : undefined, connection: this.connection.connection, arrivedAt });
    // setImmediate: after every message already read from the socket has been queued.
    this.draining ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.drain());
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        let count = 0;
        let taken = 0;
        while (taken < this.queue.length && (taken === 0 || count + this.queue[taken]!.readings.length <= MAX_BATCH_READINGS)) count += this.queue[taken++]!.readings.length;
        const batch = this.queue.splice(0, taken);
        if (!(await this.store(batch))) return;
      }
    } catch (error) {
      // A fault of ours (not storage: store() retries that). Never an unhandled rejection, which
      // would stop the process: logged; the batch's messages stay unacknowledged, for the broker
      // to deliver again on the next connection.
      this.logger.error('live readings batch failed', { error: error instanceof Error ? error.message : String(error) });
    } finally {
      this.draining = undefined;
      // Messages that came while the last batch was given up on (stopping) stay unacknowledged.
    }
  }

  /** Ingests one batch, retrying with backoff while storage refuses; false when given up (stopping). */
  private async store(batch: readonly Received[]): Promise<boolean> {
    const readings = batch.length === 1 ? batch[0]!.readings : batch.flatMap((received) => received.readings);
    let outcomes: ReadingOutcome[] = [];
    if (readings.length > 0) {
      for (let delay = RETRY_FIRST_MS; ; delay = Math.min(RETRY_MAX_MS, delay * 2)) {
        try {
          outcomes = await this.ingest.execute(readings);
          break;
        } catch (error) {
          if (!this.storageFailing) {
            this.storageFailing = true;
            this.logger.error('live readings not stored; retrying with backoff, unacknowledged', { readings: readings.length, error: error instanceof Error ? error.message : String(error) });
          }
          if (this.stopping) return false;
          await new Promise((resolve) => setTimeout(resolve, delay));
          if (this.stopping) return false;
        }
      }
      if (this.storageFailing) {
        this.storageFailing = false;
        this.logger.info('live readings stored again', {});
      }
    }
    const counts: Record<ReadingOutcome, number> = { alert: 0, no_alert: 0, unscored: 0 };
    for (const outcome of outcomes) counts[outcome]++;
    for (const outcome of READING_OUTCOMES) {
      if (counts[outcome] === 0) continue;
      this.totals[outcome] += counts[outcome];
      this.metrics.readingsIngested.inc({ outcome }, counts[outcome]);
    }
    if (counts.unscored > 0) this.unscored(readings, outcomes, counts.unscored);
    if (readings.length > 0) this.metrics.ingestBatchReadings.observe(readings.length);
    const now = performance.now();
    for (const received of batch) {
      if (received.messageId !== undefined) this.connection.ack(received.messageId, received.connection);
      if (received.readings.length > 0) this.metrics.scoringLag.observe((now - received.arrivedAt) / 1000);
    }
    return true;
  }

  /**
   * Readings of models not stored are counted, and named in a rate-limited line: a gateway
   * sending a mistyped metric, or a sensor nobody trained, would otherwise go unnoticed.
   */
  private unscored(readings: readonly IncomingReading[], outcomes: readonly ReadingOutcome[], count: number): void {
    const notLoggedSinceLast = this.unscoredLog.pass();
    if (notLoggedSinceLast === undefined) return;
    const first = readings[outcomes.indexOf('unscored')]!;
    this.logger.warn('live readings of models not stored, unscored (fit or train them, or fix the sender)', {
      sensor_id: first.sensor.id,
      metric: first.metric.name,
      readings: count,
      batchesNotLoggedSinceLast: notLoggedSinceLast,
    });
  }

  private refused(topic: string, reason: string, detail: string): void {
    this.totals.invalid++;
    this.metrics.readingsIngested.inc({ outcome: 'invalid' });
    this.metrics.invalidMessages.inc({ reason });
    const notLoggedSinceLast = this.invalidLog.pass();
    if (notLoggedSinceLast === undefined) return;
    // A topic is the sender's text: cut to a length fit for a log line.
    this.logger.warn('invalid readings message refused', { topic: topic.slice(0, 256), reason, detail, notLoggedSinceLast });
  }
}
