import type { AlertEventPublisher } from '../../../src/application/ports/alert-event.publisher';
import { ReconcileRetainedAlertsUseCase, type RetainedAlert } from '../../../src/application/reconcile-retained-alerts.use-case';
import { StorageUnavailableError } from '../../../src/application/storage-unavailable.error';
import { AlertDebounce } from '../../../src/domain/alert-debounce';
import type { AlertEvent } from '../../../src/domain/alert-event';
import { AlertPolicy } from '../../../src/domain/alert-policy';
import { MetricName } from '../../../src/domain/metric-name';
import { Sensor } from '../../../src/domain/sensor';
import { Weights } from '../../../src/domain/weights';
import { InMemoryAlertStateRepository } from '../../support/in-memory-alert-state.repository';
import { InMemoryWeightsRepository } from '../../support/in-memory-weights.repository';

// Models: SEN0001/value mean 10, std 2 (threshold 14); `constructor`/params.velRMS.x mean 1, std 0.5 (threshold 2).
const SEN = Sensor.withId('SEN0001');
const OTHER = Sensor.withId('constructor');
const VALUE = MetricName.DEFAULT;
const VEL_X = MetricName.of('params.velRMS.x');
const at = (second: number) => new Date(Date.UTC(2026, 10, 30, 12, 0, second));
const NOW = at(59);

class RecordingPublisher implements AlertEventPublisher {
  readonly events: AlertEvent[] = [];
  publish(event: AlertEvent): void {
    this.events.push(event);
  }
}

/** A retained message of SEN0001/value saying `state`, with the figures of a reading of 15. */
const retained = (state: RetainedAlert['state'], sensor = SEN, metric = VALUE): RetainedAlert => ({
  sensorId: sensor.id,
  metric: metric.name,
  state,
  value: 15,
  threshold: 14,
  mean: 10,
  std: 2,
  zScore: 2.5,
});

