import type { Request, Response } from 'express';
import { injectable } from 'tsyringe';
import { PredictBatchUseCase, type BatchItem } from '../../application/predict-batch.use-case';
import { DomainError } from '../../domain/domain-error';
import { MetricName } from '../../domain/metric-name';
import { Sensor } from '../../domain/sensor';
import { ServiceMetrics } from '../../infrastructure/metrics/service-metrics';
import type { FieldError } from './http-problem';
import { batchPredictBodySchema } from './request-schemas';
import type { BatchPredictResponse } from './response-schemas';
import { invalidBody, parseBody } from './validation';

/** POST /predict: many readings of many sensors in one request. */
@injectable()
export class BatchPredictController {
  constructor(
    private readonly predictBatch: PredictBatchUseCase,
    private readonly metrics: ServiceMetrics,
  ) {}

  readonly predict = async (req: Request, res: Response): Promise<void> => {
    const { items } = parseBody(batchPredictBodySchema, req.body);
    const { predictions, missing } = await this.predictBatch.execute(toBatchItems(items));
    const alerts = predictions.filter((prediction) => prediction === true).length;
    const calm = predictions.filter((prediction) => prediction === false).length;
    if (alerts > 0) this.metrics.predictions.inc({ outcome: 'alert' }, alerts);
    if (calm > 0) this.metrics.predictions.inc({ outcome: 'no_alert' }, calm);
    const body: BatchPredictResponse = { predictions, missing: missing.map(({ sensorId, metric }) => ({ sensor_id: sensorId, metric })) };
    res.json(body);
  };
}

/** Ids inside a body are body fields: a bad one is a 422 naming its item, like any other field. */
function toBatchItems(items: ReadonlyArray<{ sensor_id: string; value: number; metric?: string | undefined }>): BatchItem[] {
  const errors: FieldError[] = [];
  const sensors = new Map<string, Sensor>();
  const metrics = new Map<string, MetricName>([[MetricName.DEFAULT.name, MetricName.DEFAULT]]);
  const batch = items.map(({ sensor_id: sensorId, value, metric = MetricName.DEFAULT.name }, index): BatchItem => {
    const sensor = cached(sensors, sensorId, (id) => Sensor.withId(id), `#/items/${index}/sensor_id`, errors);
    const metricName = cached(metrics, metric, (name) => MetricName.of(name), `#/items/${index}/metric`, errors);
    return { sensor: sensor!, metric: metricName!, value };
  });
  if (errors.length > 0) throw invalidBody(errors);
  return batch;
}

function cached<T>(cache: Map<string, T>, raw: string, make: (raw: string) => T, pointer: string, errors: FieldError[]): T | undefined {
  const known = cache.get(raw);
  if (known) return known;
  try {
    const made = make(raw);
    cache.set(raw, made);
    return made;
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    errors.push({ pointer, detail: error.message });
    return undefined;
  }
}
