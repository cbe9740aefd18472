import type { ScoredReading } from '../../application/ports/alert-state.repository';
import { AlertDebounce, type AlertState, type AlertStatus } from '../../domain/alert-debounce';
import { modelKey } from '../../domain/identifier-rule';

/** A model's alert state as the storage adapters keep it: the debounce state and its latest reading written. */
export interface KeptAlertState extends AlertState {
  readonly lastValue: number;
  readonly threshold: number;
  /** The time of `lastValue`. */
  readonly lastAt: Date;
}

/** A model whose kept state must be written: `stored` says whether it has a row already. */
export interface AlertStateWrite {
  readonly sensorId: string;
  readonly metric: string;
  readonly stored: boolean;
  readonly state: KeptAlertState;
}

/**
 * The step both SQL adapters take inside their transaction: each reading's model state is
 * read once (`read`, the first time the model appears), stepped by every reading of the batch
 * in order, and written at most once. The readings of a model `deleted` says was deleted step
 * nothing (undefined). A model whose state did not change is not written,
 * unless it is raised and its latest value or threshold moved (GET /alerts/active shows
 * them); a cleared model's latest value is not worth a write per reading.
 */
export function stepAlertStates(
  readings: readonly ScoredReading[],
  debounce: AlertDebounce,
  read: (sensorId: string, metric: string) => KeptAlertState | undefined,
  deleted: (sensorId: string, metric: string) => boolean,
): { transitions: (AlertStatus | undefined)[]; writes: AlertStateWrite[] } {
  const models = new Map<string, { sensorId: string; metric: string; before: KeptAlertState | undefined; state: AlertState; last: ScoredReading }>();
  const skipped = new Set<string>();
  const transitions = readings.map((reading) => {
    const key = modelKey(reading.sensor.id, reading.metric.name);
    if (skipped.has(key)) return undefined;
    let model = models.get(key);
    if (model === undefined) {
      if (deleted(reading.sensor.id, reading.metric.name)) {
        skipped.add(key);
        return undefined;
      }
      const before = read(reading.sensor.id, reading.metric.name);
      model = { sensorId: reading.sensor.id, metric: reading.metric.name, before, state: before ?? AlertDebounce.INITIAL, last: reading };
      models.set(key, model);
    }
    const step = debounce.next(model.state, reading.inAlert, reading.at);
    model.state = step.state;
    model.last = reading;
    return step.transition;
  });
  const writes: AlertStateWrite[] = [];
  for (const { sensorId, metric, before, state, last } of models.values()) {
    if (!changed(before, state, last)) continue;
    const { status, pending, since } = state;
    writes.push({ sensorId, metric, stored: before !== undefined, state: { status, pending, since, lastValue: last.value, threshold: last.threshold, lastAt: last.at } });
  }
  return { transitions, writes };
}

function changed(before: KeptAlertState | undefined, after: AlertState, last: ScoredReading): boolean {
  const was = before ?? AlertDebounce.INITIAL;
  if (was.status !== after.status || was.pending !== after.pending || was.since?.getTime() !== after.since?.getTime()) return true;
  return after.status === 'raised' && (before!.lastValue !== last.value || before!.threshold !== last.threshold);
}
