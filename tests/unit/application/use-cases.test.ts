import { AdjustWeightsUseCase } from '../../../src/application/adjust-weights.use-case';
import { CheckHealthUseCase } from '../../../src/application/check-health.use-case';
import { DeleteWeightsUseCase } from '../../../src/application/delete-weights.use-case';
import { FitSensorUseCase } from '../../../src/application/fit-sensor.use-case';
import { GetWeightsHistoryUseCase } from '../../../src/application/get-weights-history.use-case';
import { GetWeightsUseCase } from '../../../src/application/get-weights.use-case';
import { ListActiveAlertsUseCase } from '../../../src/application/list-active-alerts.use-case';
import { PredictAlertUseCase } from '../../../src/application/predict-alert.use-case';
import { PredictBatchUseCase } from '../../../src/application/predict-batch.use-case';
import { RollbackWeightsUseCase } from '../../../src/application/rollback-weights.use-case';
import { StorageUnavailableError } from '../../../src/application/storage-unavailable.error';
import { AlertDebounce } from '../../../src/domain/alert-debounce';
import type { AlertEvent } from '../../../src/domain/alert-event';
import { AlertPolicy } from '../../../src/domain/alert-policy';
import { InsufficientReadingsError, SensorNotFoundError } from '../../../src/domain/domain-errors';
import { MetricName } from '../../../src/domain/metric-name';
import { Sensor } from '../../../src/domain/sensor';
import { InMemoryAlertStateRepository } from '../../support/in-memory-alert-state.repository';
import { InMemoryWeightsRepository } from '../../support/in-memory-weights.repository';
import { relativeError } from '../../support/reference-statistics';

const SEN0001 = Sensor.withId('SEN0001');
const VALUE = MetricName.DEFAULT;
const VEL_X = MetricName.of('params.velRMS.x');

