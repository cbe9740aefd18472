import type { Request, RequestHandler } from 'express';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { pinoHttp } from 'pino-http';
import type { PinoLogger } from '../../infrastructure/logging/pino-logger';
import type { ServiceMetrics } from '../../infrastructure/metrics/service-metrics';

// A client's id is kept when it is short and plain; anything else is replaced, not echoed.
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The route template (`/:sensor_id/predict`), never the raw path: label values stay bounded. */
export function routeOf(req: IncomingMessage): string {
  const route = (req as Request).route as { path?: unknown } | undefined;
  return typeof route?.path === 'string' ? route.path : 'unmatched';
}

/**
 * One JSON log line per request (request id, method, url, route, status, duration; never
 * bodies) and the request id: taken from X-Request-Id or generated, echoed back.
 */
export function requestLogging(logger: PinoLogger): RequestHandler {
  return pinoHttp({
    logger: logger.pino,
    genReqId: (req, res) => {
      const incoming = req.headers['x-request-id'];
      const id = typeof incoming === 'string' && CLIENT_REQUEST_ID.test(incoming) ? incoming : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    customProps: (req) => ({ route: routeOf(req) }),
    serializers: {
      req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
      res: (res: { statusCode: number }) => ({ status: res.statusCode }),
    },
    customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
    customSuccessMessage: () => 'request completed',
    customErrorMessage: () => 'request failed',
  });
}

/** Request counts, latency, in-flight requests and body sizes, by route template and status class. */
export function requestMetrics(metrics: ServiceMetrics): RequestHandler {
  return (req, res, next) => {
    const startedAt = process.hrtime.bigint();
    metrics.httpInFlight.inc();
    let recorded = false;
    const record = () => {
      if (recorded) return;
      recorded = true;
      metrics.httpInFlight.dec();
      const route = routeOf(req);
      const labels = { method: req.method, route, status_class: `${Math.floor(res.statusCode / 100)}xx` };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, Number(process.hrtime.bigint() - startedAt) / 1e9);
      const requestBytes = Number(req.headers['content-length']);
      if (requestBytes > 0) metrics.httpRequestBytes.observe({ route }, requestBytes);
      const responseBytes = Number(res.getHeader('content-length'));
      if (responseBytes > 0) metrics.httpResponseBytes.observe({ route }, responseBytes);
    };
    res.once('finish', record);
    res.once('close', record);
    next();
  };
}
