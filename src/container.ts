import type Database from 'better-sqlite3';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { AdjustWeightsUseCase } from './application/adjust-weights.use-case';
import { CheckHealthUseCase } from './application/check-health.use-case';
import { EvaluateAlertsUseCase } from './application/evaluate-alerts.use-case';
import { FitSensorUseCase } from './application/fit-sensor.use-case';
import { GetWeightsHistoryUseCase } from './application/get-weights-history.use-case';
import { GetWeightsUseCase } from './application/get-weights.use-case';
import { LOGGER } from './application/ports/logger';
import { WEIGHTS_REPOSITORY } from './application/ports/weights.repository';
import { PredictAlertUseCase } from './application/predict-alert.use-case';
import { TrainSensorsUseCase } from './application/train-sensors.use-case';
import { APP_CONFIG, type AppConfig } from './config';
import { AlertPolicy } from './domain/alert-policy';
import { JsonLogger } from './infrastructure/logging/json-logger';
import { openSqliteDatabase } from './infrastructure/sqlite/open-sqlite-database';
import { SqliteWeightsRepository } from './infrastructure/sqlite/sqlite-weights.repository';

const SQLITE_DATABASE = Symbol('SqliteDatabase');

/**
 * The composition root: every registration lives here. Each call opens its own
 * database in a child container, so tests and tools never share state. Controllers need
 * no registration: createApp resolves each once; keeping them out of here also keeps
 * Express out of the trainer's start-up.
 */
export function createContainer(config: AppConfig, parent: DependencyContainer = rootContainer): DependencyContainer {
  const database = openSqliteDatabase(config.dbPath);
  const child = parent.createChildContainer();

  child.register(APP_CONFIG, { useValue: config });
  child.register(LOGGER, { useValue: new JsonLogger(config.logLevel) });
  child.register(SQLITE_DATABASE, { useValue: database });
  child.register(WEIGHTS_REPOSITORY, { useValue: new SqliteWeightsRepository(database) });
  child.register(AlertPolicy, { useValue: new AlertPolicy() });

  const singletons: ReadonlyArray<new (...args: never[]) => unknown> = [
    FitSensorUseCase,
    GetWeightsUseCase,
    PredictAlertUseCase,
    AdjustWeightsUseCase,
    GetWeightsHistoryUseCase,
    CheckHealthUseCase,
    TrainSensorsUseCase,
    EvaluateAlertsUseCase,
  ];
  for (const singleton of singletons) child.registerSingleton(singleton);
  return child;
}

/** Releases what createContainer opened. */
export function closeContainer(container: DependencyContainer): void {
  container.resolve<Database.Database>(SQLITE_DATABASE).close();
}
