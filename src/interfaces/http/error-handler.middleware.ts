import type { ErrorRequestHandler } from 'express';
import type { Logger } from '../../application/ports/logger';
import { StorageUnavailableError } from '../../application/storage-unavailable.error';
import type { ServiceMetrics } from '../../infrastructure/metrics/service-metrics';
import { type DomainError, InsufficientReadingsError, InvalidMetricNameError, InvalidSensorIdError, RevisionNotFoundError, SensorNotFoundError, UnrepresentableWeightsError } from '../../domain/domain-errors';
import { HttpProblem, problemType, type FieldError, type ProblemDetails } from './http-problem';
import { hasBody, INVALID_UTF8 } from './http-guards.middleware';
import { EXPECTED_ANSWER, routeOf } from './observability.middleware';
import { redactedUrl } from './redacted-url';

interface DomainProblem {
  readonly status: number;
  readonly slug: string;
  readonly title: string;
  readonly field?: Omit<FieldError, 'detail'>;
}

/** The one place where a domain rule becomes an HTTP status. */
const DOMAIN_PROBLEMS: ReadonlyArray<readonly [abstract new (...args: never[]) => DomainError, DomainProblem]> = [
  [InvalidSensorIdError, { status: 400, slug: 'invalid-sensor-id', title: 'Invalid sensor id', field: { parameter: 'sensor_id' } }],
  [InvalidMetricNameError, { status: 400, slug: 'invalid-metric-name', title: 'Invalid metric name', field: { parameter: 'metric' } }],
  [SensorNotFoundError, { status: 404, slug: 'sensor-not-found', title: 'Sensor not found' }],
  [RevisionNotFoundError, { status: 404, slug: 'revision-not-found', title: 'Version not found', field: { pointer: '#/version' } }],
  [InsufficientReadingsError, { status: 422, slug: 'insufficient-readings', title: 'Not enough readings', field: { pointer: '#/values' } }],
  [UnrepresentableWeightsError, { status: 422, slug: 'unrepresentable-weights', title: 'Weights out of range' }],
];

const INTERNAL_ERROR: ProblemDetails = {
  type: 'about:blank',
  title: 'Internal Server Error',
  status: 500,
  detail: 'The server failed to handle this request; the failure has been logged.',
};

/**
 * Answers every failure as problem+json carrying the request id; logs server faults with
 * their cause, counts refused input, and never sends a stack or a path.
 */
export function errorHandler(logger: Logger, metrics: ServiceMetrics): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const problem = toProblem(undecodableSensorId(error, req.path) ?? error);
    const context = { requestId: req.id, method: req.method, url: redactedUrl(req.originalUrl) };
    if (error instanceof HttpProblem) {
      res.locals[EXPECTED_ANSWER] = !error.failure; // an answer given on purpose, such as /ready's 503 while stopping
    } else if (error instanceof StorageUnavailableError) {
      // Expected from time to time (a lock held too long, a database restarting): no stack.
      logger.warn('storage unavailable', { ...context, error: error.message });
    } else if (problem.status >= 500) {
      logger.error('request failed', { ...context, error: describe(error) });
    }
    // Why a request was refused, for whoever debugs a client.
    // (Not the detail of a query refusal: it names the parameters, and a name may be a secret, `?<token>`.)
    if (problem.status < 500) {
      const detail = problem.type === problemType('invalid-parameter') ? undefined : problem.detail;
      logger.debug('request refused', { ...context, status: problem.status, type: problem.type, ...(detail !== undefined && { detail }) });
    }
    // A client may retry a 503 soon; say so, unless retrying cannot help (the file was deleted).
    if (problem.status === 503 && !(error instanceof StorageUnavailableError && !error.retryable)) res.set('Retry-After', '1');
    if (problem.status === 400 || problem.status === 422) metrics.validationFailures.inc({ route: routeOf(req) });
    // An error answered before the body was read (401, 413, 415...) closes the connection
    // instead of reading and discarding whatever the client still sends.
    if (hasBody(req) && !req.complete) res.set('Connection', 'close');
    if (res.headersSent) {
      // Too late for a status line: cut the connection so the client sees a failure, not a truncated success.
      req.socket.destroy();
      return;
    }
    res.status(problem.status).type('application/problem+json').json({ ...problem, request_id: req.id });
  };
}

/**
 * The router fails to percent-decode a path parameter (`/%FF%FE/weights`) with a URIError;
 * every parameter of our routes is the leading sensor id, so that is an invalid sensor id.
 */
function undecodableSensorId(error: unknown, path: string): InvalidSensorIdError | undefined {
  return error instanceof URIError ? new InvalidSensorIdError(path.split('/')[1] ?? '') : undefined;
}

/** The answer for a failure: the domain table, the storage, the middleware, else a 500 that says nothing. */
export function toProblem(error: unknown): ProblemDetails {
  if (error instanceof HttpProblem) return error.problem;
  for (const [errorClass, known] of DOMAIN_PROBLEMS) {
    if (error instanceof errorClass) {
      const { message } = error;
      return {
        type: problemType(known.slug),
        title: known.title,
        status: known.status,
        detail: message,
        ...(known.field && { errors: [{ ...known.field, detail: message }] }),
      };
    }
  }
  if (error instanceof StorageUnavailableError) {
    return { type: problemType('storage-unavailable'), title: 'Storage unavailable', status: 503, detail: error.message };
  }
  return clientErrorFromMiddleware(error) ?? INTERNAL_ERROR;
}

const MAX_MIDDLEWARE_DETAIL = 200;

/** body-parser and the router flag client faults with a 4xx `status`; their messages are safe to show. */
function clientErrorFromMiddleware(error: unknown): ProblemDetails | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { status, type, message, limit, length } = error as {
    status?: unknown;
    type?: unknown;
    message?: unknown;
    limit?: unknown;
    length?: unknown;
  };
  if (typeof status !== 'number' || status < 400 || status > 499) return undefined;
  if (type === INVALID_UTF8) {
    return { type: problemType('malformed-json'), title: 'Malformed JSON', status: 400, detail: 'The body is not valid JSON: it is not valid UTF-8 (RFC 8259).' };
  }
  // Their messages may quote a header (`unsupported charset "…"`): a short prefix is enough.
  const detail = typeof message !== 'string' ? 'The request could not be processed.' : message.length > MAX_MIDDLEWARE_DETAIL ? `${message.slice(0, MAX_MIDDLEWARE_DETAIL)}…` : message;
  switch (status) {
    case 400:
      return type === 'entity.parse.failed'
        ? { type: problemType('malformed-json'), title: 'Malformed JSON', status, detail: `The body is not valid JSON: ${detail}` }
        : { type: 'about:blank', title: 'Bad Request', status, detail };
    case 413:
      return {
        type: 'about:blank',
        title: 'Content Too Large',
        status,
        // A chunked body's size is unknown: reading stopped at the limit.
        detail: `The request body${typeof length === 'number' ? ` (${length} bytes)` : ''} is larger than the ${String(limit)}-byte limit.`,
      };
    case 415:
      return { type: 'about:blank', title: 'Unsupported Media Type', status, detail };
    default:
      return { type: 'about:blank', title: 'Bad Request', status, detail };
  }
}

function describe(error: unknown): Record<string, unknown> {
  return error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : { value: String(error) };
}
