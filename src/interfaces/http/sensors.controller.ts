import type { Request, Response } from 'express';
import { injectable } from 'tsyringe';
import { ServiceMetrics } from '../../infrastructure/metrics/service-metrics';
import { AdjustWeightsUseCase } from '../../application/adjust-weights.use-case';
import { DeleteWeightsUseCase } from '../../application/delete-weights.use-case';
import { FitSensorUseCase } from '../../application/fit-sensor.use-case';
import { GetWeightsHistoryUseCase } from '../../application/get-weights-history.use-case';
import { GetWeightsUseCase } from '../../application/get-weights.use-case';
import { PredictAlertUseCase } from '../../application/predict-alert.use-case';
import { RollbackWeightsUseCase } from '../../application/rollback-weights.use-case';
import { UpdateSensorUseCase } from '../../application/update-sensor.use-case';
import { AlertPolicy } from '../../domain/alert-policy';
import { MetricName } from '../../domain/metric-name';
import { Sensor } from '../../domain/sensor';
import type { SensorWeights } from '../../domain/sensor-weights';
import type { Weights } from '../../domain/weights';
import type { WeightsRevision } from '../../domain/weights-revision';
import { emptyBodySchema, fitBodySchema, historyQuerySchema, metricQuerySchema, predictBodySchema, rollbackBodySchema, updateBodySchema, valuesField } from './request-schemas';
import type { DeletedWeightsResponse, RevisionResponse, WeightsResponse } from './response-schemas';
import { parseBody, parseQuery } from './validation';

type SensorRequest = Request<{ sensor_id: string }>;

/** The case's routes over one sensor's model; `?metric=` picks the model (default `value`). */
@injectable()
export class SensorsController {
  constructor(
    private readonly fitSensor: FitSensorUseCase,
    private readonly getWeights: GetWeightsUseCase,
    private readonly predictAlert: PredictAlertUseCase,
    private readonly adjustWeights: AdjustWeightsUseCase,
    private readonly getWeightsHistory: GetWeightsHistoryUseCase,
    private readonly updateSensor: UpdateSensorUseCase,
    private readonly rollbackWeights: RollbackWeightsUseCase,
    private readonly deleteWeights: DeleteWeightsUseCase,
    private readonly metrics: ServiceMetrics,
    private readonly policy: AlertPolicy,
  ) {}

  readonly fit = async (req: SensorRequest, res: Response): Promise<void> => {
    const { sensor, metric } = modelOf(req);
    const { values } = parseBody(fitBodySchema, req.body, valuesField);
    const fitted = await this.fitSensor.execute(sensor, metric, values);
    this.metrics.modelChanges.inc({ change: 'fit' });
    res.json(weightsBody(fitted, this.policy));
  };

  readonly update = async (req: SensorRequest, res: Response): Promise<void> => {
    const { sensor, metric } = modelOf(req);
    const { values } = parseBody(updateBodySchema, req.body, valuesField);
    const updated = await this.updateSensor.execute(sensor, metric, values);
    this.metrics.modelChanges.inc({ change: 'update' });
    res.json(weightsBody(updated, this.policy));
  };

  readonly rollback = async (req: SensorRequest, res: Response): Promise<void> => {
    const { sensor, metric } = modelOf(req);
    const { version } = parseBody(rollbackBodySchema, req.body);
    const restored = await this.rollbackWeights.execute(sensor, metric, version);
    this.metrics.modelChanges.inc({ change: 'rollback' });
    res.json(weightsBody(restored, this.policy));
  };

  readonly remove = async (req: SensorRequest, res: Response): Promise<void> => {
    const { sensor, metric } = modelOf(req);
    takesNoFields(req);
    const removed = await this.deleteWeights.execute(sensor, metric);
    this.metrics.modelChanges.inc({ change: 'delete' });
    res.json(deletedBody(removed));
  };

  readonly weights = async (req: SensorRequest, res: Response): Promise<void> => {
    const { sensor, metric } = modelOf(req);
    res.json(weightsBody(await this.getWeights.execute(sensor, metric), this.policy));
  };

  readonly predict = async (req: SensorRequest, res: Response): Promise<void> => {
    const { sensor, metric } = modelOf(req);
    const { value } = parseBody(predictBodySchema, req.body);
    const alert = await this.predictAlert.execute(sensor, metric, value);
    this.metrics.predictions.inc({ outcome: alert ? 'alert' : 'no_alert' });
    res.json(alert);
  };

  readonly adjust = async (req: SensorRequest, res: Response): Promise<void> => {
    const { sensor, metric } = modelOf(req);
    takesNoFields(req);
    const adjusted = await this.adjustWeights.execute(sensor, metric);
    this.metrics.modelChanges.inc({ change: 'adjust' });
    res.json(weightsBody(adjusted, this.policy));
  };

  readonly history = async (req: SensorRequest, res: Response): Promise<void> => {
    const sensor = Sensor.withId(req.params.sensor_id);
    const { metric, limit, before } = parseQuery(historyQuerySchema, req.query);
    const revisions = await this.getWeightsHistory.execute(sensor, metricNamed(metric), limit, before);
    res.json(revisions.map(revisionBody));
  };
}

/** The path and query name the model; checked before the body so a bad URL is a 400 first. */
function modelOf(req: SensorRequest): { sensor: Sensor; metric: MetricName } {
  const sensor = Sensor.withId(req.params.sensor_id);
  const { metric } = parseQuery(metricQuerySchema, req.query);
  return { sensor, metric: metricNamed(metric) };
}

/** For adjust and delete: no body means {}; a JSON null is a body, and not an object. */
function takesNoFields(req: SensorRequest): void {
  parseBody(emptyBodySchema, req.body === undefined ? {} : req.body);
}

function metricNamed(name: string | undefined): MetricName {
  return name === undefined ? MetricName.DEFAULT : MetricName.of(name);
}

function statistics({ mean, std, n, adjustment }: Weights) {
  return { mean, std, n, adjustment };
}

function weightsBody(stored: SensorWeights, policy: AlertPolicy): WeightsResponse {
  const threshold = policy.threshold(stored.weights);
  return {
    sensor_id: stored.sensorId,
    metric: stored.metric,
    ...statistics(stored.weights),
    threshold: Number.isFinite(threshold) ? threshold : null,
    version: stored.version,
    updated_at: stored.updatedAt.toISOString(),
  };
}

function deletedBody(removed: SensorWeights): DeletedWeightsResponse {
  return {
    sensor_id: removed.sensorId,
    metric: removed.metric,
    ...statistics(removed.weights),
    version: removed.version,
    deleted_at: removed.updatedAt.toISOString(),
  };
}

function revisionBody(revision: WeightsRevision): RevisionResponse {
  return {
    version: revision.version,
    change: revision.change,
    ...statistics(revision.weights),
    recorded_at: revision.recordedAt.toISOString(),
  };
}
