import 'reflect-metadata';
import { rmdirSync, rmSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import type { DependencyContainer } from 'tsyringe';
import { LOGGER, type Logger } from './application/ports/logger';
import { loadConfig, redactUrlPassword, type AppConfig } from './config';
import { closeContainer, createContainer, WEIGHTS_STORAGE } from './container';
import { describeWeightsStorage, storageCreatedByOpen, type StorageCreated, type WeightsStorage } from './weights-storage';
import { PinoLogger } from './infrastructure/logging/pino-logger';
import { createApp } from './interfaces/http/create-app';
import { answerClientErrors } from './interfaces/http/client-error.handler';
import { startHttpServer, type RunningServer } from './interfaces/http/http-server';
import { Readiness } from './interfaces/http/readiness';
import { MqttReadingsSubscriber } from './interfaces/mqtt/mqtt-readings.subscriber';
import { MqttRetainedAlertsReconciler } from './interfaces/mqtt/mqtt-retained-alerts.reconciler';
import { acceptServeArguments } from './interfaces/cli/serve-arguments';

const SHUTDOWN_GRACE_MS = 10_000;
// Past the grace, the webhook's 5 s and the database's 2 s, a shutdown is stuck on something
// that does not answer (a hung database under live readings): it exits anyway, before a
// supervisor's kill.
const SHUTDOWN_LIMIT_MS = SHUTDOWN_GRACE_MS + 8_000;

/** What exists so far; a signal or a fatal fault acts on whatever that is. */
interface Started {
  logger?: Logger;
  container?: DependencyContainer;
  server?: RunningServer;
  config?: AppConfig;
  ingestion?: MqttReadingsSubscriber;
  reconciler?: MqttRetainedAlertsReconciler;
  /** What this start's open of the storage creates (storageCreatedByOpen), removed if the start fails. */
  created?: StorageCreated;
}
const started: Started = {};

// Process-level faults: one fatal line through the logger (a default one when the
// configuration never loaded), then exit 1; the process state is unknown, so no cleanup.
const onFatal = (kind: string) => (error: unknown) => {
  const logger = started.logger ?? new PinoLogger('info', 'json');
  logger.fatal(kind, { error: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : { value: String(error) } });
  process.exit(1);
};
process.on('uncaughtException', onFatal('uncaught exception'));
process.on('unhandledRejection', onFatal('unhandled promise rejection'));

// Signals are handled from the first line on: one that arrives while the server starts is
// kept and acted on once it listens, so an orchestrator's early SIGTERM still stops it cleanly.
let stopping: NodeJS.Signals | undefined;
let listening = false;
const onSignal = (signal: NodeJS.Signals): void => {
  if (stopping) return;
  stopping = signal;
  // Before the storage is open there is nothing to close: stop at once instead of waiting
  // out a start that may be retrying an unreachable database.
  if (!started.container) {
    process.stderr.write(`sensor-alerts: ${signal} before the start completed; exiting\n`);
    process.exit(0);
  }
  if (listening) void stop(signal);
};
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);

async function main(): Promise<void> {
  if (!acceptServeArguments(process.argv.slice(2))) return;
  const config = loadConfig();
  started.config = config;
  started.created = storageCreatedByOpen(config);
  // An unreachable or corrupt database fails the start here, in one line (WeightsStorageOpenError).
  const container = await createContainer(config);
  started.container = container;
  const logger = container.resolve<Logger>(LOGGER);
  started.logger = logger;
  logger.debug('configuration', describeConfig(config));
  const { migration } = container.resolve<WeightsStorage>(WEIGHTS_STORAGE);
  if (migration) logger.info('weights database schema migrated', { from: migration.from, to: migration.to, ms: migration.ms });
  const readiness = container.resolve(Readiness);
  started.server = await startHttpServer(createApp(container), config.port, config.host, config, answerClientErrors(container));
  readiness.markReady();
  // Logged whatever LOG_LEVEL is (bar silent): someone must be able to tell it started.
  // A wildcard address is where it listens, not a link a browser opens: the docs link says 127.0.0.1.
  const docs = `${started.server.url.replace(/^http:\/\/(0\.0\.0\.0|\[::\])(?=:)/, 'http://127.0.0.1')}/docs`;
  logger.lifecycle('sensor-alerts listening', { url: started.server.url, storage: describeWeightsStorage(config), docs });
  // Live readings once HTTP serves: a broker that cannot be reached is retried in the
  // background and never holds up the start (/ready shows the connection's state).
  if (config.mqtt) {
    started.reconciler = container.resolve(MqttRetainedAlertsReconciler);
    started.reconciler.start();
    started.ingestion = container.resolve(MqttReadingsSubscriber);
    started.ingestion.start();
  }
  listening = true;
  if (stopping) await stop(stopping);
}

async function stop(signal: NodeJS.Signals): Promise<void> {
  const { logger, container, server, config } = started as Required<Started>;
  logger.lifecycle('shutting down', { signal, delayMs: config.shutdownDelayMs });
  // /ready answers 503 first, so a load balancer stops sending traffic before we stop accepting it.
  container.resolve(Readiness).markStopping();
  await delay(config.shutdownDelayMs);
  setTimeout(() => {
    logger.error('shutdown did not finish in time (a database or broker that does not answer); exiting anyway', { limitMs: SHUTDOWN_LIMIT_MS });
    process.exit(1);
  }, SHUTDOWN_LIMIT_MS).unref();
  // Both at once: HTTP finishes its requests while ingestion stops taking messages and
  // finishes the batches it has, within the same grace (what it has not acknowledged, the
  // broker delivers again); then the broker connection and the storage close.
  const ingestionStopped = started.ingestion && Promise.race([started.ingestion.stop(), delay(SHUTDOWN_GRACE_MS, undefined, { ref: false })]);
  // No more corrections of retained messages: a stop is no time to judge them.
  await Promise.all([server.close(SHUTDOWN_GRACE_MS), ingestionStopped, started.reconciler?.stop()]);
  await closeContainer(container);
  logger.lifecycle('stopped');
  process.exit(0);
}

/** The settings in effect, for LOG_LEVEL=debug; secrets stay out. */
function describeConfig(config: AppConfig): Record<string, unknown> {
  const { apiToken, databaseUrl, mqtt, alertWebhookUrl, ...plain } = config;
  return {
    ...plain,
    storage: describeWeightsStorage(config),
    apiToken: apiToken ? 'set' : 'unset',
    ...(databaseUrl && { databaseUrl: describeWeightsStorage(config) }),
    ...(mqtt && { mqtt: { ...mqtt, url: redactUrlPassword(mqtt.url) } }),
    // Origin only: a webhook's path or query is often its secret (Slack-style URLs).
    ...(alertWebhookUrl && { alertWebhookUrl: `${new URL(alertWebhookUrl).origin}/...` }),
  };
}

main().catch(async (error: unknown) => {
  // One clear line for the operator; configuration and startup faults need no stack.
  process.stderr.write(`sensor-alerts: ${error instanceof Error ? error.message : String(error)}\n`);
  if (started.container) await closeContainer(started.container).catch(() => undefined);
  // A start that fails (its port in use, say) leaves no new empty database behind, as train
  // does not: nothing is written to it before the server listens.
  if (started.created) {
    for (const file of started.created.files) rmSync(file, { force: true });
    for (const folder of started.created.folders) {
      try {
        rmdirSync(folder); // only if empty: something else may have been put there meanwhile
      } catch {
        break;
      }
    }
  }
  process.exit(1);
});
