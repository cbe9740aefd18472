import type { Request, RequestHandler } from 'express';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type pino from 'pino';
import type { ServiceMetrics } from '../../infrastructure/metrics/service-metrics';
import { redactedUrl } from './redacted-url';

declare module 'node:http' {
  interface IncomingMessage {
    /** This request's id: the client's X-Request-Id when plain, else a fresh UUID. */
    id: string;
  }
}

// A client's id is kept when it is short and plain; anything else is replaced, not echoed.
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The route template (`/:sensor_id/predict`), never the raw path: label values stay bounded. */
export function routeOf(req: IncomingMessage): string {
  const route = (req as Request).route as { path?: unknown } | undefined;
  return typeof route?.path === 'string' ? route.path : 'unmatched';
}

/**
 * The request id (taken from X-Request-Id or generated, echoed back), one JSON log line per
 * request (id, method, url, route, status, duration; never bodies) and the HTTP metrics
 * (counts, latency, in-flight, body sizes by route template and status class).
 *
 * One middleware and one listener, written by hand: this runs on every request, and
 * pino-http (a child logger and serializers per request) took a fifth of a predict's CPU time.
 */
export function observeRequests(logger: pino.Logger, metrics: ServiceMetrics): RequestHandler {
  return (req, res, next) => {
    const startedAt = process.hrtime.bigint();
    const incoming = req.headers['x-request-id'];
    req.id = typeof incoming === 'string' && CLIENT_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', req.id);
    metrics.requestStarted();

    // 'close' follows 'finish' on a completed response and also comes alone when the client
    // goes away first, so this one listener sees every request exactly once (and, as it comes
    // once, `on` does: `once` would wrap and then remove the listener on every request).
    res.on('close', () => {
      const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
      const route = routeOf(req);
      const status = res.statusCode;
      metrics.requestEnded();
      const labels = { method: req.method, route, status_class: `${Math.floor(status / 100)}xx` };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, seconds);
      const requestBytes = Number(req.headers['content-length']);
      if (requestBytes > 0) metrics.httpRequestBytes.observe({ route }, requestBytes);
      const responseBytes = Number(res.getHeader('content-length'));
      if (responseBytes > 0) metrics.httpResponseBytes.observe({ route }, responseBytes);

      const line = { req: { id: req.id, method: req.method, url: redactedUrl(req.originalUrl) }, res: { status }, route, responseTime: seconds * 1000 };
      // Hung up before the request was whole or the answer sent: whatever status was set, no one got it.
      if (!req.complete || !res.writableFinished) logger.warn(line, 'request aborted');
      else if (status >= 500) logger.error(line, 'request failed');
      else logger.info(line, 'request completed');
    });
    next();
  };
}
