/** Whether a model is in alert: `raised` after enough readings at or above its threshold, `cleared` otherwise. */
export type AlertStatus = 'raised' | 'cleared';

/**
 * A model's alert state as kept between readings. `pending` counts the consecutive readings,
 * up to now, that disagree with `status` (at or above the threshold while cleared, below it
 * while raised); `since` is when the status last changed (undefined for a model never raised).
 */
export interface AlertState {
  readonly status: AlertStatus;
  readonly pending: number;
  readonly since: Date | undefined;
}

/** What one reading did to a state: the state after it, and the transition it caused, if any. */
export interface AlertStep {
  readonly state: AlertState;
  readonly transition: AlertStatus | undefined;
}

/**
 * Debounce of alert transitions: `raiseAfter` consecutive readings at or above the threshold
 * raise the alert, `clearAfter` consecutive readings below it clear it. With both at 1 (the
 * default) every reading decides alone: exactly the case's rule.
 */
export class AlertDebounce {
  static readonly INITIAL: AlertState = { status: 'cleared', pending: 0, since: undefined };

  constructor(
    readonly raiseAfter = 1,
    readonly clearAfter = 1,
  ) {
    for (const [name, value] of [['raiseAfter', raiseAfter], ['clearAfter', clearAfter]] as const) {
      if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be an integer >= 1, got ${value}`);
    }
  }

  /** The state after one reading, scored `inAlert` by the policy, received at `at`. */
  next(state: AlertState, inAlert: boolean, at: Date): AlertStep {
    const against = inAlert === (state.status === 'cleared');
    if (!against) return { state: state.pending === 0 ? state : { ...state, pending: 0 }, transition: undefined };
    const pending = state.pending + 1;
    if (pending < (inAlert ? this.raiseAfter : this.clearAfter)) return { state: { ...state, pending }, transition: undefined };
    const status: AlertStatus = inAlert ? 'raised' : 'cleared';
    return { state: { status, pending: 0, since: at }, transition: status };
  }
}
