import { inject, injectable } from 'tsyringe';
import { AlertDebounce } from '../domain/alert-debounce';
import { AlertPolicy } from '../domain/alert-policy';
import { alertEventOf } from '../domain/alert-event';
import type { MetricName } from '../domain/metric-name';
import type { Sensor } from '../domain/sensor';
import type { SensorWeights } from '../domain/sensor-weights';
import { ALERT_EVENT_PUBLISHER, type AlertEventPublisher } from './ports/alert-event.publisher';
import { ALERT_STATE_REPOSITORY, type AlertStateRepository, type ScoredReading } from './ports/alert-state.repository';
import { WEIGHTS_REPOSITORY, type ModelKey, type WeightsRepository } from './ports/weights.repository';
import { StreamLearner } from './stream-learner';
import { modelKey } from '../domain/identifier-rule';

/** One live reading of a model, as a gateway sent it; `at` is its time (the receipt time when it had none). */
export interface IncomingReading {
  readonly sensor: Sensor;
  readonly metric: MetricName;
  readonly value: number;
  readonly at: Date;
}

/** How a reading was scored: against the threshold of its model, or not at all (no model stored). */
export type ReadingOutcome = 'alert' | 'no_alert' | 'unscored';

/**
 * Scores live readings with the case's rule, steps each model's debounced alert state (kept
 * in storage, decided there atomically) and publishes every transition after it is stored;
 * with LEARN_FROM_STREAM, the readings scored below their threshold go to the StreamLearner.
 * Readings come in batches (whatever arrived together): storage is read once per model and
 * written in one transaction per batch, which is what makes tens of thousands per second
 * possible.
 */
@injectable()
export class IngestReadingsUseCase {
  constructor(
    @inject(WEIGHTS_REPOSITORY) private readonly weights: WeightsRepository,
    @inject(ALERT_STATE_REPOSITORY) private readonly states: AlertStateRepository,
    @inject(ALERT_EVENT_PUBLISHER) private readonly publisher: AlertEventPublisher,
    private readonly policy: AlertPolicy,
    private readonly debounce: AlertDebounce,
    // Optional: the unit tests of scoring and states go without; the container always gives one (a no-op unless LEARN_FROM_STREAM).
    @inject(StreamLearner) private readonly learner?: StreamLearner,
  ) {}

  /** Answers each reading's outcome, in order. Rejects (nothing stored, nothing published) when storage cannot serve. */
  async execute(readings: readonly IncomingReading[]): Promise<ReadingOutcome[]> {
    const models = await this.modelsOf(readings);
    const outcomes: ReadingOutcome[] = [];
    const scored: ScoredReading[] = [];
    const scoredModels: SensorWeights[] = [];
    for (const reading of readings) {
      const model = models.get(modelKey(reading.sensor.id, reading.metric.name));
      if (model === undefined) {
        outcomes.push('unscored');
        continue;
      }
      const { weights } = model;
      const threshold = this.policy.threshold(weights);
      const inAlert = reading.value >= threshold;
      outcomes.push(inAlert ? 'alert' : 'no_alert');
      scored.push({ ...reading, inAlert, threshold });
      scoredModels.push(model);
    }
    if (scored.length === 0) return outcomes;
    const transitions = await this.states.advance(scored, this.debounce);
    // Only once the states are stored: a batch refused before would come again, and be learned twice.
    this.learner?.add(scored.flatMap((reading, index) => (reading.inAlert ? [] : [{ ...reading, scoredVersion: scoredModels[index]!.version }])));
    transitions.forEach((state, index) => {
      if (state === undefined) return;
      const { sensor, metric, value, threshold, at } = scored[index]!;
      this.publisher.publish(alertEventOf({ sensorId: sensor.id, metric: metric.name, state, value, threshold, at }, scoredModels[index]!.weights, this.policy));
    });
    return outcomes;
  }

  /** The stored model of each distinct model the readings name, by modelKey. */
  private async modelsOf(readings: readonly IncomingReading[]): Promise<Map<string, SensorWeights>> {
    const keys = new Map<string, ModelKey>();
    for (const reading of readings) keys.set(modelKey(reading.sensor.id, reading.metric.name), reading);
    const found = await this.weights.findMany([...keys.values()]);
    return new Map(found.map((stored) => [modelKey(stored.sensorId, stored.metric), stored]));
  }
}
