import express, { type Express, type RequestHandler } from 'express';
import { parse } from 'node:querystring';
import type { DependencyContainer } from 'tsyringe';
import { IDEMPOTENCY_STORE, type IdempotencyStore } from '../../application/ports/idempotency.store';
import { LOGGER, type Logger } from '../../application/ports/logger';
import { APP_CONFIG, type AppConfig } from '../../config';
import { PinoLogger } from '../../infrastructure/logging/pino-logger';
import { ServiceMetrics } from '../../infrastructure/metrics/service-metrics';
import { ActiveAlertsController } from './active-alerts.controller';
import { AlertsController } from './alerts.controller';
import { BatchPredictController } from './batch-predict.controller';
import { requireBearerToken } from './bearer-token.middleware';
import { docsRouter } from './docs.router';
import { errorHandler } from './error-handler.middleware';
import { HealthController } from './health.controller';
import { idempotentWrites } from './idempotency.middleware';
import { methodNotAllowed, noSniffing, oneAtATimePerConnection, readJsonBody, rejectAmbiguousHeaders, routeNotFound } from './http-guards.middleware';
import { observeRequests } from './observability.middleware';
import { SensorsController } from './sensors.controller';

function decodeOrKeep(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Builds the Express app from an already configured container; resolves everything up front. */
export function createApp(container: DependencyContainer): Express {
  const config = container.resolve<AppConfig>(APP_CONFIG);
  const logger = container.resolve<Logger>(LOGGER);
  const metrics = container.resolve(ServiceMetrics);
  const sensors = container.resolve(SensorsController);
  const health = container.resolve(HealthController);
  const alerts = container.resolve(AlertsController);
  const activeAlerts = container.resolve(ActiveAlertsController);
  const batch = container.resolve(BatchPredictController);
  const idempotent = idempotentWrites(container.resolve<IdempotencyStore>(IDEMPOTENCY_STORE), logger);
  metrics.collectProcessMetrics();
  // With API_TOKEN, writes need it; with API_TOKEN_READS too, so do reads and predictions.
  // Probes, metrics and the documentation stay open. Without a token no guard is mounted at
  // all: every layer costs each request a little.
  const writes: RequestHandler[] = config.apiToken ? [requireBearerToken(config.apiToken)] : [];
  const reads = config.apiTokenForReads ? writes : [];

  // Bodies are read only by the routes that take one, after their token check, each up to
  // what its content needs: a client without the token cannot make the server read a body,
  // and one with it cannot make a one-number route parse megabytes.
  const fitBody = readJsonBody(config.bodyLimits.fit, 'BODY_LIMIT_FIT');
  const batchBody = readJsonBody(config.bodyLimits.batch, 'BODY_LIMIT_BATCH');
  const smallBody = readJsonBody(config.bodyLimits.small, 'BODY_LIMIT_SMALL');

  const app = express();
  // Sensor ids are case-sensitive, so routes are too: /SEN1/FIT is not /SEN1/fit. Strict:
  // /health/ is not /health.
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  // Express's own ('simple') parser, every parameter kept: node:querystring keeps only the first
  // 1,000 by default and drops the rest unseen, so `?&&…&metric=m2` (1,000 `&`) adjusted the
  // default metric's model. The URL's 16 KB bounds them; each route refuses any it does not take.
  // Text that is not percent-encoded UTF-8 stays as sent (`%FF`), for the refusal to quote,
  // where querystring would read it as U+FFFD.
  app.set('query parser', (query: string) => parse(query, '&', '=', { maxKeys: 0, decodeURIComponent: decodeOrKeep }));
  app.disable('x-powered-by');
  // Hashing each body for an ETag buys nothing here: answers are small, mostly to POSTs, and
  // clients do not revalidate.
  app.disable('etag');
  app.use(observeRequests(container.resolve(PinoLogger).pino, metrics));
  app.use(oneAtATimePerConnection());
  app.use(noSniffing);
  app.use(rejectAmbiguousHeaders);

  // Routes are tried in order, so the busy ones come first.
  app.route('/:sensor_id/predict').post(...reads, ...smallBody, sensors.predict).all(methodNotAllowed('POST'));
  app
    .route('/:sensor_id/weights')
    .get(...reads, sensors.weights)
    .delete(...writes, ...smallBody, idempotent('delete', sensors.remove))
    .all(methodNotAllowed('GET', 'DELETE'));
  app.route('/predict').post(...reads, ...batchBody, batch.predict).all(methodNotAllowed('POST'));
  app.route('/:sensor_id/fit').post(...writes, ...fitBody, idempotent('fit', sensors.fit)).all(methodNotAllowed('POST'));
  app.route('/:sensor_id/adjust').post(...writes, ...smallBody, idempotent('adjust', sensors.adjust)).all(methodNotAllowed('POST'));
  app.route('/:sensor_id/update').post(...writes, ...fitBody, idempotent('update', sensors.update)).all(methodNotAllowed('POST'));
  app.route('/:sensor_id/rollback').post(...writes, ...smallBody, idempotent('rollback', sensors.rollback)).all(methodNotAllowed('POST'));
  app.route('/:sensor_id/weights/history').get(...reads, sensors.history).all(methodNotAllowed('GET'));
  app.route('/:sensor_id/alerts').get(...reads, alerts.ofSensor).all(methodNotAllowed('GET'));
  app.route('/alerts').get(...reads, alerts.all).all(methodNotAllowed('GET'));
  // Two segments, like the /:sensor_id/<action> routes: no sensor id is taken for it, as
  // none of those actions is "active"; active-alerts-api.test.ts holds a sensor named "alerts" to it.
  app.route('/alerts/active').get(...reads, activeAlerts.list).all(methodNotAllowed('GET'));
  app.route('/health').get(health.health).all(methodNotAllowed('GET'));
  app.route('/ready').get(health.ready).all(methodNotAllowed('GET'));
  app.route('/metrics').get(health.prometheus).all(methodNotAllowed('GET'));
  app.use(docsRouter());

  app.use(routeNotFound);
  app.use(errorHandler(logger, metrics));
  return app;
}
