import { z } from 'zod';

// The shapes the API answers with: the controllers build them, the OpenAPI document describes them.

export const weightsResponseSchema = z
  .object({
    sensor_id: z.string(),
    metric: z.string(),
    mean: z.number(),
    std: z.number().min(0).describe('Sample standard deviation (n - 1 denominator)'),
    n: z.number().int().min(2).describe('Readings the model was fitted on'),
    version: z.number().int().min(1).describe('Counts the fits and adjusts of this model'),
    updated_at: z.iso.datetime(),
  })
  .meta({ id: 'Weights', example: { sensor_id: 'SEN0001', metric: 'value', mean: 7.5, std: 2.3804761428476167, n: 4, version: 1, updated_at: '2026-11-27T06:17:06.448Z' } });

export const revisionResponseSchema = z
  .object({
    version: z.number().int().min(1),
    change: z.enum(['fit', 'adjust']),
    mean: z.number(),
    std: z.number().min(0),
    n: z.number().int().min(2),
    recorded_at: z.iso.datetime(),
  })
  .meta({ id: 'WeightsRevision' });

export const sensorAlertsSchema = z
  .record(z.string(), z.boolean())
  .meta({ id: 'SensorAlerts', description: 'metric -> in alert?', example: { 'params.accelRMS.x': true, 'params.accelRMS.y': false } });

export const alertTableSchema = z
  .record(z.string(), sensorAlertsSchema)
  .meta({ id: 'AlertTable', description: "sensor -> metric -> in alert? (the draft's in_alert)" });

export const batchPredictResponseSchema = z
  .object({
    predictions: z.array(z.boolean().nullable()).describe('In request order; null where the sensor has no model for that metric'),
    missing: z.array(z.object({ sensor_id: z.string(), metric: z.string() })).describe('Each (sensor, metric) without a model, once'),
  })
  .meta({ id: 'BatchPredictResponse', example: { predictions: [false, false, null], missing: [{ sensor_id: 'SEN0002', metric: 'value' }] } });

export const statusSchema = z.object({ status: z.enum(['ok', 'ready']) }).meta({ id: 'Status' });

export const problemSchema = z
  .object({
    type: z.string().describe('about:blank, or urn:sensor-alerts:problem:<slug>'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    errors: z.array(z.object({ pointer: z.string().optional(), parameter: z.string().optional(), detail: z.string() })).optional(),
    request_id: z.string().describe('Also in the X-Request-Id response header'),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details (application/problem+json)' });

export type WeightsResponse = z.infer<typeof weightsResponseSchema>;
export type RevisionResponse = z.infer<typeof revisionResponseSchema>;
export type BatchPredictResponse = z.infer<typeof batchPredictResponseSchema>;
