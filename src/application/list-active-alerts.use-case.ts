import { inject, injectable } from 'tsyringe';
import { ALERT_STATE_REPOSITORY, type ActiveAlert, type AlertStateRepository } from './ports/alert-state.repository';

/** The alerts raised by live readings and not cleared yet (GET /alerts/active). */
@injectable()
export class ListActiveAlertsUseCase {
  constructor(@inject(ALERT_STATE_REPOSITORY) private readonly states: AlertStateRepository) {}

  /** Ordered by sensor id then metric, byte by byte. */
  execute(): Promise<ActiveAlert[]> {
    return this.states.listActive();
  }
}
