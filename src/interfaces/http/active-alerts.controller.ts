import type { Request, Response } from 'express';
import { injectable } from 'tsyringe';
import { ListActiveAlertsUseCase } from '../../application/list-active-alerts.use-case';
import { noQuerySchema } from './request-schemas';
import type { ActiveAlertResponse } from './response-schemas';
import { parseQuery } from './validation';

/** GET /alerts/active: the alerts live readings raised, as stored (see ALERT_RAISE_AFTER / ALERT_CLEAR_AFTER). */
@injectable()
export class ActiveAlertsController {
  constructor(private readonly listActiveAlerts: ListActiveAlertsUseCase) {}

  readonly list = async (req: Request, res: Response): Promise<void> => {
    parseQuery(noQuerySchema, req.query);
    const alerts = await this.listActiveAlerts.execute();
    res.json(
      alerts.map(
        ({ sensorId, metric, since, lastValue, threshold }): ActiveAlertResponse => ({
          sensor_id: sensorId,
          metric,
          since: since.toISOString(),
          last_value: lastValue,
          threshold,
        }),
      ),
    );
  };
}
