import express, { type Express } from 'express';
import type { DependencyContainer } from 'tsyringe';
import { LOGGER, type Logger } from '../../application/ports/logger';
import { APP_CONFIG, type AppConfig } from '../../config';
import { PinoLogger } from '../../infrastructure/logging/pino-logger';
import { ServiceMetrics } from '../../infrastructure/metrics/service-metrics';
import { AlertsController } from './alerts.controller';
import { BatchPredictController } from './batch-predict.controller';
import { docsRouter } from './docs.router';
import { errorHandler } from './error-handler.middleware';
import { HealthController } from './health.controller';
import { JSON_MEDIA_TYPES, methodNotAllowed, requireJsonBody, routeNotFound } from './http-guards.middleware';
import { requestLogging, requestMetrics } from './observability.middleware';
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

  const app = express();
  app.disable('x-powered-by');
  app.use(requestLogging(container.resolve(PinoLogger)));
  app.use(requestMetrics(metrics));
  app.use(requireJsonBody);
  app.use(express.json({ limit: config.bodyLimit, type: JSON_MEDIA_TYPES }));

  app.route('/health').get(health.health).all(methodNotAllowed('GET'));
  app.route('/ready').get(health.ready).all(methodNotAllowed('GET'));
  app.route('/metrics').get(health.prometheus).all(methodNotAllowed('GET'));
  app.use(docsRouter());
  app.route('/alerts').get(alerts.all).all(methodNotAllowed('GET'));
  app.route('/predict').post(batch.predict).all(methodNotAllowed('POST'));
  app.route('/:sensor_id/fit').post(sensors.fit).all(methodNotAllowed('POST'));
  app.route('/:sensor_id/weights').get(sensors.weights).all(methodNotAllowed('GET'));
  app.route('/:sensor_id/weights/history').get(sensors.history).all(methodNotAllowed('GET'));
  app.route('/:sensor_id/predict').post(sensors.predict).all(methodNotAllowed('POST'));
  app.route('/:sensor_id/adjust').post(sensors.adjust).all(methodNotAllowed('POST'));
  app.route('/:sensor_id/alerts').get(alerts.ofSensor).all(methodNotAllowed('GET'));

  app.use(routeNotFound);
  app.use(errorHandler(logger, metrics));
  return app;
}
