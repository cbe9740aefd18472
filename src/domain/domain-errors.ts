// Every rule the domain refuses, in one file: the set is small and read as a whole (the HTTP
// edge maps each class to a status in one table, error-handler.middleware.ts).
import { quotedPrefix } from './quoted-prefix';

/** Base of every rule the domain refuses; the HTTP edge maps each subclass to a status. */
export abstract class DomainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class InvalidSensorIdError extends DomainError {
  constructor(readonly sensorId: string) {
    super(`Invalid sensor id ${quotedPrefix(sensorId)}: use 1-64 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit.`);
  }
}

export class InvalidMetricNameError extends DomainError {
  constructor(readonly metric: string) {
    super(`Invalid metric name ${quotedPrefix(metric)}: use 1-64 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit.`);
  }
}

/** How many of a sensor's other metrics a SensorNotFoundError names. */
const OTHER_METRICS_NAMED = 10;

export class SensorNotFoundError extends DomainError {
  /**
   * Without a metric: the sensor has no model at all. `otherMetrics`: the metrics the sensor
   * has models for, named in the message (a mistyped metric is then seen at once).
   */
  constructor(
    readonly sensorId: string,
    readonly metric?: string,
    otherMetrics: readonly string[] = [],
  ) {
    const named = otherMetrics.slice(0, OTHER_METRICS_NAMED).map((name) => JSON.stringify(name)).join(', ');
    const more = otherMetrics.length > OTHER_METRICS_NAMED ? ` and ${otherMetrics.length - OTHER_METRICS_NAMED} more` : '';
    super(
      `Sensor ${JSON.stringify(sensorId)} has no fitted model${metric === undefined ? '' : ` for metric ${JSON.stringify(metric)}`}.` +
        (named ? ` It has models for ${named}${more}.` : ''),
    );
  }
}

export class InsufficientReadingsError extends DomainError {
  /** `needed`: 2 to fit a model (a sample std needs two readings), 1 to update a fitted one. */
  constructor(
    readonly usableReadings: number,
    readonly needed: 1 | 2 = 2,
  ) {
    super(
      needed === 2
        ? `At least 2 non-null readings are needed to estimate a sample standard deviation; got ${usableReadings}.`
        : `At least 1 non-null reading is needed to update a model; got ${usableReadings}.`,
    );
  }
}

export class RevisionNotFoundError extends DomainError {
  constructor(
    readonly sensorId: string,
    readonly metric: string,
    readonly version: number,
  ) {
    super(`The model of sensor ${JSON.stringify(sensorId)} for metric ${JSON.stringify(metric)} has no version ${version}.`);
  }
}

/** Readings so large that their mean or spread overflows a 64-bit float. */
export class UnrepresentableWeightsError extends DomainError {
  /** `adjustment`: the adjust rule, not the readings, took the mean (or its factor) past the largest double. */
  constructor(readonly overflowed: 'readings' | 'adjustment' = 'readings') {
    super(
      overflowed === 'adjustment'
        ? 'The adjustment overflows: the adjusted mean (or the adjustment factor) would exceed the largest 64-bit float; the model is unchanged.'
        : 'The readings are too large: their mean or standard deviation overflows a 64-bit float.',
    );
  }
}
