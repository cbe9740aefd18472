import 'reflect-metadata';
import { LOGGER, type Logger } from './application/ports/logger';
import { loadConfig } from './config';
import { closeContainer, createContainer } from './container';
import { createApp } from './interfaces/http/create-app';
import { startHttpServer } from './interfaces/http/http-server';
import { Readiness } from './interfaces/http/readiness';

const SHUTDOWN_GRACE_MS = 10_000;

async function main(): Promise<void> {
  const config = loadConfig();
  let container;
  try {
    container = createContainer(config);
  } catch (error) {
    throw new Error(`cannot open the weights database at ${config.dbPath}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const logger = container.resolve<Logger>(LOGGER);
  const readiness = container.resolve(Readiness);
  const server = await startHttpServer(createApp(container), config.port, config.host, config);
  readiness.markReady();
  logger.info('sensor-alerts listening', { url: server.url, dbPath: config.dbPath });

  let stopping = false;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal, delayMs: config.shutdownDelayMs });
    // /ready answers 503 first, so a load balancer stops sending traffic before we stop accepting it.
    readiness.markStopping();
    await new Promise((resolve) => setTimeout(resolve, config.shutdownDelayMs));
    await server.close(SHUTDOWN_GRACE_MS);
    closeContainer(container);
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
