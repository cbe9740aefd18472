import { performance } from 'node:perf_hooks';
import type { IPublishPacket } from 'mqtt';
import { LogThrottle } from '../../application/log-throttle';
import type { Logger } from '../../application/ports/logger';
import type { ModelName, ReconcileRetainedAlertsUseCase, RetainedAlert } from '../../application/reconcile-retained-alerts.use-case';
import type { MqttConfig } from '../../config';
import { isValidIdentifier } from '../../domain/identifier-rule';
import type { ServiceMetrics } from '../../infrastructure/metrics/service-metrics';
import { alertEventSchema } from '../http/response-schemas';
import { alertsTopicFilter, alertsTopicOf, DATABASE_ID_PROPERTY, subscriptionIdentifierOf } from '../../mqtt-topics';
import type { MqttConnection } from './mqtt-connection';

/** At most one log line per this many ms while storage refuses the check, or another database's events come. */
const LOG_INTERVAL_MS = 10_000;

/**
 * Periods after a subscription by which every model is checked, however many messages still
 * come: live events must not put it off for ever, nor keep another database's events
 * checkable (two deployments resubscribing together would correct each other meanwhile).
 */
const SETTLE_PERIODS = 10;

/**
 * How many times this replica corrects one wrong message (same state, figures and time) on a
 * topic. A late event comes once (twice, resent after a lost acknowledgement); one that keeps
 * coming back is republished by something that holds another state: a deployment on a copy
 * of this database, which the database's identity cannot tell from this one.
 */
const CORRECTIONS_OF_ONE_MESSAGE = 2;

/** A topic whose retained message (or its absence: undefined) was found wrong, to be corrected if it is still the latest at the next check. */
interface Suspect {
  readonly model: ModelName;
  readonly alert: RetainedAlert | undefined;
}

/**
 * Subscribes (not shared: every replica) to every model's alerts topic and keeps the latest
 * message of each, the one the broker retains. Once a topic has been quiet for
 * MQTT_ALERTS_RECONCILE_MS, ReconcileRetainedAlertsUseCase compares that message with the
 * model's stored state. A message found wrong is corrected (the stored state published) only
 * if it is still the latest one to two periods later (drawn at random): the event of a
 * transition just stored is often on its way, and a correction then would only repeat it.
 * Every replica checks, so a correction does not wait for the replica that went wrong; their
 * random waits let the first correction reach the others before they repeat it. Each
 * (re)subscription brings every retained message again; once they have settled, raised
 * models without one are checked too. One same wrong message is corrected at most
 * CORRECTIONS_OF_ONE_MESSAGE times on a topic (then counted and logged).
 *
 * The broker's order is what decides: a correction that itself arrives late is seen here
 * like any other message, and checked again. Only what the broker retains counts: a message
 * published without the retain flag (the subscription keeps the flag as published) changes
 * nothing, and a retained message removed (an empty one) leaves its model without one, as
 * checked at a subscription. Messages that are not an alert event of ours (other JSON, a topic
 * that is not its model's) are left alone, and so are the events of another database (their
 * `database_id` user property not ours) published while this one runs: correcting them would
 * start the other deployment correcting ours, without end. Those a subscription brings are
 * checked once like ours (a database this one replaced left them, and nobody else would put
 * them right). Both are counted and logged. An event without the property (from a build
 * before it) counts as ours.
 */
export class MqttRetainedAlertsReconciler {
  private readonly filter: string;
  /** Without `{metric}` in the topic, every metric of a sensor shares its retained message. */
  private readonly perSensor: boolean;
  /** How often due topics are looked for: a quarter period, the grain of the confirmations' spread. */
  private readonly tickMs: number;
  /** The latest alert event seen on each topic. */
  private readonly latest = new Map<string, RetainedAlert>();
  /** Topics whose retained message was removed, with the model whose event it was (checked as without one). */
  private readonly removed = new Map<string, ModelName>();
  /** Topics whose latest message is another database's event (of this model): nothing published there. */
  private readonly foreign = new Map<string, ModelName>();
  /** Each event's identity: its state, figures and time (see identityOf). */
  private readonly identities = new WeakMap<RetainedAlert, string>();
  /**
   * Per topic, the identity of the wrong message this replica corrected last, and how many
   * times in a row. Kept across subscriptions: a broker restart must not start a fight again.
   */
  private readonly corrected = new Map<string, { readonly identity: string; readonly times: number }>();
  /** Topics to check, with when (performance.now()): reset by each message. */
  private readonly due = new Map<string, number>();
  private readonly suspects = new Map<string, Suspect>();
  /** When to check every model, after a subscription's retained messages; undefined: not due. */
  private everyModelAt: number | undefined;
  /** The latest everyModelAt may be put off to. */
  private everyModelBy = 0;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private stopped = false;
  private readonly failureLog = new LogThrottle(LOG_INTERVAL_MS, () => performance.now());
  private readonly foreignLog = new LogThrottle(LOG_INTERVAL_MS, () => performance.now());
  private readonly withheldLog = new LogThrottle(LOG_INTERVAL_MS, () => performance.now());

