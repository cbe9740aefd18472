import type { AlertStatus } from './alert-debounce';

/**
 * One alert transition, as published (MQTT, webhook). Units are the reading's own. `zScore`
 * is (value - mean) / std, the reading's distance from the mean in standard deviations;
 * null when std is 0 or the z-score exceeds the largest double (AlertPolicy.zScore). `at` is the reading's time.
 * `reason` is set only on the `cleared` event of a raised alert whose model was deleted: then
 * `value` is the last reading scored, `threshold` the one it was scored against, mean and std
 * the deleted model's, and `at` the deletion's time.
 */
export interface AlertEvent {
  readonly sensorId: string;
  readonly metric: string;
  readonly state: AlertStatus;
  readonly value: number;
  readonly threshold: number;
  readonly mean: number;
  readonly std: number;
  readonly zScore: number | null;
  readonly at: Date;
  readonly reason?: 'model_deleted';
}
