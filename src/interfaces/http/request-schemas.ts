import { z } from 'zod';
import { GetWeightsHistoryUseCase } from '../../application/get-weights-history.use-case';

// Strict objects: a misspelt field is reported instead of silently ignored.
export const fitBodySchema = z.strictObject({
  values: z.array(z.number().nullable()).min(1),
});

export const predictBodySchema = z.strictObject({
  value: z.number(),
});

/** `adjust` takes no input: no body, or an empty object. */
export const adjustBodySchema = z.strictObject({});

export const metricQuerySchema = z.object({
  metric: z.string().optional(),
});

export const historyQuerySchema = metricQuerySchema.extend({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(GetWeightsHistoryUseCase.MAX_LIMIT)
    .default(GetWeightsHistoryUseCase.DEFAULT_LIMIT),
});

/** `?value=0.09`: a decimal number as text, finite. */
export const alertsQuerySchema = z.object({
  value: z
    .string({ error: 'Required: the reading to evaluate, e.g. ?value=0.09' })
    .regex(/^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/, 'Expected a decimal number, e.g. 0.09')
    .transform(Number)
    .pipe(z.number()),
});
