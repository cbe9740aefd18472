import type { AlertPolicy } from '../domain/alert-policy';
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
 * Each retained message stands for a place: its model, or with `perSensor` its sensor (every
 * metric's events share one retained message, an alerts topic without `{metric}`). A place
 * should retain the event of a raised model while it has one, else a cleared one (or none).
 * Answers, for each place whose retained message says otherwise (and each place of a model
 * in `absent`, which has no retained message, when a model there is raised), the event of
 * the stored state: its status, the reading stored with it (value, threshold, time) and the
 * model's mean and std. Where several models of a place are raised, the one scored last is
 * told. A model with no stored state is cleared: its correction keeps the retained message's
 * figures, is timed `now`, and, when the model was deleted, says `reason: "model_deleted"`.
 * `everyRaised` adds the place of every raised model to `absent` when it has no message in
 * `retained`. With `publish`, each correction is also published (through the publisher given,
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
    options: { absent?: readonly ModelName[]; everyRaised?: boolean; perSensor?: boolean; publish?: boolean; now?: Date } = {},
  ): Promise<AlertEvent[]> {
    const placeOf = (model: ModelName) => (options.perSensor ? model.sensorId : modelKey(model.sensorId, model.metric));
    // Per place, its latest retained message (undefined: none), and the models to look up there.
    const places = new Map<string, { alert?: RetainedAlert; models: Map<string, ModelName> }>();
    const placeFor = (model: ModelName) => {
      const key = placeOf(model);
      const place = places.get(key) ?? { models: new Map<string, ModelName>() };
      places.set(key, place);
      place.models.set(modelKey(model.sensorId, model.metric), model);
      return place;
    };
    for (const model of options.absent ?? []) placeFor(model);
    for (const alert of retained) placeFor(alert).alert = alert;
    if (options.everyRaised) {
      for (const active of await this.states.listActive()) if (!places.get(placeOf(active))?.alert) placeFor(active);
    }
    if (places.size === 0) return [];
    const models = [...places.values()].flatMap((place) => [...place.models.values()]);
    const states = [
      ...(await this.states.findMany(models.map(keyOf))),
      ...(options.perSensor ? await this.states.findRaised([...new Set(models.map((model) => model.sensorId))].map((id) => Sensor.withId(id))) : []),
    ];
    const stored = new Map(states.map((state) => [modelKey(state.sensorId, state.metric), state]));
    // Per place, the raised model it should tell (every state read is of a place's model or sensor).
    const raised = new Map<string, StoredAlertState>();
    for (const state of stored.values()) {
      const place = placeOf(state);
      const chosen = raised.get(place);
      if (state.status === 'raised' && (chosen === undefined || toldBefore(state, chosen))) raised.set(place, state);
    }

    // Per wrong place: its retained message, and the stored state to tell (none: the message is cleared).
    const wrong = [...places].flatMap(([place, { alert }]): Array<{ alert?: RetainedAlert; state?: StoredAlertState }> => {
      const told = raised.get(place);
      const own = alert && stored.get(modelKey(alert.sensorId, alert.metric));
      if (told) return alert?.state === 'raised' && own?.status === 'raised' ? [] : [{ alert, state: told }];
      return alert?.state === 'raised' ? [{ alert, state: own }] : [];
    });
    if (wrong.length === 0) return [];
    const named = wrong.flatMap(({ alert, state }) => [...(alert ? [alert] : []), ...(state ? [state] : [])]);
    const weights = new Map((await this.weights.findMany(named.map(keyOf))).map((model) => [modelKey(model.sensorId, model.metric), model]));

    const now = options.now ?? new Date();
    const corrections = wrong.flatMap(({ alert, state }): AlertEvent[] => {
      const model = state && weights.get(modelKey(state.sensorId, state.metric));
      if (state && model) return [alertEventOf(transitionOf(state), model.weights, this.policy)];
      // No state (or no model, whose state is gone with it): cleared, told with the figures the retained message had.
      if (alert?.state !== 'raised') return [];
      return [{ ...alert, state: 'cleared', at: now, ...(!weights.has(modelKey(alert.sensorId, alert.metric)) && { reason: 'model_deleted' as const }) }];
    });
    if (options.publish) for (const event of corrections) this.publisher.publish(event);
    return corrections;
  }
}

/** Which of two raised models of one place it tells: the one scored last, then the first metric in byte order (every replica picks the same). */
function toldBefore(state: StoredAlertState, other: StoredAlertState): boolean {
  const later = state.lastAt.getTime() - other.lastAt.getTime();
  return later !== 0 ? later > 0 : state.metric < other.metric;
}

function keyOf(model: ModelName): ModelKey {
  return { sensor: Sensor.withId(model.sensorId), metric: MetricName.of(model.metric) };
}

function transitionOf(state: StoredAlertState) {
  return { sensorId: state.sensorId, metric: state.metric, state: state.status, value: state.lastValue, threshold: state.threshold, at: state.lastAt };
}
