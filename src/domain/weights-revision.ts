import type { Weights } from './weights';

/**
 * fit replaces the model, update merges readings into it, adjust scales its mean, rollback
 * restores a revision, delete removes the model (its revision records the weights removed).
 */
export const WEIGHTS_CHANGES = ['fit', 'update', 'adjust', 'rollback', 'delete'] as const;

export type WeightsChange = (typeof WEIGHTS_CHANGES)[number];

/**
 * The changes after which the model no longer stands on what it had learned (replaced, or
 * removed): readings scored against a version before one do not belong to it. An update or
 * an adjust keeps the model's line.
 */
export const REPLACING_CHANGES: readonly WeightsChange[] = ['fit', 'rollback', 'delete'];

/** One entry of a model's append-only history: what changed it, when, and the result (statistics and adjustment). */
export interface WeightsRevision {
  readonly version: number;
  readonly change: WeightsChange;
  readonly weights: Weights;
  readonly recordedAt: Date;
}
