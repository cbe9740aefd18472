import type { LogFields, Logger } from '../../../src/application/ports/logger';
import { StreamLearner, type LearnableReading, type Schedule } from '../../../src/application/stream-learner';
import { MetricName } from '../../../src/domain/metric-name';
import { Sensor } from '../../../src/domain/sensor';
import { Weights } from '../../../src/domain/weights';
import { exactMean, stdRelativeError } from '../../support/exact-statistics';
import { InMemoryWeightsRepository } from '../../support/in-memory-weights.repository';

const SEN = Sensor.withId('SEN0001');
const OTHER = Sensor.withId('SEN0002');
const VALUE = MetricName.DEFAULT;
const ORIGINAL = [10, 5, 6, 9];

class RecordingLogger implements Logger {
  readonly lines: Array<[string, string, LogFields | undefined]> = [];
  debug = (message: string, fields?: LogFields) => void this.lines.push(['debug', message, fields]);
  info = (message: string, fields?: LogFields) => void this.lines.push(['info', message, fields]);
  warn = (message: string, fields?: LogFields) => void this.lines.push(['warn', message, fields]);
  error = (message: string, fields?: LogFields) => void this.lines.push(['error', message, fields]);
  fatal = (message: string, fields?: LogFields) => void this.lines.push(['fatal', message, fields]);
  lifecycle = (message: string, fields?: LogFields) => void this.lines.push(['lifecycle', message, fields]);
}

/** A Schedule the test fires by hand: `pending` is what would run. */
class ManualSchedule {
  readonly runs: Array<{ run: () => void; ms: number; cancelled: boolean }> = [];
  readonly schedule: Schedule = (run, ms) => {
    const entry = { run, ms, cancelled: false };
    this.runs.push(entry);
    return () => void (entry.cancelled = true);
  };
  get pending() {
    return this.runs.filter((entry) => !entry.cancelled);
  }
  fire(): void {
    for (const entry of this.pending) {
      entry.cancelled = true;
      entry.run();
    }
  }
}

/** Learned as a fit of `all` would: n and the mean exactly (the sum is exact), std to its last bits (a few ulps). */
function expectLearnedFrom(weights: Weights, all: readonly number[]): void {
  expect(weights.n).toBe(all.length);
  expect(weights.mean).toBe(exactMean(all));
  expect(stdRelativeError(weights.std, all)).toBeLessThanOrEqual(1e-15);
}

// Scored against version 1 unless said: the version each model has after beforeEach's fit.
const readingsOf = (sensor: Sensor, values: readonly number[], scoredVersion = 1): LearnableReading[] => values.map((value) => ({ sensor, metric: VALUE, value, scoredVersion }));

