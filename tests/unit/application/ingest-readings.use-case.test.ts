import { IngestReadingsUseCase, type IncomingReading } from '../../../src/application/ingest-readings.use-case';
import type { AlertEventPublisher } from '../../../src/application/ports/alert-event.publisher';
import { StorageUnavailableError } from '../../../src/application/storage-unavailable.error';
import { AlertDebounce } from '../../../src/domain/alert-debounce';
import type { AlertEvent } from '../../../src/domain/alert-event';
import { AlertPolicy } from '../../../src/domain/alert-policy';
import { MetricName } from '../../../src/domain/metric-name';
import { Sensor } from '../../../src/domain/sensor';
import { Weights } from '../../../src/domain/weights';
import { InMemoryAlertStateRepository } from '../../support/in-memory-alert-state.repository';
import { InMemoryWeightsRepository } from '../../support/in-memory-weights.repository';
import { exactMean, exactStd, stdRelativeError } from '../../support/exact-statistics';
import type { Logger } from '../../../src/application/ports/logger';
import { StreamLearner } from '../../../src/application/stream-learner';

const SEN = Sensor.withId('SEN0001');
const OTHER = Sensor.withId('constructor');
const VALUE = MetricName.DEFAULT;
const VEL_X = MetricName.of('params.velRMS.x');
const at = (second: number) => new Date(Date.UTC(2026, 10, 30, 12, 0, second));

class RecordingPublisher implements AlertEventPublisher {
  readonly events: AlertEvent[] = [];
  publish(event: AlertEvent): void {
    this.events.push(event);
  }
}