  constructor(
    private readonly config: MqttConfig,
    private readonly connection: MqttConnection,
    private readonly reconcile: ReconcileRetainedAlertsUseCase,
    private readonly logger: Logger,
    private readonly metrics: ServiceMetrics,
    /** This database's identity (WeightsStorage.databaseId), as our events carry it. */
    private readonly databaseId: string,
  ) {
    this.filter = alertsTopicFilter(config.alertsTopic);
    this.perSensor = !config.alertsTopic.includes('{metric}');
    this.tickMs = Math.max(1, Math.round(config.alertsReconcileMs / 4));
  }

  /** Before the connection starts: subscribes on every connection, and checks from then on. */
  start(): void {
    if (this.config.alertsReconcileMs === 0) {
      // Off. A subscription an earlier run left in the persistent session would bring every
      // event to the readings subscriber, as refused readings, for as long as the session lives.
      this.connection.onConnect(() =>
        this.connection.client.unsubscribe(this.filter, () => this.logger.info('retained alert messages not checked (MQTT_ALERTS_RECONCILE_MS=0)', { filter: this.filter })),
      );
      return;
    }
    this.connection.route(this.filter, (packet, callback) => {
      this.receive(packet);
      callback();
    });
    this.connection.onConnect(() => {
      // The broker sends every retained message after the SUBACK: what it holds today, without
      // one removed meanwhile (an empty message, which is not an event of ours). Forgotten now,
      // not in the SUBACK's callback: MQTT.js calls it back only after handling the messages
      // read along with the SUBACK, which would be forgotten with the rest.
      this.latest.clear();
      this.removed.clear();
      this.foreign.clear();
      this.everyModelAt = this.later();
      this.everyModelBy = this.later(SETTLE_PERIODS);
      // QoS 0: a message missed while away comes back anyway, retained, with the next subscription.
      // rap (retain as published): a message published without the retain flag comes without it.
      this.connection.client.subscribe(this.filter, { qos: 0, rh: 0, rap: true, ...this.connection.subscriptionProperties(subscriptionIdentifierOf(this.filter)) }, (error, granted) => {
        const refused = granted?.find((grant) => grant.qos > 2);
        if (error || refused) {
          this.everyModelAt = undefined;
          this.logger.error('MQTT subscription to the alerts topics refused: retained alert messages are not checked', { filter: this.filter, error: error?.message ?? `reason code ${refused?.qos}` });
          return;
        }
        // The rest of the retained messages follow: every model waits for them (a check made
        // already, the SUBACK being slow to come, is made again).
        this.everyModelAt = Math.max(this.everyModelAt ?? 0, this.later());
        this.schedule();
      });
    });
  }

  /** Stops checking, and waits for a check under way (it may be publishing). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.checking;
  }

  private receive(packet: IPublishPacket): void {
    // Not retained, it leaves the broker's retained message as it was.
    if (!packet.retain) return;
    // The retained messages of a subscription are still coming: every model waits for the last.
    if (this.everyModelAt !== undefined) this.everyModelAt = Math.max(this.everyModelAt, Math.min(this.later(), this.everyModelBy));
    const { topic } = packet;
    if (packet.payload.length === 0) return this.remove(topic);
    const alert = this.parse(packet);
    if (alert === undefined) return;
    const publishedFor = packet.properties?.userProperties?.[DATABASE_ID_PROPERTY];
    if (publishedFor !== undefined && publishedFor !== this.databaseId) {
      // What a subscription brings is checked once, whoever published it: a database this one
      // replaced leaves its events retained, and nobody else would ever put them right.
      const settling = this.everyModelAt !== undefined;
      this.countForeign(topic, publishedFor, settling);
      if (!settling) return this.leaveAlone(topic, alert);
    }
    this.latest.set(topic, alert);
    this.removed.delete(topic);
    this.foreign.delete(topic);
    this.due.set(topic, this.later());
    this.schedule();
  }

  /** The retained message of `topic` was removed: the model whose event it was (ours or another database's) is checked as one without. */
  private remove(topic: string): void {
    const previous = this.latest.get(topic) ?? this.foreign.get(topic);
    if (previous === undefined) return;
    this.latest.delete(topic);
    this.foreign.delete(topic);
    this.removed.set(topic, { sensorId: previous.sensorId, metric: previous.metric });
    this.due.set(topic, this.later());
    this.schedule();
  }

