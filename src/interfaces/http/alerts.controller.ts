import type { Request, Response } from 'express';
import { injectable } from 'tsyringe';
import { EvaluateAlertsUseCase } from '../../application/evaluate-alerts.use-case';
import { Sensor } from '../../domain/sensor';
import { orderedJson } from '../ordered-json';
import { alertsQuerySchema } from './request-schemas';
import { parseQuery } from './validation';

/** The draft's result over HTTP: whether a value is an alert for each stored sensor and metric. */
@injectable()
export class AlertsController {
  constructor(private readonly evaluateAlerts: EvaluateAlertsUseCase) {}

  /** `{ "<sensor>": { "<metric>": bool } }` for every stored model. */
  readonly all = async (req: Request, res: Response): Promise<void> => {
    const { value } = parseQuery(alertsQuerySchema, req.query);
    res.type('application/json').send(orderedJson(await this.evaluateAlerts.execute(value)));
  };

  /** `{ "<metric>": bool }` for one sensor's models. */
  readonly ofSensor = async (req: Request<{ sensor_id: string }>, res: Response): Promise<void> => {
    const sensor = Sensor.withId(req.params.sensor_id);
    const { value } = parseQuery(alertsQuerySchema, req.query);
    const table = await this.evaluateAlerts.execute(value, sensor);
    res.type('application/json').send(orderedJson(table.get(sensor.id)));
  };
}