describe('IngestReadingsUseCase', () => {
  let weights: InMemoryWeightsRepository;
  let states: InMemoryAlertStateRepository;
  let publisher: RecordingPublisher;
  const ingest = (debounce: AlertDebounce, readings: IncomingReading[]) =>
    new IngestReadingsUseCase(weights, states, publisher, new AlertPolicy(), debounce).execute(readings);
  const reading = (value: number, second = 0, sensor = SEN, metric = VALUE): IncomingReading => ({ sensor, metric, value, at: at(second) });

  beforeEach(async () => {
    weights = new InMemoryWeightsRepository();
    states = new InMemoryAlertStateRepository();
    publisher = new RecordingPublisher();
    await weights.replace(SEN, VALUE, Weights.of(10, 2, 30));
    await weights.replace(OTHER, VEL_X, Weights.of(0.5, 0, 2));
  });

  it('scores each reading with the case rule (threshold mean + 2 std, inclusive) and counts models it lacks as unscored', async () => {
    const outcomes = await ingest(new AlertDebounce(), [reading(13.999), reading(14), reading(1, 0, SEN, VEL_X), reading(0.5, 0, OTHER, VEL_X)]);
    expect(outcomes).toEqual(['no_alert', 'alert', 'unscored', 'alert']);
  });

  it('publishes each transition once, with the reading, threshold, mean, std, z-score and time', async () => {
    await ingest(new AlertDebounce(), [reading(15, 1), reading(16, 2), reading(9, 3)]);
    expect(publisher.events).toEqual([
      { sensorId: 'SEN0001', metric: 'value', state: 'raised', value: 15, threshold: 14, mean: 10, std: 2, zScore: 2.5, at: at(1) },
      { sensorId: 'SEN0001', metric: 'value', state: 'cleared', value: 9, threshold: 14, mean: 10, std: 2, zScore: -0.5, at: at(3) },
    ]);
  });

  it('gives a null z-score when std is 0', async () => {
    await ingest(new AlertDebounce(), [reading(0.5, 0, OTHER, VEL_X)]);
    expect(publisher.events).toEqual([expect.objectContaining({ sensorId: 'constructor', metric: 'params.velRMS.x', state: 'raised', zScore: null })]);
  });

  it('debounces across batches: state is kept in storage, not in the call', async () => {
    const debounce = new AlertDebounce(2, 2);
    await ingest(debounce, [reading(20, 1)]);
    expect(publisher.events).toEqual([]);
    await ingest(debounce, [reading(20, 2)]);
    expect(publisher.events.map((event) => event.state)).toEqual(['raised']);
    expect(await states.listActive()).toEqual([{ sensorId: 'SEN0001', metric: 'value', since: at(2), lastValue: 20, threshold: 14 }]);
  });

  it('publishes nothing and rejects when storage cannot serve', async () => {
    states.reachable = false;
    await expect(ingest(new AlertDebounce(), [reading(20)])).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(publisher.events).toEqual([]);
  });

  it('asks storage for each model once per batch', async () => {
    const findMany = jest.spyOn(weights, 'findMany');
    await ingest(new AlertDebounce(), [reading(1), reading(2), reading(3, 0, OTHER, VEL_X), reading(4)]);
    expect(findMany).toHaveBeenCalledTimes(1);
    expect(findMany.mock.calls[0]![0].map(({ sensor, metric }) => `${sensor.id}/${metric.name}`)).toEqual(['SEN0001/value', 'constructor/params.velRMS.x']);
  });

  describe('learning from the stream', () => {
    const silent: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, fatal: () => undefined, lifecycle: () => undefined };
    // Readings in [8, 18): nearly half at or above the original model's threshold (8.5 + 2 * 2.449... = 13.39...).
    const stream = (count: number, seed: number) => {
      let state = seed;
      return Array.from({ length: count }, () => 8 + 10 * ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648));
    };
    const original = [10, 5, 6, 9, 12, 11, 7, 8];
    const learning = (batchSize: number) => new StreamLearner(weights, { enabled: true, batchSize, batchMs: 60_000 }, silent);
    const ingestLearning = (learner: StreamLearner, readings: IncomingReading[]) =>
      new IngestReadingsUseCase(weights, states, publisher, new AlertPolicy(), new AlertDebounce(), learner).execute(readings);

    beforeEach(async () => {
      await weights.replace(SEN, VALUE, Weights.fromReadings(original));
    });

    it('after streaming A, the model is fit(original ++ A minus its alerts), alerts decided by the model as it was', async () => {
      const a = stream(400, 7);
      const learner = learning(1_000_000); // merged at close alone: every reading scored against the original model
      const outcomes: string[] = [];
      for (let start = 0; start < a.length; start += 64) outcomes.push(...(await ingestLearning(learner, a.slice(start, start + 64).map((value) => reading(value)))));
      await learner.close();
      // The threshold, independently: exact mean + 2 exact std of the original readings; no reading of A lies within 1e-9 of it.
      const threshold = exactMean(original) + 2 * exactStd(original);
      expect(a.every((value) => Math.abs(value - threshold) > 1e-9)).toBe(true);
      expect(outcomes).toEqual(a.map((value) => (value >= threshold ? 'alert' : 'no_alert')));
      const learned = a.filter((value) => value < threshold);
      expect(learned.length).toBeGreaterThan(100);
      expect(learned.length).toBeLessThan(a.length - 50);
      const all = [...original, ...learned];
      const model = (await weights.find(SEN, VALUE))!.weights;
      const fitted = Weights.fromReadings(all);
      expect(model.n).toBe(all.length);
      expect(model.mean).toBe(fitted.mean);
      expect(model.mean).toBe(exactMean(all));
      // std to its last bits: the merge's M2 is summed in other blocks than one fit's.
      expect(Math.abs(model.std - fitted.std) / fitted.std).toBeLessThanOrEqual(2e-15);
      expect(stdRelativeError(model.std, all)).toBeLessThanOrEqual(1e-15);
    });

    it('in small batches too, each reading learned once: the model moves as it learns, and what it scored in alert stays out', async () => {
      const a = stream(500, 3);
      const learner = learning(25);
      const learned: number[] = [];
      for (let start = 0; start < a.length; start += 40) {
        const chunk = a.slice(start, start + 40);
        const outcomes = await ingestLearning(learner, chunk.map((value) => reading(value)));
        learned.push(...chunk.filter((_, index) => outcomes[index] === 'no_alert'));
        await learner.flush();
      }
      await learner.close();
      const all = [...original, ...learned];
      const model = (await weights.find(SEN, VALUE))!.weights;
      expect(model.n).toBe(all.length);
      expect(model.mean).toBe(exactMean(all));
      expect(stdRelativeError(model.std, all)).toBeLessThanOrEqual(1e-15);
    });

    it('learns nothing from readings in alert, unscored ones, or a batch whose states could not be stored', async () => {
      const mergeAll = jest.spyOn(weights, 'mergeAll');
      const learner = learning(1);
      await ingestLearning(learner, [reading(20), reading(1, 0, SEN, VEL_X)]);
      states.reachable = false;
      await expect(ingestLearning(learner, [reading(9)])).rejects.toBeInstanceOf(StorageUnavailableError);
      await learner.close();
      expect(mergeAll).not.toHaveBeenCalled();
      expect((await weights.find(SEN, VALUE))!.weights.n).toBe(original.length);
    });
  });
});
