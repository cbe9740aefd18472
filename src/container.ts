import { container as rootContainer, instanceCachingFactory, type DependencyContainer } from 'tsyringe';
import { AdjustWeightsUseCase } from './application/adjust-weights.use-case';
import { CheckHealthUseCase } from './application/check-health.use-case';
import { EvaluateAlertsUseCase } from './application/evaluate-alerts.use-case';
import { FitSensorUseCase } from './application/fit-sensor.use-case';
import { GetWeightsHistoryUseCase } from './application/get-weights-history.use-case';
import { FanOutAlertEventPublisher, type AlertEventSink } from './application/fan-out-alert-event.publisher';
import { GetWeightsUseCase } from './application/get-weights.use-case';
import { IngestReadingsUseCase } from './application/ingest-readings.use-case';
import { ListActiveAlertsUseCase } from './application/list-active-alerts.use-case';
import { ALERT_EVENT_PUBLISHER } from './application/ports/alert-event.publisher';
import { ALERT_STATE_REPOSITORY } from './application/ports/alert-state.repository';
import { IDEMPOTENCY_STORE } from './application/ports/idempotency.store';
import { LOGGER, type Logger } from './application/ports/logger';
import { WEIGHTS_REPOSITORY } from './application/ports/weights.repository';
import { PredictAlertUseCase } from './application/predict-alert.use-case';
import { PredictBatchUseCase } from './application/predict-batch.use-case';
import { ReconcileRetainedAlertsUseCase } from './application/reconcile-retained-alerts.use-case';
import { RollbackWeightsUseCase } from './application/rollback-weights.use-case';
import { StreamLearner } from './application/stream-learner';
import { UpdateSensorUseCase } from './application/update-sensor.use-case';
import { APP_CONFIG, type AppConfig } from './config';
import { AlertDebounce } from './domain/alert-debounce';
import { AlertPolicy } from './domain/alert-policy';
import { WebhookAlertEventPublisher } from './infrastructure/alert-events/webhook-alert-event.publisher';
import { PinoLogger } from './infrastructure/logging/pino-logger';
import { ServiceMetrics } from './infrastructure/metrics/service-metrics';
import { TimedWeightsRepository } from './infrastructure/metrics/timed-weights.repository';
import { CountingAlertEventPublisher } from './infrastructure/metrics/counting-alert-event.publisher';
import { IngestionStatus } from './interfaces/mqtt/ingestion-status';
import { MqttAlertEventPublisher } from './infrastructure/mqtt/mqtt-alert-event.publisher';
import { MqttConnection } from './interfaces/mqtt/mqtt-connection';
import { MqttReadingsSubscriber } from './interfaces/mqtt/mqtt-readings.subscriber';
import { MqttRetainedAlertsReconciler } from './interfaces/mqtt/mqtt-retained-alerts.reconciler';
import { Readiness } from './interfaces/http/readiness';
import { openWeightsStorage, type WeightsStorage } from './weights-storage';

/** The opened storage itself, for the composition roots: closing it, and its start-up facts. */
export const WEIGHTS_STORAGE = Symbol('WeightsStorage');
/** The MQTT connection and reconciler once something asked for them, so that closeContainer closes only what was opened. */
const OPENED_MQTT = Symbol('OpenedMqtt');

interface OpenedMqtt {
  connection?: MqttConnection;
  reconciler?: MqttRetainedAlertsReconciler;
}

/**
 * The server's composition root: every registration lives here. Each call opens its own
 * storage (connected and migrated, hence async) in a child container, so tests never share
 * state. Controllers need no registration: createApp resolves each once. (The command-line
 * tools wire their one use case by hand over openWeightsStorage; see there why.)
 */
