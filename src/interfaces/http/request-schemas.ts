import { z } from 'zod';
import { GetWeightsHistoryUseCase } from '../../application/get-weights-history.use-case';
import { DECIMAL_NUMBER_PATTERN } from '../decimal-number';
import type { ArrayField } from './validation';

const readingSchema = z.number().nullable();

/** `values` of fit and update, checked by hand first (validation.ts says why). */
export const valuesField: ArrayField = {
  name: 'values',
  item: readingSchema,
  // JSON has no NaN or Infinity, but the check says no to them as z.number() does.
  isItem: (item) => item === null || (typeof item === 'number' && Number.isFinite(item)),
};

// Strict objects: a misspelt field is reported instead of silently ignored.
export const fitBodySchema = z
  .strictObject({
    values: z.array(readingSchema).min(1).describe('Readings; nulls are skipped; at least two numbers'),
  })
  .meta({ id: 'FitRequest', example: { values: [10, 5, 6, 9] } });

export const updateBodySchema = z
  .strictObject({
    values: z
      .array(readingSchema)
      .min(1)
      .describe('New readings; nulls are skipped; at least one number (two for a sensor never fitted)'),
  })
  .meta({ id: 'UpdateRequest', example: { values: [8, 7.5] } });

export const rollbackBodySchema = z
  .strictObject({
    // int() holds it to the safe integers itself (a .max() too would say so twice).
    version: z.number().int().min(1).describe("The model's version to restore, as its history lists it"),
  })
  .meta({ id: 'RollbackRequest', example: { version: 1 } });

/** The Idempotency-Key request header: any visible ASCII, 1-255 characters. */
export const idempotencyKeySchema = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/, 'Expected 1-255 visible ASCII characters')
  .describe('Makes the write idempotent for 24 h: a retry with the same key and body gets the first answer (same status and body) and changes nothing');

export const predictBodySchema = z
  .strictObject({
    value: z.number().describe('The reading to evaluate'),
  })
  .meta({ id: 'PredictRequest', example: { value: 10 } });

export const BATCH_LIMIT = 100_000;

export const batchItemSchema = z.strictObject({
  sensor_id: z.string(),
  value: z.number(),
  metric: z.string().optional().describe('Default `value`'),
});

export const batchPredictBodySchema = z
  .strictObject({
    items: z
      .array(batchItemSchema)
      .min(1)
      .max(BATCH_LIMIT)
      .describe(`Up to ${BATCH_LIMIT} readings to evaluate`),
  })
  .meta({
    id: 'BatchPredictRequest',
    example: { items: [{ sensor_id: 'SEN0001', value: 10 }, { sensor_id: 'IAJ9206', metric: 'params.accelRMS.y', value: 0.09 }, { sensor_id: 'SEN0002', value: 1 }] },
  });

/** `adjust` takes no input: no body, or an empty object. */
/** For a write that takes no fields (adjust, delete): no body, or {}. */
export const emptyBodySchema = z.strictObject({}).meta({ id: 'EmptyBody', example: {} });

/** For a route that takes no query parameters: any is refused by name. */
export const noQuerySchema = z.object({});

export const metricQuerySchema = z.object({
  metric: z.string().optional().describe('Which model of the sensor: `value` (default) or a trained column such as params.velRMS.x'),
});

const VERSION_EXPECTED = `Expected a version number in decimal digits, 1 to ${Number.MAX_SAFE_INTEGER}`;

export const historyQuerySchema = metricQuerySchema.extend({
  // Decimal digits only: Number() would also take 0x10, 1e2, ' 5' or an empty string.
  limit: z
    .string()
    .regex(/^\d{1,9}$/, `Expected a whole number in decimal digits, 1 to ${GetWeightsHistoryUseCase.MAX_LIMIT}`)
    .transform(Number)
    .pipe(z.number().int().min(1).max(GetWeightsHistoryUseCase.MAX_LIMIT))
    .default(GetWeightsHistoryUseCase.DEFAULT_LIMIT)
    .describe(`How many revisions, newest first: 1 to ${GetWeightsHistoryUseCase.MAX_LIMIT}, default ${GetWeightsHistoryUseCase.DEFAULT_LIMIT}`),
  before: z
    .string()
    .regex(/^\d{1,16}$/, VERSION_EXPECTED)
    .transform(Number)
    .pipe(z.number().min(1, VERSION_EXPECTED).max(Number.MAX_SAFE_INTEGER, VERSION_EXPECTED))
    .optional()
    .describe('Only revisions older than this version: for the next page, the last version of the previous one'),
});

/** `?value=0.09`: a plain decimal number as text (as JSON writes numbers), finite. */
export const alertsQuerySchema = z.object({
  value: z
    .string({ error: 'Required: the reading to evaluate, e.g. ?value=0.09' })
    .regex(DECIMAL_NUMBER_PATTERN, 'Expected a decimal number as JSON writes it, e.g. 0.09')
    .describe('The reading to evaluate, e.g. 0.09')
    .transform(Number)
    .pipe(z.number({ error: 'Expected a finite number: this one is beyond the largest double' })),
});
