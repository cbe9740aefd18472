import { container as rootContainer, instanceCachingFactory, type DependencyContainer } from 'tsyringe';
import { AdjustWeightsUseCase } from './application/adjust-weights.use-case';
import { CheckHealthUseCase } from './application/check-health.use-case';
import { EvaluateAlertsUseCase } from './application/evaluate-alerts.use-case';
import { FitSensorUseCase } from './application/fit-sensor.use-case';
import { GetWeightsHistoryUseCase } from './application/get-weights-history.use-case';
import { FanOutAlertEventPublisher, type AlertEventSink } from './application/fan-out-alert-event.publisher';
import { GetWeightsUseCase } from './application/get-weights.use-case';
import { ALERT_EVENT_PUBLISHER } from './application/ports/alert-event.publisher';
import { IDEMPOTENCY_STORE } from './application/ports/idempotency.store';
import { LOGGER, type Logger } from './application/ports/logger';
import { WEIGHTS_REPOSITORY } from './application/ports/weights.repository';
import { PredictAlertUseCase } from './application/predict-alert.use-case';
import { PredictBatchUseCase } from './application/predict-batch.use-case';
import { RollbackWeightsUseCase } from './application/rollback-weights.use-case';
import { UpdateSensorUseCase } from './application/update-sensor.use-case';
import { APP_CONFIG, type AppConfig } from './config';
import { AlertPolicy } from './domain/alert-policy';
import { WebhookAlertEventPublisher } from './infrastructure/alert-events/webhook-alert-event.publisher';
import { PinoLogger } from './infrastructure/logging/pino-logger';
import { ServiceMetrics } from './infrastructure/metrics/service-metrics';
import { TimedWeightsRepository } from './infrastructure/metrics/timed-weights.repository';
import { Readiness } from './interfaces/http/readiness';
import { openWeightsStorage, type WeightsStorage } from './weights-storage';

const WEIGHTS_STORAGE = Symbol('WeightsStorage');

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
  child.register(APP_CONFIG, { useValue: config });
  child.register(ServiceMetrics, { useValue: metrics });
  child.register(PinoLogger, { useValue: new PinoLogger(config.logLevel, config.logFormat) });
  child.register(LOGGER, { useToken: PinoLogger });
  child.register(WEIGHTS_STORAGE, { useValue: storage });
  child.register(WEIGHTS_REPOSITORY, { useValue: new TimedWeightsRepository(storage.repository, metrics) });
  child.register(IDEMPOTENCY_STORE, { useValue: storage.idempotency });
  child.register(AlertPolicy, { useValue: new AlertPolicy() });
  child.register(Readiness, { useValue: new Readiness() });
  registerAlertEventSinks(child, config);

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
  ];
  for (const singleton of singletons) child.registerSingleton(singleton);
  return child;
}

/**
 * ALERT_EVENT_PUBLISHER: every configured sink behind one fan-out (none configured: events go
 * nowhere). Built on first resolve, so a test's replacement of the logger is the one they log to.
 */
function registerAlertEventSinks(child: DependencyContainer, config: AppConfig): void {
  const webhookUrl = config.alertWebhookUrl;
  if (webhookUrl !== undefined) {
    child.register(WebhookAlertEventPublisher, {
      useFactory: instanceCachingFactory((c) => new WebhookAlertEventPublisher(webhookUrl, c.resolve(ServiceMetrics), c.resolve<Logger>(LOGGER))),
    });
  }
  child.register(ALERT_EVENT_PUBLISHER, {
    useFactory: instanceCachingFactory((c) => {
      const sinks: AlertEventSink[] = [];
      // The MQTT alerts topic joins here when config.mqtt is set: { name: 'mqtt', publisher: ... }.
      if (webhookUrl !== undefined) sinks.push({ name: 'webhook', publisher: c.resolve(WebhookAlertEventPublisher) });
      return new FanOutAlertEventPublisher(sinks, c.resolve<Logger>(LOGGER));
    }),
  });
}

/** Releases what createContainer opened; the webhook first gets its grace period to send what it holds. */
export async function closeContainer(container: DependencyContainer): Promise<void> {
  if (container.isRegistered(WebhookAlertEventPublisher)) await container.resolve(WebhookAlertEventPublisher).close();
  await container.resolve<WeightsStorage>(WEIGHTS_STORAGE).close();
}