export async function createContainer(config: AppConfig, parent: DependencyContainer = rootContainer): Promise<DependencyContainer> {
  const child = parent.createChildContainer();
  // Resolved when it fires, not now: registrations may still be replaced before the app is
  // built (tests capture the log by replacing PinoLogger).
  const logIdleError = (error: Error) =>
    child.resolve<Logger>(LOGGER).warn('weights database connection lost while idle; it will be replaced', { error: error.message });
  const logFileLost = (path: string) =>
    child.resolve<Logger>(LOGGER).error('weights database file deleted or replaced: writes, /health and /ready answer 503 until a restart', { path });
  const storage = await openWeightsStorage(config, logIdleError, logFileLost);

  const metrics = new ServiceMetrics();
  if (!config.mqtt) metrics.withoutBroker();
  child.register(APP_CONFIG, { useValue: config });
  child.register(ServiceMetrics, { useValue: metrics });
  child.register(PinoLogger, { useValue: new PinoLogger(config.logLevel, config.logFormat) });
  child.register(LOGGER, { useToken: PinoLogger });
  child.register(WEIGHTS_STORAGE, { useValue: storage });
  child.register(WEIGHTS_REPOSITORY, { useValue: new TimedWeightsRepository(storage.repository, metrics) });
  child.register(IDEMPOTENCY_STORE, { useValue: storage.idempotency });
  child.register(AlertPolicy, { useValue: new AlertPolicy() });
  child.register(Readiness, { useValue: new Readiness() });
  child.register(ALERT_STATE_REPOSITORY, { useValue: storage.alertStates });
  child.register(AlertDebounce, { useValue: new AlertDebounce(config.alertRaiseAfter, config.alertClearAfter) });
  // Always there (IngestReadingsUseCase takes it); it learns nothing unless LEARN_FROM_STREAM.
  // Built on first use, so a test's replacement of the repository or logger is the one it uses.
  child.register(StreamLearner, {
    useFactory: instanceCachingFactory((c) => new StreamLearner(c.resolve(WEIGHTS_REPOSITORY), config.learnFromStream, c.resolve<Logger>(LOGGER))),
  });
  const ingestionStatus = new IngestionStatus();
  child.register(IngestionStatus, { useValue: ingestionStatus });
  const openedMqtt: OpenedMqtt = {};
  child.register(OPENED_MQTT, { useValue: openedMqtt });
  const mqtt = config.mqtt;
  if (mqtt) {
    // Factories: the connection is made (not yet connected) only when first asked for, with the logger registered by then.
    child.register(MqttConnection, {
      useFactory: instanceCachingFactory((c) => (openedMqtt.connection = new MqttConnection(mqtt, c.resolve<Logger>(LOGGER), metrics, ingestionStatus))),
    });
    child.register(MqttReadingsSubscriber, {
      useFactory: instanceCachingFactory(
        (c) => new MqttReadingsSubscriber(mqtt, c.resolve(MqttConnection), c.resolve(IngestReadingsUseCase), c.resolve<Logger>(LOGGER), metrics),
      ),
    });
    // Corrections go to MQTT only: the webhook's receivers are not told a retained state.
    child.register(MqttRetainedAlertsReconciler, {
      useFactory: instanceCachingFactory((c) => {
        const reconcile = new ReconcileRetainedAlertsUseCase(c.resolve(ALERT_STATE_REPOSITORY), c.resolve(WEIGHTS_REPOSITORY), c.resolve(MqttAlertEventPublisher), c.resolve(AlertPolicy));
        return (openedMqtt.reconciler = new MqttRetainedAlertsReconciler(mqtt, c.resolve(MqttConnection), reconcile, c.resolve<Logger>(LOGGER), metrics, storage.databaseId));
      }),
    });
  }
  registerAlertEventSinks(child, config, storage.databaseId);

  const singletons: ReadonlyArray<new (...args: never[]) => unknown> = [
    FitSensorUseCase,
    UpdateSensorUseCase,
    RollbackWeightsUseCase,
    GetWeightsUseCase,
    PredictAlertUseCase,
    PredictBatchUseCase,
    AdjustWeightsUseCase,
    GetWeightsHistoryUseCase,
    CheckHealthUseCase,
    EvaluateAlertsUseCase,
    IngestReadingsUseCase,
    ListActiveAlertsUseCase,
  ];
  for (const singleton of singletons) child.registerSingleton(singleton);
  return child;
}

/**
 * ALERT_EVENT_PUBLISHER: every configured sink behind one fan-out (none configured: events go
 * nowhere). Built on first resolve, so a test's replacement of the logger is the one they log to.
 */
function registerAlertEventSinks(child: DependencyContainer, config: AppConfig, databaseId: string): void {
  const webhookUrl = config.alertWebhookUrl;
  if (webhookUrl !== undefined) {
    child.register(WebhookAlertEventPublisher, {
      useFactory: instanceCachingFactory((c) => new WebhookAlertEventPublisher(webhookUrl, c.resolve(ServiceMetrics), c.resolve<Logger>(LOGGER))),
    });
  }
  const mqtt = config.mqtt;
  if (mqtt !== undefined) {
    child.register(MqttAlertEventPublisher, {
      useFactory: instanceCachingFactory((c) => new MqttAlertEventPublisher(c.resolve(MqttConnection).client, mqtt.alertsTopic, c.resolve<Logger>(LOGGER), databaseId)),
    });
  }
  child.register(ALERT_EVENT_PUBLISHER, {
    useFactory: instanceCachingFactory((c) => {
      const sinks: AlertEventSink[] = [];
      if (config.mqtt) sinks.push({ name: 'mqtt', publisher: c.resolve(MqttAlertEventPublisher) });
      if (webhookUrl !== undefined) sinks.push({ name: 'webhook', publisher: c.resolve(WebhookAlertEventPublisher) });
      // Transitions are counted once, whatever the sinks.
      return new CountingAlertEventPublisher(new FanOutAlertEventPublisher(sinks, c.resolve<Logger>(LOGGER)), c.resolve(ServiceMetrics));
    }),
  });
}

/**
 * Releases what createContainer opened: readings stop coming first (a no-op when main already
 * stopped ingestion); what they left to learn is merged while storage is open; the webhook gets
 * its grace period to send what it holds.
 */
export async function closeContainer(container: DependencyContainer): Promise<void> {
  const { connection: mqtt, reconciler } = container.resolve<OpenedMqtt>(OPENED_MQTT);
  // A check under way reads storage and publishes: finished before either closes.
  await reconciler?.stop();
  if (mqtt) {
    await mqtt.close();
    container.resolve(MqttAlertEventPublisher).close();
  }
  await container.resolve(StreamLearner).close();
  if (container.isRegistered(WebhookAlertEventPublisher)) await container.resolve(WebhookAlertEventPublisher).close();
  await container.resolve<WeightsStorage>(WEIGHTS_STORAGE).close();
}