describe('use cases over an in-memory repository', () => {
  let repository: InMemoryWeightsRepository;
  let fit: FitSensorUseCase;

  beforeEach(() => {
    repository = new InMemoryWeightsRepository();
    fit = new FitSensorUseCase(repository);
  });

  describe('FitSensorUseCase', () => {
    it('stores mean, sample std and n of the readings', async () => {
      const stored = await fit.execute(SEN0001, VALUE, [10, 5, 6, 9]);
      expect(stored).toMatchObject({ sensorId: 'SEN0001', metric: 'value', version: 1 });
      expect(stored.weights.mean).toBe(7.5);
      expect(relativeError(stored.weights.std, Math.sqrt(17 / 3))).toBeLessThan(1e-12);
      expect((await repository.find(SEN0001, VALUE))?.weights).toEqual(stored.weights);
    });

    it('replaces the previous model on refit', async () => {
      await fit.execute(SEN0001, VALUE, [10, 5, 6, 9]);
      const refit = await fit.execute(SEN0001, VALUE, [1, 3]);
      expect(refit.version).toBe(2);
      expect((await repository.find(SEN0001, VALUE))?.weights.mean).toBe(2);
    });

    it('keeps one model per metric', async () => {
      await fit.execute(SEN0001, VALUE, [10, 5, 6, 9]);
      await fit.execute(SEN0001, VEL_X, [1, 3]);
      expect((await repository.find(SEN0001, VALUE))?.weights.mean).toBe(7.5);
      expect((await repository.find(SEN0001, VEL_X))?.weights.mean).toBe(2);
    });

    it('stores nothing when the readings are not enough', async () => {
      await expect(fit.execute(SEN0001, VALUE, [null, 4])).rejects.toThrow(InsufficientReadingsError);
      expect(await repository.find(SEN0001, VALUE)).toBeUndefined();
    });
  });

  describe('GetWeightsUseCase', () => {
    it('returns the stored model', async () => {
      const stored = await fit.execute(SEN0001, VALUE, [10, 5, 6, 9]);
      await expect(new GetWeightsUseCase(repository).execute(SEN0001, VALUE)).resolves.toEqual(stored);
    });

    it('fails with SensorNotFoundError for a sensor never fitted', async () => {
      await expect(new GetWeightsUseCase(repository).execute(Sensor.withId('SEN0002'), VALUE)).rejects.toThrow(
        new SensorNotFoundError('SEN0002', 'value'),
      );
    });
  });

  describe('PredictAlertUseCase', () => {
    it('applies the alert policy to the stored model', async () => {
      await fit.execute(SEN0001, VALUE, [10, 5, 6, 9]);
      const predict = new PredictAlertUseCase(repository, new AlertPolicy());
      const threshold = 7.5 + 2 * Math.sqrt(17 / 3);
      await expect(predict.execute(SEN0001, VALUE, 10)).resolves.toBe(false);
      await expect(predict.execute(SEN0001, VALUE, threshold + 1e-9)).resolves.toBe(true);
      await expect(predict.execute(SEN0001, VALUE, threshold - 1e-9)).resolves.toBe(false);
    });

    it('fails with SensorNotFoundError without a model', async () => {
      const predict = new PredictAlertUseCase(repository, new AlertPolicy());
      await expect(predict.execute(SEN0001, VALUE, 1)).rejects.toThrow(SensorNotFoundError);
    });
  });

  describe('PredictBatchUseCase', () => {
    it('answers in reading order, null without a model, reading the batch\'s models in one call', async () => {
      const SEN0002 = Sensor.withId('SEN0002');
      await fit.execute(SEN0001, VALUE, [10, 5, 6, 9]); // threshold 7.5 + 2 * sqrt(17/3) ~ 12.26
      await fit.execute(SEN0001, VEL_X, [1, 3]); // threshold 2 + 2 * sqrt(2) ~ 4.83
      const findMany = jest.spyOn(repository, 'findMany');
      const find = jest.spyOn(repository, 'find');
      const batch = new PredictBatchUseCase(repository, new AlertPolicy());

      const models = [
        { sensor: SEN0001, metric: VALUE },
        { sensor: SEN0001, metric: VEL_X },
        { sensor: SEN0002, metric: VALUE },
        { sensor: SEN0002, metric: VEL_X },
      ];
      const result = await batch.execute({ models, modelOf: [0, 1, 2, 0, 3, 2, 1], values: [13, 4, 1, 12, 1, 99, 5] });

      expect(result).toEqual({
        predictions: [true, false, null, false, null, null, true],
        missing: [
          { sensorId: 'SEN0002', metric: 'value' },
          { sensorId: 'SEN0002', metric: 'params.velRMS.x' },
        ],
      });
      expect(find).not.toHaveBeenCalled();
      expect(findMany).toHaveBeenCalledTimes(1);
      expect(findMany).toHaveBeenCalledWith(models);
    });

    it('refuses columns of different lengths, and a reading of a model not in the batch', async () => {
      const batch = new PredictBatchUseCase(repository, new AlertPolicy());
      const models = [{ sensor: SEN0001, metric: VALUE }];
      await expect(batch.execute({ models, modelOf: [0], values: [1, 2] })).rejects.toThrow(RangeError);
      await expect(batch.execute({ models, modelOf: [0, 1], values: [1, 2] })).rejects.toThrow('reading 1 names model 1, of 1');
    });

    it('refuses an answer from storage that is out of key order instead of misreporting models as missing', async () => {
      await fit.execute(SEN0001, VALUE, [10, 5, 6, 9]);
      await fit.execute(SEN0001, VEL_X, [1, 3]);
      const inOrder = repository.findMany.bind(repository);
      jest.spyOn(repository, 'findMany').mockImplementation(async (keys) => (await inOrder(keys)).reverse());
      const batch = new PredictBatchUseCase(repository, new AlertPolicy());
      const models = [
        { sensor: SEN0001, metric: VALUE },
        { sensor: SEN0001, metric: VEL_X },
      ];
      await expect(batch.execute({ models, modelOf: [0, 1], values: [1, 1] })).rejects.toThrow('findMany answered models out of key order');
    });
  });

  describe('AdjustWeightsUseCase', () => {
    it('raises the mean by 10% and keeps std and n', async () => {
      const fitted = await fit.execute(SEN0001, VALUE, [10, 5, 6, 9]);
      const adjusted = await new AdjustWeightsUseCase(repository).execute(SEN0001, VALUE);
      expect(adjusted.weights.mean).toBe(7.5 * 1.1);
      expect(adjusted.weights.std).toBe(fitted.weights.std);
      expect(adjusted.weights.n).toBe(4);
      expect(adjusted.version).toBe(2);
    });

    it('fails with SensorNotFoundError without a model', async () => {
      await expect(new AdjustWeightsUseCase(repository).execute(SEN0001, VALUE)).rejects.toThrow(SensorNotFoundError);
    });
  });

  describe('DeleteWeightsUseCase', () => {
    let states: InMemoryAlertStateRepository;
    let published: AlertEvent[];
    const deleteWeights = () => new DeleteWeightsUseCase(repository, { publish: (event) => void published.push(event) }, new AlertPolicy());
    beforeEach(() => {
      states = new InMemoryAlertStateRepository();
      repository = new InMemoryWeightsRepository(states);
      fit = new FitSensorUseCase(repository);
      published = [];
    });

    it('publishes a raised alert of the model as cleared, reason model_deleted, with its last reading; nothing for a model not in alert', async () => {
      await fit.execute(SEN0001, VALUE, [10, 5, 6, 9]);
      await fit.execute(SEN0001, VEL_X, [1, 3]);
      const scored = (metric: MetricName, value: number, second: number) => ({ sensor: SEN0001, metric, value, at: new Date(second * 1000), inAlert: value >= 2, threshold: 2 });
      await states.advance([scored(VALUE, 40, 1), scored(VALUE, 30, 2), scored(VEL_X, 1, 3)], new AlertDebounce());
      const removed = await deleteWeights().execute(SEN0001, VALUE);
      await deleteWeights().execute(SEN0001, VEL_X);
      expect(removed).not.toHaveProperty('raisedAlert');
      expect(await states.listActive()).toEqual([]);
      expect(published).toEqual([
        {
          sensorId: 'SEN0001',
          metric: 'value',
          state: 'cleared',
          value: 30,
          threshold: 2,
          mean: 7.5,
          std: removed.weights.std,
          zScore: (30 - 7.5) / removed.weights.std,
          at: removed.updatedAt,
          reason: 'model_deleted',
        },
      ]);
    });

    it('deletes the model, answering the weights it had with the deletion\'s version; rollback restores it', async () => {
      const fitted = await fit.execute(SEN0001, VALUE, [10, 5, 6, 9]);
      await fit.execute(SEN0001, VEL_X, [1, 3]);
      const removed = await deleteWeights().execute(SEN0001, VALUE);
      expect(removed).toMatchObject({ sensorId: 'SEN0001', metric: 'value', version: 2, weights: fitted.weights });
      await expect(new GetWeightsUseCase(repository).execute(SEN0001, VALUE)).rejects.toThrow(SensorNotFoundError);
      expect(await repository.find(SEN0001, VEL_X)).toMatchObject({ version: 1 });
      expect(await new RollbackWeightsUseCase(repository).execute(SEN0001, VALUE, 1)).toMatchObject({ version: 3, weights: fitted.weights });
    });

    it('fails with SensorNotFoundError for a model never stored, or deleted already, writing nothing', async () => {
      const remove = deleteWeights();
      await expect(remove.execute(SEN0001, VALUE)).rejects.toThrow(SensorNotFoundError);
      await fit.execute(SEN0001, VALUE, [1, 3]);
      await remove.execute(SEN0001, VALUE);
      await expect(remove.execute(SEN0001, VALUE)).rejects.toThrow(SensorNotFoundError);
      expect(await repository.history(SEN0001, VALUE, 10)).toHaveLength(2);
    });
  });

  describe('ListActiveAlertsUseCase', () => {
    it('lists only the alerts of models still stored: a state of a deleted model (stepped by an older build) is left out', async () => {
      // Not linked to the weights fake: its states know nothing of the deletion, as an older build's did not.
      const states = new InMemoryAlertStateRepository();
      const raise = (sensor: Sensor) =>
        states.advance(
          [1, 2].map((second) => ({ sensor, metric: VALUE, value: 9, at: new Date(second * 1000), inAlert: true, threshold: 1 })),
          new AlertDebounce(2, 1),
        );
      const DELETED = Sensor.withId('DELETED');
      await fit.execute(SEN0001, VALUE, [1, 3]);
      await fit.execute(DELETED, VALUE, [1, 3]);
      await new DeleteWeightsUseCase(repository, { publish: () => undefined }, new AlertPolicy()).execute(DELETED, VALUE);
      await raise(SEN0001);
      await raise(DELETED);
      expect(await states.listActive()).toHaveLength(2);
      expect((await new ListActiveAlertsUseCase(states, repository).execute()).map((alert) => alert.sensorId)).toEqual(['SEN0001']);
    });
  });

  describe('GetWeightsHistoryUseCase', () => {
    it('lists fits and adjusts newest first, up to the limit', async () => {
      await fit.execute(SEN0001, VALUE, [10, 5, 6, 9]);
      await new AdjustWeightsUseCase(repository).execute(SEN0001, VALUE);
      const history = new GetWeightsHistoryUseCase(repository);
      const revisions = await history.execute(SEN0001, VALUE, 10);
      expect(revisions.map(({ version, change }) => ({ version, change }))).toEqual([
        { version: 2, change: 'adjust' },
        { version: 1, change: 'fit' },
      ]);
      expect(await history.execute(SEN0001, VALUE, 1)).toHaveLength(1);
      // The next page: below the last version of this one; past the oldest, an empty page.
      expect((await history.execute(SEN0001, VALUE, 1, 2)).map(({ version }) => version)).toEqual([1]);
      expect(await history.execute(SEN0001, VALUE, 1, 1)).toEqual([]);
    });

    it('fails with SensorNotFoundError for a model never fitted, on any page', async () => {
      await expect(new GetWeightsHistoryUseCase(repository).execute(SEN0001, VALUE, 10)).rejects.toThrow(
        SensorNotFoundError,
      );
      await expect(new GetWeightsHistoryUseCase(repository).execute(SEN0001, VALUE, 10, 5)).rejects.toThrow(SensorNotFoundError);
    });
  });

  describe('CheckHealthUseCase', () => {
    it('is healthy while storage answers, unhealthy when it does not', async () => {
      const check = new CheckHealthUseCase(repository);
      await expect(check.execute()).resolves.toBeUndefined();
      repository.reachable = false;
      await expect(check.execute()).resolves.toBe('does not answer');
    });

    it('says why only for a condition a restart mends, in its own words (a driver message may name hosts)', async () => {
      const check = new CheckHealthUseCase(repository);
      repository.ping = () => Promise.reject(new StorageUnavailableError('its file was deleted', { retryable: false }));
      await expect(check.execute()).resolves.toBe('cannot serve: its file was deleted');
      repository.ping = () => Promise.reject(new StorageUnavailableError('connect ECONNREFUSED 10.0.0.7:5432'));
      await expect(check.execute()).resolves.toBe('does not answer');
      repository.ping = () => Promise.reject(new Error('boom at db.internal'));
      await expect(check.execute()).resolves.toBe('does not answer');
    });
  });
});
