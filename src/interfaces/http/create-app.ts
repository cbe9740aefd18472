import express, { type Express } from 'express';
import type { DependencyContainer } from 'tsyringe';
import { LOGGER, type Logger } from '../../application/ports/logger';
import { APP_CONFIG, type AppConfig } from '../../config';
import { AlertsController } from './alerts.controller';
import { errorHandler } from './error-handler.middleware';
import { HealthController } from './health.controller';
import { JSON_MEDIA_TYPES, methodNotAllowed, requireJsonBody, routeNotFound } from './http-guards.middleware';
import { SensorsController } from './sensors.controller';

/** Builds the Express app from an already configured container; resolves everything up front. */
export function createApp(container: DependencyContainer): Express {
  const config = container.resolve<AppConfig>(APP_CONFIG);
  const logger = container.resolve<Logger>(LOGGER);
  const sensors = container.resolve(SensorsController);
  const health = container.resolve(HealthController);
  const alerts = container.resolve(AlertsController);

  const app = express();
  app.disable('x-powered-by');
  app.use(requireJsonBody);
  app.use(express.json({ limit: config.bodyLimit, type: JSON_MEDIA_TYPES }));

  app.route('/health').get(health.health).all(methodNotAllowed('GET'));
  app.route('/alerts').get(alerts.all).all(methodNotAllowed('GET'));
  app.route('/:sensor_id/fit').post(sensors.fit).all(methodNotAllowed('POST'));
  app.route('/:sensor_id/weights').get(sensors.weights).all(methodNotAllowed('GET'));
  app.route('/:sensor_id/weights/history').get(sensors.history).all(methodNotAllowed('GET'));
  app.route('/:sensor_id/predict').post(sensors.predict).all(methodNotAllowed('POST'));
  app.route('/:sensor_id/adjust').post(sensors.adjust).all(methodNotAllowed('POST'));
  app.route('/:sensor_id/alerts').get(alerts.ofSensor).all(methodNotAllowed('GET'));

  app.use(routeNotFound);
  app.use(errorHandler(logger));
  return app;
}
