import type { AlertPolicy } from '../domain/alert-policy';
import type { AlertStatus } from '../domain/alert-debounce';
import { alertEventOf, type AlertEvent } from '../domain/alert-event';
import { modelKey } from '../domain/identifier-rule';
import { MetricName } from '../domain/metric-name';
import { Sensor } from '../domain/sensor';
import type { AlertEventPublisher } from './ports/alert-event.publisher';
import type { AlertStateRepository, StoredAlertState } from './ports/alert-state.repository';
import type { ModelKey, WeightsRepository } from './ports/weights.repository';

/** The alert event a broker retains for a model (its latest message), as read back from it. */
export type RetainedAlert = Omit<AlertEvent, 'at' | 'reason'>;

/** A model, by its sensor id and metric name. */
export interface ModelName {
  readonly sensorId: string;
  readonly metric: string;
}

/**
 * Keeps the retained alert messages true to the stored alert states. With several replicas,
 * each publishes the transitions it decides, and the broker retains whichever message reaches
 * it last: a `raised` decided first by one replica can arrive after the `cleared` another
 * decided next, and stay retained although the model is cleared. A `cleared` lost with a
 * process (published while the broker was away) leaves a `raised` retained for good.
 *
 * Answers, for each retained message whose state is not the model's stored one (and each
 * model in `absent`, that has no retained message, whose stored state is raised), the event of
 * the stored state: its status, the reading stored with it (value, threshold, time) and the
 * model's mean and std. A model with no stored state is cleared: its correction keeps the
 * retained message's figures, is timed `now`, and, when the model was deleted, says
 * `reason: "model_deleted"`. `everyRaised` adds every raised model missing from `retained` to
 * `absent`. With `publish`, each correction is also published (through the publisher given,
 * which retains); without, the call only reads.
 *
 * Rejects with StorageUnavailableError (nothing published) when storage cannot serve.
 */
export class ReconcileRetainedAlertsUseCase {
  constructor(
    private readonly states: AlertStateRepository,
    private readonly weights: WeightsRepository,
    private readonly publisher: AlertEventPublisher,
    private readonly policy: AlertPolicy,
  ) {}

  async execute(
    retained: readonly RetainedAlert[],
    options: { absent?: readonly ModelName[]; everyRaised?: boolean; publish?: boolean; now?: Date } = {},
  ): Promise<AlertEvent[]> {
    const retainedByKey = new Map(retained.map((alert) => [modelKey(alert.sensorId, alert.metric), alert]));
    const keys = new Map<string, ModelKey>();
    for (const model of options.absent ?? []) keys.set(modelKey(model.sensorId, model.metric), keyOf(model));
    for (const [key, alert] of retainedByKey) keys.set(key, keyOf(alert));
    if (options.everyRaised) {
      for (const active of await this.states.listActive()) keys.set(modelKey(active.sensorId, active.metric), keyOf(active));
    }
    if (keys.size === 0) return [];
    const stored = new Map((await this.states.findMany([...keys.values()])).map((state) => [modelKey(state.sensorId, state.metric), state]));

    const wrong = [...keys].filter(([key]) => {
      const alert = retainedByKey.get(key);
      const status: AlertStatus = stored.get(key)?.status ?? 'cleared';
      return alert === undefined ? status === 'raised' : alert.state !== status;
    });
    if (wrong.length === 0) return [];
    const models = new Map((await this.weights.findMany(wrong.map(([, key]) => key))).map((model) => [modelKey(model.sensorId, model.metric), model]));

    const now = options.now ?? new Date();
    const corrections = wrong.flatMap(([key]): AlertEvent[] => {
      const state = stored.get(key);
      const model = models.get(key);
      const alert = retainedByKey.get(key);
      if (state !== undefined && model !== undefined) return [alertEventOf(transitionOf(state), model.weights, this.policy)];
      // No state (or no model, whose state is gone with it): cleared, told with the figures the retained message had.
      if (alert === undefined || alert.state === 'cleared') return [];
      return [{ ...alert, state: 'cleared', at: now, ...(model === undefined && { reason: 'model_deleted' as const }) }];
    });
    if (options.publish) for (const event of corrections) this.publisher.publish(event);
    return corrections;
  }
}

function keyOf(model: ModelName): ModelKey {
  return { sensor: Sensor.withId(model.sensorId), metric: MetricName.of(model.metric) };
}

function transitionOf(state: StoredAlertState) {
  return { sensorId: state.sensorId, metric: state.metric, state: state.status, value: state.lastValue, threshold: state.threshold, at: state.lastAt };
}
