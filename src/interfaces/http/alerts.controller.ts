import type { Request, Response } from 'express';
import { setImmediate as nextTurn } from 'node:timers/promises';
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

  /**
   * `{ "<sensor>": { "<metric>": bool } }` for every stored model, written as its pages are
   * read (chunked), the event loop free between them: other requests are served meanwhile,
   * and memory holds one page, however many models there are. The first page is read before
   * the status line, so a storage failure then is still a problem+json answer; a failure
   * after it cuts the connection (the error handler), so a client never takes a cut table
   * for a whole one.
   */
  readonly all = async (req: Request, res: Response): Promise<void> => {
    const { value } = parseQuery(alertsQuerySchema, req.query);
    const pages = this.evaluateAlerts.pages(value);
    let page = await pages.next();
    res.type('application/json');
    if (req.method === 'HEAD') {
      // The status line is known; the body would be read in full only to be dropped.
      await pages.return(undefined);
      res.end();
      return;
    }
    let sensor: string | undefined;
    while (!page.done) {
      let text = '';
      for (const { sensorId, metric, alert } of page.value) {
        // Ids are plain ASCII (identifier-rule), but JSON.stringify quotes them as any key.
        if (sensorId !== sensor) text += `${sensor === undefined ? '{' : '},'}${JSON.stringify(sensorId)}:{`;
        else text += ',';
        text += `${JSON.stringify(metric)}:${alert}`;
        sensor = sensorId;
      }
      if (!res.write(text)) await drainedOrClosed(res);
      if (res.destroyed) {
        await pages.return(undefined); // the client left: read no further
        return;
      }
      await nextTurn();
      page = await pages.next();
    }
    res.end(sensor === undefined ? '{}' : '}}');
  };

  /** `{ "<metric>": bool }` for one sensor's models (a few: built at once). */
  readonly ofSensor = async (req: Request<{ sensor_id: string }>, res: Response): Promise<void> => {
    const sensor = Sensor.withId(req.params.sensor_id);
    const { value } = parseQuery(alertsQuerySchema, req.query);
    const table = await this.evaluateAlerts.execute(value, sensor);
    res.type('application/json').send(orderedJson(table.get(sensor.id)));
  };
}

/** Resolves once `res` can take more (its buffer drained) or is closed (the client left). */
function drainedOrClosed(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
