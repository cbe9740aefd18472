import { EvaluateAlertsUseCase } from '../../../src/application/evaluate-alerts.use-case';
import { TrainSensorsUseCase } from '../../../src/application/train-sensors.use-case';
import { Weights } from '../../../src/domain/weights';
import { AlertPolicy } from '../../../src/domain/alert-policy';
import { MetricName } from '../../../src/domain/metric-name';
import { Sensor } from '../../../src/domain/sensor';
import { SensorNotFoundError } from '../../../src/domain/domain-errors';
import { ArrayReadingsSource } from '../../support/array-readings.source';
import { InMemoryWeightsRepository } from '../../support/in-memory-weights.repository';
import { relativeError } from '../../support/reference-statistics';

describe('TrainSensorsUseCase', () => {
  let repository: InMemoryWeightsRepository;
  let train: TrainSensorsUseCase;

  beforeEach(() => {
    repository = new InMemoryWeightsRepository();
    train = new TrainSensorsUseCase(repository);
  });

  it('learns every (sensor, metric) from interleaved rows, skipping missing cells', async () => {
    const source = new ArrayReadingsSource(
      ['x', 'y'],
      [
        ['A', 10, 1],
        ['B', 1, null],
        ['A', 5, 2],
        ['A', 6, null],
        ['B', 3, 7],
        ['A', 9, 3],
        ['B', null, 9],
      ],
    );
    expect(await train.execute(source)).toEqual({ rows: 7, bytes: 0, sensors: 2, metrics: 2, models: 4 });

    const stored = await repository.list();
    expect(stored.map(({ sensorId, metric, weights }) => [sensorId, metric, weights.mean, weights.n])).toEqual([
      ['A', 'x', 7.5, 4],
      ['A', 'y', 2, 3],
      ['B', 'x', 2, 2],
      ['B', 'y', 8, 2],
    ]);
    expect(relativeError(stored[0]!.weights.std, Math.sqrt(17 / 3))).toBeLessThan(1e-12);
  });

  it('refuses a sensor with fewer than two readings in a column, naming its first line, and stores nothing', async () => {
    const source = new ArrayReadingsSource(['x', 'y'], [['A', 1, 1], ['B', 1, null], ['A', 2, 2], ['B', 2, null]]);
    await expect(train.execute(source)).rejects.toThrow(
      'memory.csv:3: column "y": sensor "B" (first seen here): At least 2 non-null readings are needed to estimate a sample standard deviation; got 0.',
    );
    expect(await repository.list()).toEqual([]);
  });

  it('refuses an invalid sensor id, naming line and column', async () => {
    const source = new ArrayReadingsSource(['x'], [['A', 1], ['A', 2], ['bad id', 2], ['bad id', 3]]);
    await expect(train.execute(source)).rejects.toThrow('memory.csv:4: column "sensorId": Invalid sensor id "bad id"');
    expect(await repository.list()).toEqual([]);
  });

  it('stores nothing when the source fails half-way', async () => {
    const source = new ArrayReadingsSource(['x'], [['A', 1], ['A', 2], ['A', 3]], 2);
    await expect(train.execute(source)).rejects.toThrow('memory.csv:4: column "x": broken row');
    expect(await repository.list()).toEqual([]);
  });

  it('refuses a file with a header and no rows', async () => {
    await expect(train.execute(new ArrayReadingsSource(['x'], []))).rejects.toThrow('memory.csv: no rows of readings');
  });
});

describe('EvaluateAlertsUseCase', () => {
  it("answers the draft's in_alert table for every stored model, or one sensor's", async () => {
    const repository = new InMemoryWeightsRepository();
    await new TrainSensorsUseCase(repository).execute(
      new ArrayReadingsSource(['x', 'y'], [['A', 0.5, 10], ['A', 1, 20], ['A', 1.5, 30], ['B', 0, 0], ['B', 0.01, 0.02]]),
    );
    const evaluate = new EvaluateAlertsUseCase(repository, new AlertPolicy());
    // A.x: mean 1, std 0.5, threshold 2 (inclusive); A.y threshold 40; B: thresholds ~0.019 and ~0.038
    const table = (entries: Array<[string, Array<[string, boolean]>]>) => new Map(entries.map(([sensor, metrics]) => [sensor, new Map(metrics)]));
    expect(await evaluate.execute(2)).toEqual(table([['A', [['x', true], ['y', false]]], ['B', [['x', true], ['y', true]]]]));
    expect([...(await evaluate.execute(2)).keys()]).toEqual(['A', 'B']);
    expect(await evaluate.execute(1.9, Sensor.withId('A'))).toEqual(table([['A', [['x', false], ['y', false]]]]));
    await expect(evaluate.execute(1, Sensor.withId('C'))).rejects.toThrow(new SensorNotFoundError('C'));
    expect((await repository.find(Sensor.withId('A'), MetricName.of('x')))?.version).toBe(1);
  });

  it('pages: the same verdicts as the table, in its order, a page of models at a time; none for no models', async () => {
    const repository = new InMemoryWeightsRepository();
    const evaluate = new EvaluateAlertsUseCase(repository, new AlertPolicy());
    const read = async (pageSize: number) => {
      const pages = [];
      for await (const page of evaluate.pages(2, pageSize)) pages.push(page.map(({ sensorId, metric, alert }) => `${sensorId}.${metric}:${alert}`));
      return pages;
    };
    expect(await read(2)).toEqual([]);
    await new TrainSensorsUseCase(repository).execute(
      new ArrayReadingsSource(['x', 'y'], [['A', 0.5, 10], ['A', 1, 20], ['A', 1.5, 30], ['B', 0, 0], ['B', 0.01, 0.02]]),
    );
    expect(await read(3)).toEqual([['A.x:true', 'A.y:false', 'B.x:true'], ['B.y:true']]);
    expect(await read(2)).toEqual([['A.x:true', 'A.y:false'], ['B.x:true', 'B.y:true']]);
  });

  it('answers the threshold of every stored model, or one sensor\'s; Infinity beyond the largest double', async () => {
    const repository = new InMemoryWeightsRepository();
    await repository.replace(Sensor.withId('A'), MetricName.of('x'), Weights.fromReadings([0.5, 1, 1.5]));
    await repository.replace(Sensor.withId('B'), MetricName.of('x'), Weights.fromReadings([1e308, 1.7e308]));
    const evaluate = new EvaluateAlertsUseCase(repository, new AlertPolicy());
    // A.x: mean 1, sample std 0.5; B.x: mean 1.35e308, and 2 * std takes it past the largest double.
    expect(await evaluate.thresholds()).toEqual(new Map([['A', new Map([['x', 2]])], ['B', new Map([['x', Infinity]])]]));
    expect(await evaluate.thresholds(Sensor.withId('A'))).toEqual(new Map([['A', new Map([['x', 2]])]]));
    await expect(evaluate.thresholds(Sensor.withId('C'))).rejects.toThrow(new SensorNotFoundError('C'));
  });
});
