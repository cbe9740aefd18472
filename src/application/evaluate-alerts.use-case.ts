import { inject, injectable } from 'tsyringe';
import { AlertPolicy } from '../domain/alert-policy';
import type { Sensor } from '../domain/sensor';
import { SensorNotFoundError } from '../domain/domain-errors';
import type { Weights } from '../domain/weights';
import { WEIGHTS_REPOSITORY, type WeightsRepository } from './ports/weights.repository';

/**
 * sensor id -> metric -> a cell: in alert? (the draft's `in_alert`), or the threshold. Ordered
 * by sensor id then metric (byte order). Maps, not objects: ids are user strings (see
 * interfaces/ordered-json.ts).
 */
export type ModelTable<T> = Map<string, Map<string, T>>;
export type AlertTable = ModelTable<boolean>;

/** One model's verdict for a value. */
export interface ModelAlert {
  readonly sensorId: string;
  readonly metric: string;
  readonly alert: boolean;
}

/** Models read per page by pages(): a few milliseconds of reading each. */
const PAGE_SIZE = 4096;

@injectable()
export class EvaluateAlertsUseCase {
  constructor(
    @inject(WEIGHTS_REPOSITORY) private readonly repository: WeightsRepository,
    private readonly policy: AlertPolicy,
  ) {}

  /** Whether `value` is an alert for every stored model, or for every model of one sensor. */
  execute(value: number, sensor?: Sensor): Promise<AlertTable> {
    return this.tabulate(sensor, (weights) => this.policy.isAlert(value, weights));
  }

  /**
   * Whether `value` is an alert for every stored model, a page at a time in execute()'s order
   * (see WeightsRepository.listPage): for a table of millions of models, which execute() would
   * build whole, and whose reading would hold the process meanwhile.
   */
  async *pages(value: number, pageSize = PAGE_SIZE): AsyncGenerator<ModelAlert[]> {
    let after: { sensorId: string; metric: string } | undefined;
    for (;;) {
      const page = await this.repository.listPage(pageSize, after);
      if (page.length > 0) yield page.map(({ sensorId, metric, weights }) => ({ sensorId, metric, alert: this.policy.isAlert(value, weights) }));
      if (page.length < pageSize) return;
      const { sensorId, metric } = page.at(-1)!;
      after = { sensorId, metric };
    }
  }

  /** The threshold (mean + 2 * std; Infinity beyond the largest double) of every stored model, or of one sensor's. */
  thresholds(sensor?: Sensor): Promise<ModelTable<number>> {
    return this.tabulate(sensor, (weights) => this.policy.threshold(weights));
  }

  /** Rejects with SensorNotFoundError for a sensor without models. */
  private async tabulate<T>(sensor: Sensor | undefined, cell: (weights: Weights) => T): Promise<ModelTable<T>> {
    const models = await this.repository.list(sensor);
    if (sensor && models.length === 0) throw new SensorNotFoundError(sensor.id);
    const table: ModelTable<T> = new Map();
    for (const { sensorId, metric, weights } of models) {
      let metrics = table.get(sensorId);
      if (!metrics) table.set(sensorId, (metrics = new Map<string, T>()));
      metrics.set(metric, cell(weights));
    }
    return table;
  }
}