  /** Another database's event, published while this one runs: corrected, it would start the other deployment correcting ours. */
  private leaveAlone(topic: string, alert: RetainedAlert): void {
    this.latest.delete(topic);
    this.removed.delete(topic);
    this.due.delete(topic);
    this.suspects.delete(topic);
    this.foreign.set(topic, { sensorId: alert.sensorId, metric: alert.metric });
  }

  private countForeign(topic: string, publishedFor: string | string[], checked: boolean): void {
    this.metrics.foreignAlertEvents.inc();
    const notLoggedSinceLast = this.foreignLog.pass();
    if (notLoggedSinceLast === undefined) return;
    this.logger.warn('alert event of another database on our alerts topics (replicas that share MQTT_ALERTS_TOPIC must share one database)', {
      topic,
      // Cut short: anyone who may publish there chooses it (an array: the property given more than once).
      database_id: (typeof publishedFor === 'string' ? publishedFor : JSON.stringify(publishedFor)).slice(0, 64),
      ours: this.databaseId,
      // Retained before this subscription: checked like ours; published since: left alone.
      checked,
      notLoggedSinceLast,
    });
  }

  private parse(packet: IPublishPacket): RetainedAlert | undefined {
    let json: unknown;
    try {
      json = JSON.parse((packet.payload as Buffer).toString('utf8'));
    } catch {
      return undefined;
    }
    const parsed = alertEventSchema.safeParse(json);
    if (!parsed.success) return undefined;
    const { sensor_id: sensorId, metric, state, value, threshold, mean, std, z_score: zScore, at, reason } = parsed.data;
    if (!isValidIdentifier(sensorId) || !isValidIdentifier(metric) || alertsTopicOf(this.config.alertsTopic, sensorId, metric) !== packet.topic) return undefined;
    const alert: RetainedAlert = { sensorId, metric, state, value, threshold, mean, std, zScore };
    // A deleted model's clear is timed when it is sent: each one another time, the same message.
    this.identities.set(alert, JSON.stringify([state, value, threshold, mean, std, reason === 'model_deleted' ? reason : at]));
    return alert;
  }

  private identityOf(suspect: Suspect): string {
    return suspect.alert === undefined ? 'none' : this.identities.get(suspect.alert)!;
  }

  /** Whether the suspect's message has been corrected on its topic as often as one message may be (then logged and counted). */
  private correctedEnough(topic: string, suspect: Suspect): boolean {
    const corrected = this.corrected.get(topic);
    if (corrected === undefined || corrected.identity !== this.identityOf(suspect) || corrected.times < CORRECTIONS_OF_ONE_MESSAGE) return false;
    this.metrics.retainedAlertCorrectionsWithheld.inc();
    const notLoggedSinceLast = this.withheldLog.pass();
    if (notLoggedSinceLast !== undefined) {
      this.logger.warn('retained alert message corrected twice came back again: left alone (something keeps publishing another state there, e.g. a deployment on a copy of this database)', {
        topic,
        state: suspect.alert?.state ?? 'none',
        notLoggedSinceLast,
      });
    }
    return true;
  }

  /** `periods` MQTT_ALERTS_RECONCILE_MS from now (performance.now()). */
  private later(periods = 1): number {
    return performance.now() + periods * this.config.alertsReconcileMs;
  }

