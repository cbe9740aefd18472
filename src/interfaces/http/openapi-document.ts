import { z } from 'zod';
import { StorageUnavailableError } from '../../application/storage-unavailable.error';
import { InvalidSensorIdError, RevisionNotFoundError, SensorNotFoundError } from '../../domain/domain-errors';
import { IDENTIFIER_PATTERN } from '../../domain/identifier-rule';
import { toProblem } from './error-handler.middleware';
import { HttpProblem } from './http-problem';
import {
  emptyBodySchema,
  alertsQuerySchema,
  batchPredictBodySchema,
  fitBodySchema,
  historyQuerySchema,
  idempotencyKeySchema,
  metricQuerySchema,
  noQuerySchema,
  predictBodySchema,
  rollbackBodySchema,
  updateBodySchema,
} from './request-schemas';
import { activeAlertResponseSchema, alertTableSchema, batchPredictResponseSchema, deletedWeightsResponseSchema, problemSchema, revisionResponseSchema, sensorAlertsSchema, statusSchema, weightsResponseSchema } from './response-schemas';
import { IDEMPOTENCY_KEY_HEADER, KEY_IN_FLIGHT, KEY_REUSED } from './idempotency.middleware';
import { parseBody, parseQuery } from './validation';

type JsonSchema = Record<string, unknown>;

const ref = (schema: z.ZodType): JsonSchema => ({ $ref: `#/components/schemas/${(schema.meta() as { id: string }).id}` });

const json = (schema: JsonSchema, description: string) => ({ description, content: { 'application/json': { schema } } });

const EXAMPLE_REQUEST_ID = '6f1c2b0e-2a47-4a0e-9d33-0f6c1f0a9e11';

/** A documented problem answer whose example is what the error handler makes of `error`: the server's own words. */
function problem(description: string, error: unknown) {
  return {
    description,
    content: { 'application/problem+json': { schema: ref(problemSchema), example: { ...toProblem(error), request_id: EXAMPLE_REQUEST_ID } } },
  };
}

function thrownBy(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  throw new Error('an OpenAPI example was expected to throw');
}

/**
 * One documented answer per problem status. Those the domain, the schemas or the handler
 * raise are built from the error classes themselves; the few middleware answers (401, 405,
 * 415, /health's 503) are written out, and openapi-examples.test.ts holds them to the
 * server's real answers.
 */
const UNAUTHORIZED = new HttpProblem({ type: 'about:blank', title: 'Unauthorized', status: 401, detail: 'Send Authorization: Bearer <API_TOKEN>.' });

function problemResponses() {
  return {
    400: problem('Malformed JSON, or an invalid sensor id, metric name or query parameter', new InvalidSensorIdError('.x')),
    batch400: problem('Malformed JSON, or a query parameter (this route takes none)', thrownBy(() => parseQuery(noQuerySchema, { x: '1' }))),
    query400: problem('A query parameter: this route takes none', thrownBy(() => parseQuery(noQuerySchema, { x: '1' }))),
    401: problem('API_TOKEN is set and the request has no valid bearer token', UNAUTHORIZED),
    read401: problem('API_TOKEN is set with API_TOKEN_READS=true, and the request has no valid bearer token (without API_TOKEN_READS, reads need no token)', UNAUTHORIZED),
    404: problem('The sensor has no model for this metric', new SensorNotFoundError('SEN0002', 'value')),
    409: problem('A request with the same Idempotency-Key is still in flight', KEY_IN_FLIGHT),
    idempotency422: problem(
      'JSON that breaks the schema, too few readings, statistics that overflow, or an Idempotency-Key already used with another body',
      KEY_REUSED,
    ),
    delete422: problem('A body with any field (send none, or {}), or an Idempotency-Key already used with another body', KEY_REUSED),
    rollback404: problem('The sensor has no model for this metric, or the model has no such version', new RevisionNotFoundError('SEN0001', 'value', 42)),
    405: problem(
      'Known route, other method (see Allow)',
      new HttpProblem({ type: 'about:blank', title: 'Method Not Allowed', status: 405, detail: 'GET is not supported on this route; use POST.' }),
    ),
    413: problem(
      "Body over the route's limit (BODY_LIMIT_FIT, BODY_LIMIT_BATCH or BODY_LIMIT_SMALL)",
      new HttpProblem({
        type: 'about:blank',
        title: 'Content Too Large',
        status: 413,
        detail: "The request body (20000000 bytes) is larger than this route's 16777216-byte limit (BODY_LIMIT_FIT).",
      }),
    ),
    415: problem(
      'A body that is not JSON',
      new HttpProblem({ type: 'about:blank', title: 'Unsupported Media Type', status: 415, detail: 'Send the body as application/json (received "text/plain").' }),
    ),
    417: problem(
      'An Expect header other than 100-continue (any route)',
      new HttpProblem({ type: 'about:blank', title: 'Expectation Failed', status: 417, detail: 'Expect "fast-lane" is not supported; only 100-continue is.' }),
    ),
    422: problem(
      'JSON that breaks the schema, fewer than two non-null readings, or statistics that overflow',
      thrownBy(() => parseBody(predictBodySchema, { value: 'high' })),
    ),
    500: problem('A fault of ours, logged with its cause', new Error('any fault: its text is logged, never sent')),
    503: problem('The database cannot take the request now (locked, read-only, full, or unreachable)', new StorageUnavailableError('database is locked (SQLITE_BUSY)')),
    unhealthy: problem(
      'The database does not answer; or, for /ready, the server is starting or stopping',
      new HttpProblem({ type: 'about:blank', title: 'Service Unavailable', status: 503, detail: 'The weights database does not answer.' }),
    ),
  };
}