describe('StreamLearner', () => {
  let weights: InMemoryWeightsRepository;
  let logger: RecordingLogger;
  let timers: ManualSchedule;
  const learner = (batchSize: number, batchMs = 1000, enabled = true) => new StreamLearner(weights, { enabled, batchSize, batchMs }, logger, timers.schedule);
  const model = async (sensor = SEN) => (await weights.find(sensor, VALUE))!;

  beforeEach(async () => {
    weights = new InMemoryWeightsRepository();
    logger = new RecordingLogger();
    timers = new ManualSchedule();
    await weights.replace(SEN, VALUE, Weights.fromReadings(ORIGINAL));
    await weights.replace(OTHER, VALUE, Weights.fromReadings([1, 3]));
  });

  it('does nothing while disabled (the default)', async () => {
    const mergeAll = jest.spyOn(weights, 'mergeAll');
    const disabled = learner(1, 1000, false);
    disabled.add(readingsOf(SEN, [7, 8, 9]));
    await disabled.close();
    expect(mergeAll).not.toHaveBeenCalled();
    expect(timers.runs).toEqual([]);
  });

  it('learns readings only into the model they were scored against: not one deleted, refitted or rolled back while they waited', async () => {
    const DELETED = Sensor.withId('DELETED');
    const REFITTED = Sensor.withId('REFITTED');
    const RECREATED = Sensor.withId('RECREATED');
    const ROLLED_BACK = Sensor.withId('ROLLED');
    const ADJUSTED = Sensor.withId('ADJUSTED');
    for (const sensor of [DELETED, REFITTED, RECREATED, ROLLED_BACK, ADJUSTED]) await weights.replace(sensor, VALUE, Weights.fromReadings([1, 3]));
    const streaming = learner(100);
    streaming.add([DELETED, REFITTED, RECREATED, ROLLED_BACK, ADJUSTED, SEN].flatMap((sensor) => readingsOf(sensor, [2, 2.5])));
    await weights.remove(DELETED, VALUE);
    await weights.replace(REFITTED, VALUE, Weights.fromReadings([100, 102]));
    await weights.remove(RECREATED, VALUE);
    await weights.replace(RECREATED, VALUE, Weights.fromReadings([100, 102]));
    await weights.rollback(ROLLED_BACK, VALUE, 1);
    await weights.scaleMean(ADJUSTED, VALUE, 1.1);
    // Scored against the refitted model: these are its own.
    streaming.add(readingsOf(REFITTED, [101], 2));
    await streaming.flush();
    expect(await weights.find(DELETED, VALUE)).toBeUndefined();
    expect((await weights.history(DELETED, VALUE, 10)).map((revision) => revision.change)).toEqual(['delete', 'fit']);
    expectLearnedFrom((await model(REFITTED)).weights, [100, 102, 101]);
    expect(await model(RECREATED)).toMatchObject({ version: 3, weights: { n: 2, mean: 101 } });
    expect(await model(ROLLED_BACK)).toMatchObject({ version: 2, weights: { n: 2, mean: 2 } });
    expect((await model(ADJUSTED)).weights).toMatchObject({ n: 4, adjustment: 1.1 });
    expectLearnedFrom((await model(SEN)).weights, [...ORIGINAL, 2, 2.5]);
    expect(logger.lines.filter(([level]) => level !== 'debug')).toEqual([]);
  });

  it('merges every batchSize readings in one mergeAll, one entry per model', async () => {
    const mergeAll = jest.spyOn(weights, 'mergeAll');
    const learning = learner(5);
    learning.add([...readingsOf(SEN, [7, 8]), ...readingsOf(OTHER, [2])]);
    expect(mergeAll).not.toHaveBeenCalled();
    learning.add(readingsOf(SEN, [6, 11]));
    await learning.flush();
    expect(mergeAll).toHaveBeenCalledTimes(1);
    expect(mergeAll.mock.calls[0]![0].map(({ sensor, readings }) => [sensor.id, readings.n])).toEqual([
      ['SEN0001', 4],
      ['SEN0002', 1],
    ]);
    expectLearnedFrom((await model()).weights, [...ORIGINAL, 7, 8, 6, 11]);
    expect((await model(OTHER)).weights).toMatchObject({ n: 3, mean: 2, std: 1 });
  });

  it('merges what waits batchMs after the first reading waiting, and no timer is left once merged', async () => {
    const learning = learner(1000, 250);
    learning.add(readingsOf(SEN, [7]));
    learning.add(readingsOf(SEN, [8]));
    expect(timers.pending.map(({ ms }) => ms)).toEqual([250]);
    timers.fire();
    await learning.flush();
    expect((await model()).weights.n).toBe(6);
    expect(timers.pending).toEqual([]);
    // A full batch cancels the timer its first reading set.
    const small = learner(2, 250);
    small.add(readingsOf(SEN, [9]));
    small.add(readingsOf(SEN, [10]));
    await small.flush();
    expect(timers.pending).toEqual([]);
    expect((await model()).weights.n).toBe(8);
  });

  it('merges what waits at close, and learns nothing after', async () => {
    const learning = learner(1000);
    learning.add(readingsOf(SEN, [7, 8]));
    await learning.close();
    expect((await model()).weights.n).toBe(6);
    learning.add(readingsOf(SEN, [9]));
    await learning.flush();
    expect((await model()).weights.n).toBe(6);
    expect(timers.pending).toEqual([]);
    expect(logger.lines).toEqual([['warn', 'readings to learn from arrived after the learner closed; not learned', { readings: 1 }]]);
  });

  it('keeps a batch the storage could not take, and merges it with the next, each reading once', async () => {
    const learning = learner(3, 250);
    weights.reachable = false;
    learning.add(readingsOf(SEN, [7, 8]));
    await learning.flush();
    expect(logger.lines.map(([level, message]) => [level, message])).toEqual([
      ['warn', 'learning from the stream deferred: the weights database cannot take the batch now'],
    ]);
    // Tried again after batchMs at the latest.
    expect(timers.pending.map(({ ms }) => ms)).toEqual([250]);
    weights.reachable = true;
    learning.add(readingsOf(SEN, [6]));
    timers.fire();
    await learning.flush();
    expectLearnedFrom((await model()).weights, [...ORIGINAL, 7, 8, 6]);
    expect((await weights.history(SEN, VALUE, 10)).map(({ change }) => change)).toEqual(['update', 'fit']);
  });

  it('drops and logs a batch refused for another reason than unavailable storage', async () => {
    jest.spyOn(weights, 'mergeAll').mockRejectedValueOnce(new Error('a bug'));
    const learning = learner(1);
    learning.add(readingsOf(SEN, [7]));
    await learning.flush();
    expect(logger.lines).toEqual([['error', 'learning from the stream failed; these readings are not learned', { readings: 1, models: 1, error: 'Error: a bug' }]]);
    learning.add(readingsOf(SEN, [8]));
    await learning.flush();
    expect((await model()).weights.n).toBe(5);
  });
});
