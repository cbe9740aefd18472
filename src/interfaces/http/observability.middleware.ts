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

/** res.locals key: set on an answer the app gives on purpose (an HttpProblem), so a 5xx among them is not logged as a failure. */
export const EXPECTED_ANSWER = 'expectedAnswer';

const LOGGED_HEADERS = ['content-type', 'content-length', 'user-agent'] as const;
// A header may be kilobytes long: its start is enough for a log line.
const LOGGED_HEADER_CHARACTERS = 200;

function pickHeaders(req: IncomingMessage): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of LOGGED_HEADERS) {
    const value = req.headers[name];
    if (typeof value === 'string') picked[name] = value.length <= LOGGED_HEADER_CHARACTERS ? value : `${value.slice(0, LOGGED_HEADER_CHARACTERS)}…(${value.length} characters)`;
  }
  return picked;
}

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
  const debug = logger.isLevelEnabled('debug');
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
      // At debug, what the client sent besides the body (never the body, never credentials).
      if (debug) Object.assign(line.req, { headers: pickHeaders(req) });
      // The client hung up before its request was whole, or the answer did not go out: whatever
      // status was set, no one got it. (A request whose body was not read because the answer
      // came first, a 401 or 415, is not whole either, but it was answered: completed.)
      // (`aborted` is Node's one sign that the client, not the server, cut the request short.)
      if (!res.writableFinished || (req as { aborted?: boolean }).aborted === true) {
        // Node's statusCode is 200 until something is set: no status went out unless headers did.
        logger.warn({ ...line, res: { status: res.headersSent ? status : null } }, 'request aborted');
      }
      // Answers we chose to give (503 from /ready while stopping) are not failures.
      else if (status >= 500 && res.locals[EXPECTED_ANSWER] !== true) logger[status === 500 ? 'error' : 'warn'](line, 'request failed');
      else logger.info(line, 'request completed');
    });
    next();
  };
}
