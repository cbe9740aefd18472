import type { Weights } from './weights';

export type WeightsChange = 'fit' | 'adjust';

/** One entry of a model's append-only history: what changed it, when, and the result. */
export interface WeightsRevision {
  readonly version: number;
  readonly change: WeightsChange;
  readonly weights: Weights;
  readonly recordedAt: Date;
}