  private schedule(): void {
    if (this.stopped || this.timer !== undefined || this.checking !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.check();
    }, this.tickMs);
  }

  private check(): void {
    if (!this.connection.client.connected) {
      // Nothing seen now can be judged: our own events wait in memory for the broker. The next
      // subscription brings every retained message again, and every model is checked then.
      this.due.clear();
      this.suspects.clear();
      this.everyModelAt = undefined;
      return;
    }
    const now = performance.now();
    const topics = [...this.due].filter(([, at]) => at <= now).map(([topic]) => topic);
    const everyModel = this.everyModelAt !== undefined && this.everyModelAt <= now;
    if (topics.length === 0 && !everyModel) {
      this.schedule();
      return;
    }
    for (const topic of topics) this.due.delete(topic);
    if (everyModel) this.everyModelAt = undefined;
    // Wrong at the last check and nothing new since: corrected now, from the state stored now.
    const confirmed = new Set(topics.filter((topic) => this.suspects.has(topic) && this.suspects.get(topic)!.alert === this.latest.get(topic)));
    const fresh = (everyModel ? [...this.latest.keys()] : topics).filter((topic) => !confirmed.has(topic));
    const suspects = new Map([...confirmed].map((topic) => [topic, this.suspects.get(topic)!] as const).filter(([topic, suspect]) => !this.correctedEnough(topic, suspect)));
    for (const topic of topics) this.suspects.delete(topic);
    this.checking = this.correct(suspects, fresh, everyModel)
      .catch((error: unknown) => {
        // Checked again later, as if the messages had just come.
        for (const topic of topics) if (!this.due.has(topic)) this.due.set(topic, this.later());
        if (everyModel) this.everyModelAt ??= this.later();
        const notLoggedSinceLast = this.failureLog.pass();
        if (notLoggedSinceLast !== undefined) {
          this.logger.warn('retained alert messages not checked; retrying', { error: error instanceof Error ? error.message : String(error), notLoggedSinceLast });
        }
      })
      .finally(() => {
        this.checking = undefined;
        if (this.due.size > 0 || this.everyModelAt !== undefined) this.schedule();
      });
  }

  private async correct(suspects: ReadonlyMap<string, Suspect>, fresh: readonly string[], everyModel: boolean): Promise<void> {
    if (suspects.size > 0) {
      const retained = [...suspects.values()].flatMap((suspect) => suspect.alert ?? []);
      const absent = [...suspects.values()].filter((suspect) => suspect.alert === undefined).map((suspect) => suspect.model);
      const published = await this.reconcile.execute(retained, { absent, perSensor: this.perSensor, publish: true });
      const corrections: typeof published = [];
      for (const event of published) {
        const topic = alertsTopicOf(this.config.alertsTopic, event.sensorId, event.metric);
        const suspect = suspects.get(topic);
        // On a sensor's topic, another metric's event true for its own model (a clear, a
        // deletion's clear) hides a raise: publishing that raise again is the ordinary course,
        // not a correction, and no count of corrections of one message may withhold it.
        if (suspect?.alert !== undefined && suspect.alert.metric !== event.metric) {
          this.metrics.retainedAlertRaisesRepublished.inc();
          continue;
        }
        corrections.push(event);
        if (suspect === undefined) continue;
        const identity = this.identityOf(suspect);
        const before = this.corrected.get(topic);
        this.corrected.set(topic, { identity, times: before?.identity === identity ? before.times + 1 : 1 });
      }
      if (corrections.length > 0) {
        this.metrics.retainedAlertCorrections.inc(corrections.length);
        const [first] = corrections;
        this.logger.info('retained alert messages corrected to the stored state', { corrections: corrections.length, first: { sensor_id: first!.sensorId, metric: first!.metric, state: first!.state } });
      }
    }
    if (fresh.length === 0 && !everyModel) return;
    const wrong = await this.reconcile.execute(
      fresh.flatMap((topic) => this.latest.get(topic) ?? []),
      { absent: fresh.flatMap((topic) => (this.latest.has(topic) ? [] : (this.removed.get(topic) ?? []))), everyRaised: everyModel, perSensor: this.perSensor },
    );
    for (const { sensorId, metric } of wrong) {
      const topic = alertsTopicOf(this.config.alertsTopic, sensorId, metric);
      if (this.foreign.has(topic)) continue;
      this.suspects.set(topic, { model: { sensorId, metric }, alert: this.latest.get(topic) });
      // Confirmed between one and two periods on: each replica at its own time, so the first
      // to correct is usually seen by the others before their turn, and they need not repeat it.
      if (!this.due.has(topic)) this.due.set(topic, this.later(1 + Math.random()));
    }
  }
}