describe('ReconcileRetainedAlertsUseCase', () => {
  let states: InMemoryAlertStateRepository;
  let weights: InMemoryWeightsRepository;
  let publisher: RecordingPublisher;
  let reconcile: ReconcileRetainedAlertsUseCase;
  const step = (sensor: Sensor, metric: MetricName, value: number, threshold: number, second: number) =>
    states.advance([{ sensor, metric, value, at: at(second), inAlert: value >= threshold, threshold }], new AlertDebounce());

  beforeEach(async () => {
    states = new InMemoryAlertStateRepository();
    weights = new InMemoryWeightsRepository(states);
    publisher = new RecordingPublisher();
    reconcile = new ReconcileRetainedAlertsUseCase(states, weights, publisher, new AlertPolicy());
    await weights.replace(SEN, VALUE, Weights.of(10, 2, 30));
    await weights.replace(OTHER, VEL_X, Weights.of(1, 0.5, 30));
  });

  it('publishes nothing when every retained message says its model stored state', async () => {
    await step(SEN, VALUE, 15, 14, 1);
    await step(OTHER, VEL_X, 3, 2, 2);
    await step(OTHER, VEL_X, 1.5, 2, 3);
    expect(await reconcile.execute([retained('raised'), retained('cleared', OTHER, VEL_X)], { publish: true, now: NOW })).toEqual([]);
    expect(publisher.events).toEqual([]);
  });

  it("a late raised over a stored clear: publishes the stored clear, with the reading stored and the model's figures", async () => {
    await step(SEN, VALUE, 15, 14, 1);
    await step(SEN, VALUE, 9, 14, 2);
    const corrections = await reconcile.execute([retained('raised')], { publish: true, now: NOW });
    expect(corrections).toEqual([{ sensorId: 'SEN0001', metric: 'value', state: 'cleared', value: 9, threshold: 14, mean: 10, std: 2, zScore: -0.5, at: at(2) }]);
    expect(publisher.events).toEqual(corrections);
  });

  it('a late cleared over a stored raise: publishes the raise, with the latest reading scored', async () => {
    await step(OTHER, VEL_X, 3, 2, 1);
    await step(OTHER, VEL_X, 4, 2, 2);
    expect(await reconcile.execute([retained('cleared', OTHER, VEL_X)], { publish: true, now: NOW })).toEqual([
      { sensorId: 'constructor', metric: 'params.velRMS.x', state: 'raised', value: 4, threshold: 2, mean: 1, std: 0.5, zScore: 6, at: at(2) },
    ]);
  });

  it('a raised retained for a model with no state: cleared, with the retained figures, at now', async () => {
    expect(await reconcile.execute([retained('raised')], { publish: true, now: NOW })).toEqual([{ ...retained('raised'), state: 'cleared', at: NOW }]);
  });

  it('a raised retained for a deleted model (its clear lost): cleared with reason model_deleted', async () => {
    await step(SEN, VALUE, 15, 14, 1);
    await weights.remove(SEN, VALUE);
    expect(await reconcile.execute([retained('raised')], { publish: true, now: NOW })).toEqual([{ ...retained('raised'), state: 'cleared', at: NOW, reason: 'model_deleted' }]);
    // Cleared already: nothing to say.
    publisher.events.length = 0;
    expect(await reconcile.execute([retained('cleared')], { publish: true, now: NOW })).toEqual([]);
  });

  it('with everyRaised, also publishes the raised models that have no retained message; only those', async () => {
    await step(SEN, VALUE, 15, 14, 1);
    await step(OTHER, VEL_X, 3, 2, 2);
    const corrections = await reconcile.execute([retained('raised')], { everyRaised: true, publish: true, now: NOW });
    expect(corrections).toEqual([{ sensorId: 'constructor', metric: 'params.velRMS.x', state: 'raised', value: 3, threshold: 2, mean: 1, std: 0.5, zScore: 4, at: at(2) }]);
    expect(await reconcile.execute([], { publish: true, now: NOW })).toEqual([]);
  });

  it('publishes a raised model named absent, as it has no retained message; nothing for a cleared one', async () => {
    await step(SEN, VALUE, 15, 14, 1);
    const absent = [{ sensorId: 'SEN0001', metric: 'value' }, { sensorId: 'constructor', metric: 'params.velRMS.x' }];
    expect(await reconcile.execute([], { absent, publish: true, now: NOW })).toEqual([
      { sensorId: 'SEN0001', metric: 'value', state: 'raised', value: 15, threshold: 14, mean: 10, std: 2, zScore: 2.5, at: at(1) },
    ]);
    expect(publisher.events).toHaveLength(1);
  });

  it('without publish, answers the corrections and publishes nothing', async () => {
    await step(SEN, VALUE, 9, 14, 1);
    expect(await reconcile.execute([retained('raised')], { now: NOW })).toEqual([expect.objectContaining({ state: 'cleared', value: 9 })]);
    expect(publisher.events).toEqual([]);
  });

  it('takes the last of several messages of one model', async () => {
    await step(SEN, VALUE, 15, 14, 1);
    expect(await reconcile.execute([retained('cleared'), retained('raised')], { publish: true, now: NOW })).toEqual([]);
  });

  describe('perSensor: one retained message for every metric of a sensor', () => {
    // SEN0001 gets a second model, params.velRMS.x: mean 1, std 0.5 (threshold 2).
    beforeEach(() => weights.replace(SEN, VEL_X, Weights.of(1, 0.5, 30)));
    const raisedVelX = (value: number, second: number) => ({ sensorId: 'SEN0001', metric: 'params.velRMS.x', state: 'raised', value, threshold: 2, mean: 1, std: 0.5, zScore: (value - 1) / 0.5, at: at(second) });
    const raisedValue = (second: number) => ({ sensorId: 'SEN0001', metric: 'value', state: 'raised', value: 15, threshold: 14, mean: 10, std: 2, zScore: 2.5, at: at(second) });

    it("a metric's clear retained while another metric of the sensor is raised: publishes that raise", async () => {
      await step(SEN, VEL_X, 3, 2, 1);
      await step(SEN, VALUE, 15, 14, 2);
      await step(SEN, VALUE, 9, 14, 3);
      // Per model, the clear is true; per sensor, it hides the raised params.velRMS.x.
      expect(await reconcile.execute([retained('cleared')], { now: NOW })).toEqual([]);
      expect(await reconcile.execute([retained('cleared')], { perSensor: true, publish: true, now: NOW })).toEqual([raisedVelX(3, 1)]);
      expect(publisher.events).toEqual([raisedVelX(3, 1)]);
    });

    it("a deleted metric's clear retained while another metric is raised: publishes that raise", async () => {
      await step(SEN, VEL_X, 3, 2, 1);
      await step(SEN, VALUE, 15, 14, 2);
      await weights.remove(SEN, VALUE);
      const deleted = { ...retained('raised'), state: 'cleared' as const };
      expect(await reconcile.execute([deleted], { perSensor: true, now: NOW })).toEqual([raisedVelX(3, 1)]);
    });

    it('a true raise retained: nothing, whichever other metric of the sensor is raised too', async () => {
      await step(SEN, VALUE, 15, 14, 1);
      await step(SEN, VEL_X, 3, 2, 2);
      expect(await reconcile.execute([retained('raised')], { perSensor: true, everyRaised: true, now: NOW })).toEqual([]);
    });

    it('a raise of a metric cleared since: publishes the raise of the metric still raised, not the clear', async () => {
      await step(SEN, VALUE, 15, 14, 1);
      await step(SEN, VEL_X, 3, 2, 2);
      await step(SEN, VALUE, 9, 14, 3);
      expect(await reconcile.execute([retained('raised')], { perSensor: true, now: NOW })).toEqual([raisedVelX(3, 2)]);
    });

    it('several raised: tells the one scored last, and at the same time the first metric in byte order', async () => {
      await step(SEN, VALUE, 15, 14, 1);
      await step(SEN, VEL_X, 3, 2, 2);
      const absent = [{ sensorId: 'SEN0001', metric: 'value' }];
      expect(await reconcile.execute([], { absent, perSensor: true, now: NOW })).toEqual([raisedVelX(3, 2)]);
      await step(SEN, VALUE, 16, 14, 2); // the same time: "params.velRMS.x" < "value"
      expect(await reconcile.execute([], { absent, perSensor: true, now: NOW })).toEqual([raisedVelX(3, 2)]);
      await step(SEN, VALUE, 15, 14, 4);
      expect(await reconcile.execute([], { absent, perSensor: true, now: NOW })).toEqual([raisedValue(4)]);
    });

    it('with everyRaised, one raise per sensor without a retained message, however many of its metrics are raised', async () => {
      await step(SEN, VALUE, 15, 14, 3);
      await step(SEN, VEL_X, 3, 2, 2);
      expect(await reconcile.execute([], { perSensor: true, everyRaised: true, now: NOW })).toEqual([raisedValue(3)]);
    });

    it('nothing raised on the sensor: a raise retained is cleared as per model', async () => {
      await step(SEN, VALUE, 15, 14, 1);
      await step(SEN, VALUE, 9, 14, 2);
      expect(await reconcile.execute([retained('raised')], { perSensor: true, now: NOW })).toEqual([expect.objectContaining({ metric: 'value', state: 'cleared', value: 9, at: at(2) })]);
    });
  });

  it('rejects with StorageUnavailableError and publishes nothing when storage cannot serve', async () => {
    await step(SEN, VALUE, 9, 14, 1);
    states.reachable = false;
    await expect(reconcile.execute([retained('raised')], { everyRaised: true, publish: true })).rejects.toThrow(StorageUnavailableError);
    expect(publisher.events).toEqual([]);
  });
});
