import type { AlertStatus } from './alert-debounce';
import type { AlertPolicy } from './alert-policy';
import type { Weights } from './weights';

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

/** What an event says of the transition itself; the rest comes from the model's weights. */
export type AlertTransition = Pick<AlertEvent, 'sensorId' | 'metric' | 'state' | 'value' | 'threshold' | 'at' | 'reason'>;

/** The event of a transition: the model's mean and std beside it, and the z-score of its value (AlertPolicy.zScore). */
export function alertEventOf(transition: AlertTransition, weights: Weights, policy: AlertPolicy): AlertEvent {
  return { ...transition, mean: weights.mean, std: weights.std, zScore: policy.zScore(transition.value, weights) };
}
