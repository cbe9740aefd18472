import { z } from 'zod';
import { WEIGHTS_CHANGES } from '../../domain/weights-revision';

// The shapes the API answers with: the controllers build them, the OpenAPI document describes them.

export const weightsResponseSchema = z
  .object({
    sensor_id: z.string(),
    metric: z.string(),
    mean: z.number(),
    std: z.number().min(0).describe('Sample standard deviation (n - 1 denominator)'),
    n: z.number().int().min(2).describe('Readings the model learned from (its fit and updates)'),
    adjustment: z.number().describe("The operator's factor on the learned mean: 1 after a fit, times 1.1 per adjust; `mean` includes it"),
    threshold: z
      .number()
      .nullable()
      .describe('The alert threshold, mean + 2 * std: a reading at or above it is an alert. null when it exceeds the largest double (no reading reaches it)'),
    version: z.number().int().min(1).describe('Counts the changes of this model (fit, update, adjust, rollback, delete)'),
    updated_at: z.iso.datetime(),
  })
  .meta({
    id: 'Weights',
    example: { sensor_id: 'SEN0001', metric: 'value', mean: 7.5, std: 2.3804761428476167, n: 4, adjustment: 1, threshold: 12.260952285695232, version: 1, updated_at: '2026-11-27T06:17:06.448Z' },
  });

export const deletedWeightsResponseSchema = z
  .object({
    sensor_id: z.string(),
    metric: z.string(),
    mean: z.number(),
    std: z.number().min(0),
    n: z.number().int().min(2),
    adjustment: z.number(),
    version: z.number().int().min(2).describe("The deletion's version in the history; a rollback to the one below restores the model as it was"),
    deleted_at: z.iso.datetime(),
  })
  .meta({
    id: 'DeletedWeights',
    description: 'The weights the model had when it was deleted',
    example: { sensor_id: 'SEN0001', metric: 'value', mean: 7.5, std: 2.3804761428476167, n: 4, adjustment: 1, version: 2, deleted_at: '2026-11-30T18:20:41.102Z' },
  });

export const revisionResponseSchema = z
  .object({
    version: z.number().int().min(1),
    change: z.enum(WEIGHTS_CHANGES),
    mean: z.number(),
    std: z.number().min(0),
    n: z.number().int().min(2),
    adjustment: z.number(),
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

// Not an HTTP answer: what the service publishes on each alert transition (MQTT alerts topic,
// ALERT_WEBHOOK_URL), described here so the OpenAPI document carries it as a component.
// Built by infrastructure/alert-events/alert-event-message.ts; a unit test keeps the two in step.
export const alertEventSchema = z
  .object({
    sensor_id: z.string(),
    metric: z.string(),
    state: z.enum(['raised', 'cleared']).describe('raised: the alert began with this reading; cleared: it ended with this one'),
    value: z.number().describe('The reading that made the transition'),
    threshold: z.number().describe('mean + 2 * std of the model at the time'),
    mean: z.number(),
    std: z.number().min(0).describe('Sample standard deviation (n - 1 denominator)'),
    z_score: z.number().nullable().describe('(value - mean) / std; null when std is 0 (or the z-score exceeds the largest double)'),
    at: z.iso.datetime().describe("The reading's time (its `at`, else when the service received it), ISO-8601 UTC"),
    reason: z
      .literal('model_deleted')
      .optional()
      .describe("Only on the `cleared` event of a raised alert whose model was deleted: `value` is then the last reading scored, `at` the deletion's time"),
  })
  .meta({
    id: 'AlertEvent',
    description:
      'An alert transition, published as this JSON to the MQTT alerts topic (MQTT_ALERTS_TOPIC, retained) and POSTed to ALERT_WEBHOOK_URL (with an Idempotency-Key header, the same on every retry of one event). Not an HTTP answer of this API. On MQTT, a retained message left saying another state than the stored one (a late message from another replica, a clear lost in a stop) is corrected with this same JSON: the stored state, with the reading stored with it (a model with no stored state: `cleared`, with the figures of the message replaced, `at` the time of the correction). On MQTT each message also carries the MQTT 5 user property `database_id`: the identity of the database whose state it tells.',
    example: { sensor_id: 'SEN0001', metric: 'params.velRMS.x', state: 'raised', value: 0.0123, threshold: 0.0101, mean: 0.0075, std: 0.0013, z_score: 3.692307692307693, at: '2026-11-30T12:00:05.000Z' },
  });

export const activeAlertResponseSchema = z
  .object({
    sensor_id: z.string(),
    metric: z.string(),
    since: z.iso.datetime().describe('When the alert was raised: the time of the reading that raised it'),
    last_value: z.number().describe('The latest reading of the model, in alert or not (a reading below the threshold starts clearing it)'),
    threshold: z.number().describe('mean + 2 * std of the model that scored last_value'),
  })
  .meta({ id: 'ActiveAlert' });

export const statusSchema = z
  .object({
    status: z.enum(['ok', 'ready']),
    mqtt: z
      .enum(['connecting', 'connected', 'reconnecting', 'closed'])
      .optional()
      .describe(
        '/ready only, and only with MQTT_URL set: the live-readings connection to the broker. Informational: a broker away does not make /ready fail (HTTP still serves; the connection is retried with backoff).',
      ),
  })
  .meta({ id: 'Status' });

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
export type DeletedWeightsResponse = z.infer<typeof deletedWeightsResponseSchema>;
export type ActiveAlertResponse = z.infer<typeof activeAlertResponseSchema>;
export type BatchPredictResponse = z.infer<typeof batchPredictResponseSchema>;
