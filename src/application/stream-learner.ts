import type { MetricName } from '../domain/metric-name';
import { ReadingsAccumulator } from '../domain/readings-accumulator';
import type { Sensor } from '../domain/sensor';
import type { Logger } from './ports/logger';
import type { WeightsRepository } from './ports/weights.repository';
import { StorageUnavailableError } from './storage-unavailable.error';
import { modelKey } from '../domain/identifier-rule';

/** A live reading to learn from: one that was scored, against version `scoredVersion` of its model, and not in alert. */
export interface LearnableReading {
  readonly sensor: Sensor;
  readonly metric: MetricName;
  readonly value: number;
  readonly scoredVersion: number;
}

/** LEARN_FROM_STREAM, LEARN_BATCH_SIZE and LEARN_BATCH_MS. */
export interface StreamLearningOptions {
  readonly enabled: boolean;
  readonly batchSize: number;
  readonly batchMs: number;
}

/** Runs `run` once after `ms`; answers how to cancel it. */
export type Schedule = (run: () => void, ms: number) => () => void;

// Unref'd: a pending batch never keeps the process alive; close() flushes it.
const timeout: Schedule = (run, ms) => {
  const timer = setTimeout(run, ms);
  timer.unref();
  return () => clearTimeout(timer);
};

/**
 * Learning from the stream: readings not in alert are merged into their model (the update's
 * exact merge, WeightsRepository.mergeAll), batched: every `batchSize` readings or `batchMs`
 * after the first one waiting, whichever comes first, one transaction per batch, and the rest
 * at close(). Readings are learned only into the model they were scored against: not into
 * one deleted, refitted or rolled back while they waited (WeightsRepository.mergeAll's
 * scoredVersion). Per model (and version scored against) only its ReadingsAccumulator
 * waits, so memory grows with the models named, not with the readings. A batch refused as
 * StorageUnavailableError is kept and tried again with the next (learning is delayed, not
 * lost); any other refusal is logged and dropped. Disabled (the default), add() does nothing.
 */
export class StreamLearner {
  private pending = new Map<string, { sensor: Sensor; metric: MetricName; scoredVersion: number; readings: ReadingsAccumulator }>();
  private waiting = 0;
  private cancelTimer: (() => void) | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly weights: WeightsRepository,
    private readonly options: StreamLearningOptions,
    private readonly logger: Logger,
    private readonly schedule: Schedule = timeout,
  ) {}

  /** Takes readings to learn from; returns at once (a full batch is merged in the background). */
  add(readings: readonly LearnableReading[]): void {
    if (!this.options.enabled || readings.length === 0) return;
    if (this.closed) {
      this.logger.warn('readings to learn from arrived after the learner closed; not learned', { readings: readings.length });
      return;
    }
    for (const { sensor, metric, value, scoredVersion } of readings) {
      const key = `${modelKey(sensor.id, metric.name)}@${scoredVersion}`;
      let model = this.pending.get(key);
      if (model === undefined) this.pending.set(key, (model = { sensor, metric, scoredVersion, readings: new ReadingsAccumulator() }));
      model.readings.add(value);
    }
    this.waiting += readings.length;
    if (this.waiting >= this.options.batchSize) void this.flush();
    else this.cancelTimer ??= this.schedule(() => void this.flush(), this.options.batchMs);
  }

  /** Merges every waiting reading now (after any merge under way); never rejects. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.mergePending());
    return this.flushing;
  }

  /** Merges what waits and takes no more. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }

  private async mergePending(): Promise<void> {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    const readings = this.waiting;
    this.pending = new Map();
    this.waiting = 0;
    try {
      await this.weights.mergeAll([...batch.values()].map(({ sensor, metric, scoredVersion, readings }) => ({ sensor, metric, scoredVersion, readings: readings.moments() })));
    } catch (error) {
      if (!(error instanceof StorageUnavailableError)) {
        this.logger.error('learning from the stream failed; these readings are not learned', { readings, models: batch.size, error: String(error) });
        return;
      }
      // Kept, with what arrived meanwhile, for the next batch; tried again after batchMs at the latest.
      for (const [key, model] of batch) {
        const later = this.pending.get(key);
        if (later) model.readings.merge(later.readings);
        this.pending.set(key, model);
      }
      this.waiting += readings;
      this.logger.warn('learning from the stream deferred: the weights database cannot take the batch now', { readings, models: batch.size, error: error.message });
      if (!this.closed) this.cancelTimer ??= this.schedule(() => void this.flush(), this.options.batchMs);
    }
  }
}