const sensorId = { name: 'sensor_id', in: 'path', required: true, schema: { type: 'string', pattern: IDENTIFIER_PATTERN }, example: 'SEN0001' };

function queryParameters(schema: z.ZodObject, required: readonly string[] = []) {
  const { properties = {} } = z.toJSONSchema(schema, { io: 'input' }) as { properties?: Record<string, JsonSchema> };
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: 'query',
    required: required.includes(name),
    description: property.description,
    schema: { ...property, description: undefined },
  }));
}

function body(schema: z.ZodType, required = true) {
  return { required, content: { 'application/json': { schema: ref(schema), example: (schema.meta() as { example?: unknown }).example } } };
}

const sensorParameters = [sensorId, ...queryParameters(metricQuerySchema)];

/** Reads and predictions: the token is needed only with API_TOKEN_READS=true (writes: with API_TOKEN), hence optional. */
const READ_SECURITY = [{ bearer: [] }, {}];

const idempotencyKey = {
  name: IDEMPOTENCY_KEY_HEADER,
  in: 'header',
  required: false,
  description: `${idempotencyKeySchema.description ?? ''}. Scoped per route and model. A retry with the same body gets the first answer again, with the header Idempotent-Replayed: true. The same key with another body answers 422; a retry while the first request is still in flight, 409. A failed request (4xx, 5xx) keeps nothing: its retry runs again, except a 503 whose detail says the write's outcome is unknown (the database connection lost after it was sent), whose key is kept (409) until it expires.`,
  schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' },
  example: '8e03978e-40d5-43e8-bc93-6894a57f9324',
};

/** The parameters of a write: the model, and the optional Idempotency-Key. */
const writeParameters = [...sensorParameters, idempotencyKey];

type Paths = Record<string, Record<string, { responses: Record<string, unknown> }>>;

/** Adds `response` under `status` to every operation: an answer given before any route is chosen. */
function answeredOnEveryRoute<T extends Paths>(status: number, response: unknown, paths: T): T {
  for (const operations of Object.values(paths)) for (const operation of Object.values(operations)) operation.responses[status] = response;
  return paths;
}

