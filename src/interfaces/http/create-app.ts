import express, { type Express, type RequestHandler } from 'express';
import type { DependencyContainer } from 'tsyringe';
import { LOGGER, type Logger } from '../../application/ports/logger';
import { APP_CONFIG, type AppConfig } from '../../config';
import { PinoLogger } from '../../infrastructure/logging/pino-logger';
import { ServiceMetrics } from '../../infrastructure/metrics/service-metrics';
import { AlertsController } from './alerts.controller';
import { BatchPredictController } from './batch-predict.controller';
import { requireBearerToken } from './bearer-token.middleware';
import { docsRouter } from './docs.router';
import { errorHandler } from './error-handler.middleware';
import { HealthController } from './health.controller';
import { JSON_MEDIA_TYPES, methodNotAllowed, requireJsonBody, routeNotFound } from './http-guards.middleware';
import { observeRequests } from './observability.middleware';
import { SensorsController } from './sensors.controller';

/** Builds the Express app from an already configured container; resolves everything up front. */
export function createApp(container: DependencyContainer): Express {
  const config = container.resolve<AppConfig>(APP_CONFIG);
  const logger = container.resolve<Logger>(LOGGER);
  const metrics = container.resolve(ServiceMetrics);
  const sensors = container.resolve(SensorsController);
  const health = container.resolve(HealthController);
  const alerts = container.resolve(AlertsController);
  const batch = container.resolve(BatchPredictController);
  metrics.collectProcessMetrics();
  // With API_TOKEN, writes need it; with API_TOKEN_READS too, so do reads and predictions.
  // Probes, metrics and the documentation stay open. Without a token no guard is mounted at
  // all: every layer costs each request a little.
  const writes: RequestHandler[] = config.apiToken ? [requireBearerToken(config.apiToken)] : [];
  const reads = config.apiTokenForReads ? writes : [];

  // Bodies are read only by the routes that take one, after their token check: a client
  // without the token cannot make the server read and parse up to BODY_LIMIT bytes.
  // strict: false parses any JSON value, so `10` or `null` is refused by the schema (422, valid
  // JSON of the wrong shape) rather than by the parser as if it were not JSON (400).
  const jsonBody: RequestHandler[] = [express.json({ limit: config.bodyLimit, type: JSON_MEDIA_TYPES, strict: false }), requireJsonBody];

  const app = express();
  app.disable('x-powered-by');
  // Hashing each body for an ETag buys nothing here: answers are small, mostly to POSTs, and
  // clients do not revalidate.
  app.disable('etag');
  app.use(observeRequests(container.resolve(PinoLogger).pino, metrics));

  // Routes are tried in order, so the busy ones come first.
  app.route('/:sensor_id/predict').post(...reads, ...jsonBody, sensors.predict).all(methodNotAllowed('POST'));
  app.route('/:sensor_id/weights').get(...reads, sensors.weights).all(methodNotAllowed('GET'));
  app.route('/predict').post(...reads, ...jsonBody, batch.predict).all(methodNotAllowed('POST'));
  app.route('/:sensor_id/fit').post(...writes, ...jsonBody, sensors.fit).all(methodNotAllowed('POST'));
  app.route('/:sensor_id/adjust').post(...writes, ...jsonBody, sensors.adjust).all(methodNotAllowed('POST'));
  app.route('/:sensor_id/weights/history').get(...reads, sensors.history).all(methodNotAllowed('GET'));
  app.route('/:sensor_id/alerts').get(...reads, alerts.ofSensor).all(methodNotAllowed('GET'));
  app.route('/alerts').get(...reads, alerts.all).all(methodNotAllowed('GET'));
  app.route('/health').get(health.health).all(methodNotAllowed('GET'));
  app.route('/ready').get(health.ready).all(methodNotAllowed('GET'));
  app.route('/metrics').get(health.prometheus).all(methodNotAllowed('GET'));
  app.use(docsRouter());

  app.use(routeNotFound);
  app.use(errorHandler(logger, metrics));
  return app;
}
