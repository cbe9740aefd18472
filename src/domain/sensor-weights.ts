import type { Weights } from './weights';

/** A sensor's current model for one metric, as stored. `version` counts its changes (fit, update, adjust, rollback). */
export interface SensorWeights {
  readonly sensorId: string;
  readonly metric: string;
  readonly weights: Weights;
  readonly version: number;
  readonly updatedAt: Date;
}