/** The OpenAPI 3.1 document, generated from the zod schemas that validate requests and shape answers. */
export function buildOpenApiDocument(): JsonSchema {
  const PROBLEMS = problemResponses();
  // Every schema given an id with .meta({ id }) becomes a component; nested ones become $refs.
  const { schemas } = z.toJSONSchema(z.globalRegistry, { io: 'output', uri: (id) => `#/components/schemas/${id}` });
  const components = Object.fromEntries(Object.entries(schemas).map(([id, { $schema: _dialect, $id: _uri, ...schema }]) => [id, schema]));

  return {
    openapi: '3.1.0',
    info: {
      title: 'sensor-alerts',
      version: '1.0.0',
      description:
        'Learns, per vibration sensor and metric, the mean and sample standard deviation of its readings, and says whether a reading is an alert: value >= mean + 2 * std. Errors are RFC 9457 application/problem+json; every answer carries X-Request-Id.\n\n' +
        '**Live readings over MQTT** (with MQTT_URL set; not HTTP): the service subscribes to MQTT_READINGS_TOPIC (default `sensors/+/readings`, the `+` level is the sensor id) at QoS 1 through the shared subscription `$share/<MQTT_SHARE_GROUP>/...`. A message is UTF-8 JSON, at most 64 KB, one of: `{"value": 0.0123}` (metric `value`); `{"metric": "params.velRMS.x", "value": 0.0012}`; `{"readings": {"params.velRMS.x": 0.0012, "params.accelRMS.x": 0.051}}` (several metrics), each with an optional `"at"` (ISO-8601 with a zone; absent: the receipt time). Anything else is refused, counted in /metrics and logged. Each alert transition is published to MQTT_ALERTS_TOPIC (default `sensors/{sensor_id}/alerts`, QoS 1, retained) as JSON: `sensor_id`, `metric`, `state` (`raised` or `cleared`), `value`, `threshold`, `mean`, `std`, `z_score` (null when std is 0, or when the z-score exceeds the largest double), `at` (ISO-8601 UTC). Every replica also subscribes to the alerts topics and, when a retained message is not its model\'s stored state (MQTT_ALERTS_RECONCILE_MS), publishes the stored one.',
    },
    paths: answeredOnEveryRoute(417, PROBLEMS[417], {
      '/{sensor_id}/fit': {
        post: {
          operationId: 'fit',
          security: [{ bearer: [] }, {}],
          summary: 'Learn mean and sample std from readings (replaces the model)',
          parameters: writeParameters,
          requestBody: body(fitBodySchema),
          responses: { 200: json(ref(weightsResponseSchema), 'The new weights'), 400: PROBLEMS[400], 401: PROBLEMS[401], 405: PROBLEMS[405], 413: PROBLEMS[413], 415: PROBLEMS[415], 409: PROBLEMS[409], 422: PROBLEMS.idempotency422, 500: PROBLEMS[500], 503: PROBLEMS[503] },
        },
      },
      '/{sensor_id}/weights': {
        get: {
          operationId: 'getWeights',
          security: READ_SECURITY,
          summary: 'The stored weights',
          parameters: sensorParameters,
          responses: { 200: json(ref(weightsResponseSchema), 'The weights'), 400: PROBLEMS[400], 401: PROBLEMS.read401, 404: PROBLEMS[404], 405: PROBLEMS[405], 500: PROBLEMS[500], 503: PROBLEMS[503] },
        },
        delete: {
          operationId: 'deleteWeights',
          security: [{ bearer: [] }, {}],
          summary: 'Delete the model (a mistyped metric, a retired sensor) and forget its alert state',
          description:
            'Its history stays readable, with the deletion as one more revision (change `delete`, the weights the model had). A later fit, update or train creates the model afresh, its versions going on from the deletion; a rollback to any earlier version restores it.',
          parameters: writeParameters,
          requestBody: body(emptyBodySchema, false),
          responses: { 200: json(ref(deletedWeightsResponseSchema), 'The weights deleted'), 400: PROBLEMS[400], 401: PROBLEMS[401], 404: PROBLEMS[404], 405: PROBLEMS[405], 413: PROBLEMS[413], 415: PROBLEMS[415], 409: PROBLEMS[409], 422: PROBLEMS.delete422, 500: PROBLEMS[500], 503: PROBLEMS[503] },
        },
      },
      '/{sensor_id}/weights/history': {
        get: {
          operationId: 'getWeightsHistory',
          security: READ_SECURITY,
          summary: 'Every change of the model (fit, update, adjust, rollback, delete), newest first',
          parameters: [sensorId, ...queryParameters(historyQuerySchema)],
          responses: { 200: json({ type: 'array', items: ref(revisionResponseSchema) }, 'Revisions, newest first'), 400: PROBLEMS[400], 401: PROBLEMS.read401, 404: PROBLEMS[404], 405: PROBLEMS[405], 500: PROBLEMS[500], 503: PROBLEMS[503] },
        },
      },
      '/{sensor_id}/predict': {
        post: {
          operationId: 'predict',
          security: READ_SECURITY,
          summary: 'Is this reading an alert? (value >= mean + 2 * std)',
          parameters: sensorParameters,
          requestBody: body(predictBodySchema),
          responses: { 200: { description: 'The bare JSON boolean', content: { 'application/json': { schema: { type: 'boolean' }, example: false } } }, 400: PROBLEMS[400], 401: PROBLEMS.read401, 404: PROBLEMS[404], 405: PROBLEMS[405], 413: PROBLEMS[413], 415: PROBLEMS[415], 422: PROBLEMS[422], 500: PROBLEMS[500], 503: PROBLEMS[503] },
        },
      },
      '/{sensor_id}/adjust': {
        post: {
          operationId: 'adjust',
          security: [{ bearer: [] }, {}],
          summary: 'Multiply the mean and the adjustment factor by 1.1, atomically (a positive mean rises by 10%, a negative one falls)',
          parameters: writeParameters,
          requestBody: body(emptyBodySchema, false),
          responses: { 200: json(ref(weightsResponseSchema), 'The adjusted weights'), 400: PROBLEMS[400], 401: PROBLEMS[401], 404: PROBLEMS[404], 405: PROBLEMS[405], 413: PROBLEMS[413], 415: PROBLEMS[415], 409: PROBLEMS[409], 422: PROBLEMS.idempotency422, 500: PROBLEMS[500], 503: PROBLEMS[503] },
        },
      },
      '/{sensor_id}/update': {
        post: {
          operationId: 'update',
          security: [{ bearer: [] }, {}],
          summary: 'Merge new readings into the model, as if they had been part of its fit',
          description:
            'fit(A) then update(B) learns what fit(A ++ B) would (same mean, std and n); the adjustment keeps applying. One reading is enough; a sensor never fitted needs two, as for fit. Atomic: concurrent updates all count.',
          parameters: writeParameters,
          requestBody: body(updateBodySchema),
          responses: { 200: json(ref(weightsResponseSchema), 'The updated weights'), 400: PROBLEMS[400], 401: PROBLEMS[401], 405: PROBLEMS[405], 413: PROBLEMS[413], 415: PROBLEMS[415], 409: PROBLEMS[409], 422: PROBLEMS.idempotency422, 500: PROBLEMS[500], 503: PROBLEMS[503] },
        },
      },
      '/{sensor_id}/rollback': {
        post: {
          operationId: 'rollback',
          security: [{ bearer: [] }, {}],
          summary: 'Make the model what one of its revisions recorded (statistics and adjustment), as a new version; restores a deleted model too',
          parameters: writeParameters,
          requestBody: body(rollbackBodySchema),
          responses: { 200: json(ref(weightsResponseSchema), 'The restored weights'), 400: PROBLEMS[400], 401: PROBLEMS[401], 404: PROBLEMS.rollback404, 405: PROBLEMS[405], 413: PROBLEMS[413], 415: PROBLEMS[415], 409: PROBLEMS[409], 422: PROBLEMS.idempotency422, 500: PROBLEMS[500], 503: PROBLEMS[503] },
        },
      },
      '/{sensor_id}/alerts': {
        get: {
          operationId: 'getSensorAlerts',
          security: READ_SECURITY,
          summary: "Is the value an alert for each of the sensor's metrics?",
          parameters: [sensorId, ...queryParameters(alertsQuerySchema, ['value'])],
          responses: { 200: json(ref(sensorAlertsSchema), 'metric -> in alert?'), 400: PROBLEMS[400], 401: PROBLEMS.read401, 404: PROBLEMS[404], 405: PROBLEMS[405], 500: PROBLEMS[500], 503: PROBLEMS[503] },
        },
      },
      '/predict': {
        post: {
          operationId: 'predictBatch',
          security: READ_SECURITY,
          summary: 'Many predictions in one request, for many sensors and metrics',
          description: 'Each distinct (sensor, metric) is read once. An item whose sensor has no model for its metric gets null and is listed in `missing`.',
          requestBody: body(batchPredictBodySchema),
          responses: { 200: json(ref(batchPredictResponseSchema), 'Predictions in request order'), 400: PROBLEMS.batch400, 401: PROBLEMS.read401, 405: PROBLEMS[405], 413: PROBLEMS[413], 415: PROBLEMS[415], 422: PROBLEMS[422], 500: PROBLEMS[500], 503: PROBLEMS[503] },
        },
      },
      '/alerts': {
        get: {
          operationId: 'getAlerts',
          security: READ_SECURITY,
          summary: "The draft's in_alert table: every stored sensor and metric",
          parameters: queryParameters(alertsQuerySchema, ['value']),
          responses: { 200: json(ref(alertTableSchema), 'sensor -> metric -> in alert?'), 400: PROBLEMS[400], 401: PROBLEMS.read401, 405: PROBLEMS[405], 500: PROBLEMS[500], 503: PROBLEMS[503] },
        },
      },
      '/alerts/active': {
        get: {
          operationId: 'getActiveAlerts',
          security: READ_SECURITY,
          summary: 'The alerts live readings raised and have not cleared, ordered by sensor id then metric (byte order)',
          description:
            'Kept per sensor and metric from the readings streamed over MQTT (MQTT_URL): ALERT_RAISE_AFTER consecutive readings at or above the threshold raise an alert, ALERT_CLEAR_AFTER consecutive readings below it clear it (both default 1: the case rule). The state is stored with the weights, so it survives restarts and is shared by replicas. Empty without MQTT. Needs the bearer token when API_TOKEN_READS is set.',
          responses: {
            200: {
              description: 'The raised alerts; [] when none',
              content: {
                'application/json': {
                  schema: { type: 'array', items: ref(activeAlertResponseSchema) },
                  example: [
                    { sensor_id: 'SEN0001', metric: 'params.velRMS.x', since: '2026-11-30T12:00:07.000Z', last_value: 0.0131, threshold: 0.0118 },
                    { sensor_id: 'SEN0002', metric: 'value', since: '2026-11-30T11:58:00.000Z', last_value: 0.04, threshold: 0.052 },
                  ],
                },
              },
            },
            400: PROBLEMS[400],
            401: PROBLEMS.read401,
            405: PROBLEMS[405],
            500: PROBLEMS[500],
            503: PROBLEMS[503],
          },
        },
      },
      '/health': {
        get: { operationId: 'health', summary: 'Liveness: the process runs and the database answers', responses: { 200: json(ref(statusSchema), 'Healthy'), 400: PROBLEMS.query400, 405: PROBLEMS[405], 503: PROBLEMS.unhealthy } },
      },
      '/ready': {
        get: { operationId: 'ready', summary: 'Readiness: healthy and neither starting nor shutting down', responses: { 200: json(ref(statusSchema), 'Ready for traffic'), 400: PROBLEMS.query400, 405: PROBLEMS[405], 503: PROBLEMS.unhealthy } },
      },
      '/metrics': {
        get: {
          operationId: 'metrics',
          summary: 'Prometheus metrics (text exposition format)',
          responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } }, 400: PROBLEMS.query400, 405: PROBLEMS[405] },
        },
      },
      '/openapi.json': {
        get: { operationId: 'openApi', summary: 'This document', responses: { 200: json({ type: 'object' }, 'OpenAPI 3.1'), 400: PROBLEMS.query400, 405: PROBLEMS[405] } },
      },
      '/': {
        get: {
          operationId: 'index',
          summary: 'What this service is, its version, and where to go: the docs, this document, the probes',
          responses: { 200: json({ type: 'object' }, 'The service and its links'), 400: PROBLEMS.query400, 405: PROBLEMS[405] },
        },
      },
      '/docs': {
        get: { operationId: 'docs', summary: 'Interactive documentation of this document (works offline)', responses: { 200: { description: 'An HTML page', content: { 'text/html': { schema: { type: 'string' } } } }, 400: PROBLEMS.query400, 405: PROBLEMS[405] } },
      },
      '/docs/': {
        get: {
          operationId: 'docsWithSlash',
          summary: 'Redirects to /docs',
          responses: { 301: { description: 'Moved Permanently (Location: /docs)', headers: { Location: { schema: { type: 'string', const: '/docs' } } } }, 400: PROBLEMS.query400, 405: PROBLEMS[405] },
        },
      },
    }),
    components: {
      schemas: components,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'Only when the server sets API_TOKEN: then writes need it, and reads too with API_TOKEN_READS=true.' },
      },
    },
  };
}
