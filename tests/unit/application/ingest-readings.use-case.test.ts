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
});
