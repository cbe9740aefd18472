import type { Request, Response } from 'express';
import { injectable } from 'tsyringe';
import type { ModelKey } from '../../application/ports/weights.repository';
import { PredictBatchUseCase, type ReadingsBatch } from '../../application/predict-batch.use-case';
import { DomainError } from '../../domain/domain-errors';
import { isValidIdentifier } from '../../domain/identifier-rule';
import { MetricName } from '../../domain/metric-name';
import { Sensor } from '../../domain/sensor';
import { ServiceMetrics } from '../../infrastructure/metrics/service-metrics';
import { readBatchPredictBody, type BatchPredictBody } from './batch-predict-body';
import type { FieldError } from './http-problem';
import type { BatchPredictResponse } from './response-schemas';
import { noQuerySchema } from './request-schemas';
import { invalidBody, MAX_REPORTED_ERRORS, parseQuery } from './validation';

/** POST /predict: many readings of many sensors in one request. */
@injectable()
export class BatchPredictController {
  constructor(
    private readonly predictBatch: PredictBatchUseCase,
    private readonly metrics: ServiceMetrics,
  ) {}

  readonly predict = async (req: Request, res: Response): Promise<void> => {
    parseQuery(noQuerySchema, req.query);
    const { items } = readBatchPredictBody(req.body);
    const { predictions, missing } = await this.predictBatch.execute(toReadingsBatch(items));
    let alerts = 0;
    let calm = 0;
    for (const prediction of predictions) {
      if (prediction === true) alerts++;
      else if (prediction === false) calm++;
    }
    if (alerts > 0) this.metrics.predictions.inc({ outcome: 'alert' }, alerts);
    if (calm > 0) this.metrics.predictions.inc({ outcome: 'no_alert' }, calm);
    const body: BatchPredictResponse = { predictions, missing: missing.map(({ sensorId, metric }) => ({ sensor_id: sensorId, metric })) };
    res.json(body);
  };
}

const sensorWithId = (id: string) => Sensor.withId(id);
const metricNamed = (name: string) => MetricName.of(name);

/**
 * Ids inside a body are body fields: a bad one is a 422 naming its item, like any other field.
 * Runs for up to 100,000 items: each distinct id is checked once, each distinct model is
 * listed once (the use case relies on that), and nothing is built per item.
 */
function toReadingsBatch(items: BatchPredictBody['items']): ReadingsBatch {
  const errors: FieldError[] = [];
  const problems = { count: 0 }; // errors keeps the first few of them
  const sensors = new Map<string, Sensor>();
  const metrics = new Map<string, MetricName>([[MetricName.DEFAULT.name, MetricName.DEFAULT]]);
  const modelIndex = new Map<string, Map<string, number>>(); // metric name -> sensor id -> index in models
  const models: ModelKey[] = [];
  const modelOf = new Uint32Array(items.length);
  const values = new Float64Array(items.length);
  for (let index = 0; index < items.length; index++) {
    const { sensor_id: sensorId, value, metric = MetricName.DEFAULT.name } = items[index]!;
    let ofMetric = modelIndex.get(metric);
    if (!ofMetric) modelIndex.set(metric, (ofMetric = new Map<string, number>()));
    let model = ofMetric.get(sensorId);
    if (model === undefined) {
      const sensor = cached(sensors, sensorId, sensorWithId, index, 'sensor_id', errors, problems);
      const metricName = cached(metrics, metric, metricNamed, index, 'metric', errors, problems);
      if (!sensor || !metricName) continue; // reported; a later item with the same id is reported too
      ofMetric.set(sensorId, (model = models.push({ sensor, metric: metricName }) - 1));
    }
    modelOf[index] = model;
    values[index] = value;
  }
  if (problems.count > 0) throw invalidBody(errors, problems.count);
  return { models, modelOf, values };
}

function cached<T>(
  cache: Map<string, T>,
  raw: string,
  make: (raw: string) => T,
  index: number,
  field: string,
  errors: FieldError[],
  problems: { count: number },
): T | undefined {
  const known = cache.get(raw);
  if (known) return known;
  // Once the answer's list is full, a bad id is only counted: building its error (a stack
  // trace each) cost 2.4 s for 100,000 distinct bad ids. Sensor ids and metric names share this rule.
  if (problems.count >= MAX_REPORTED_ERRORS && !isValidIdentifier(raw)) {
    problems.count++;
    return undefined;
  }
  try {
    const made = make(raw);
    cache.set(raw, made);
    return made;
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    // Counted, but only the first few are kept: 100,000 bad ids would make a 100,000-line answer.
    if (++problems.count <= MAX_REPORTED_ERRORS) errors.push({ pointer: `#/items/${index}/${field}`, detail: error.message });
    return undefined;
  }
}
