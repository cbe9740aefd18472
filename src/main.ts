import 'reflect-metadata';
import { LOGGER, type Logger } from './application/ports/logger';
import { loadConfig } from './config';
import { closeContainer, createContainer } from './container';
import { describeWeightsStorage } from './weights-storage';
import { createApp } from './interfaces/http/create-app';
import { answerClientErrors } from './interfaces/http/client-error.handler';
import { startHttpServer } from './interfaces/http/http-server';
import { Readiness } from './interfaces/http/readiness';

const SHUTDOWN_GRACE_MS = 10_000;

async function main(): Promise<void> {
  const config = loadConfig();
  // An unreachable or corrupt database fails the start here, in one line (WeightsStorageOpenError).
  const container = await createContainer(config);
  const logger = container.resolve<Logger>(LOGGER);
  const readiness = container.resolve(Readiness);
  const server = await startHttpServer(createApp(container), config.port, config.host, config, answerClientErrors(container));
  readiness.markReady();
  logger.info('sensor-alerts listening', { url: server.url, storage: describeWeightsStorage(config) });

  let stopping = false;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal, delayMs: config.shutdownDelayMs });
    // /ready answers 503 first, so a load balancer stops sending traffic before we stop accepting it.
    readiness.markStopping();
    await new Promise((resolve) => setTimeout(resolve, config.shutdownDelayMs));
    await server.close(SHUTDOWN_GRACE_MS);
    await closeContainer(container);
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', (signal) => void stop(signal));
  process.on('SIGINT', (signal) => void stop(signal));
}

main().catch((error: unknown) => {
  // One clear line for the operator; configuration and startup faults need no stack.
  process.stderr.write(`sensor-alerts: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
