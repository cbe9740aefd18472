import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type pino from 'pino';
import type { DependencyContainer } from 'tsyringe';
import { PinoLogger } from '../../infrastructure/logging/pino-logger';
import { ServiceMetrics } from '../../infrastructure/metrics/service-metrics';

/** The code http-server.ts gives a CONNECT request: this server is no proxy. */
export const CONNECT_REFUSED = 'CONNECT_REFUSED';

/** What Node's HTTP parser refused, and what we answer (the statuses Node's own handler would send). */
function statusOf(code: string | undefined): number {
  switch (code) {
    case CONNECT_REFUSED:
      return 501;
    case 'HPE_HEADER_OVERFLOW':
      return 431;
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return 413;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 408;
    default:
      return 400;
  }
}

const DETAILS = new Map<number, string>([
  [400, 'The request is not valid HTTP/1.1.'],
  [408, 'The request did not arrive in time (REQUEST_TIMEOUT_MS; headers within 10 s).'],
  [413, 'The chunk extensions of the body are too large.'],
  [431, 'The request headers are larger than 16 KB.'],
  [501, 'CONNECT is not supported: this server is not a proxy.'],
]);

// A client that does not read even this small answer loses its socket after this long.
const FAREWELL_MS = 1000;

export type ClientErrorHandler = (error: Error & { code?: string }, socket: Duplex, inFlight: ServerResponse | undefined) => void;

/**
 * Answers what Node's HTTP parser refuses (malformed request, headers too large, request too
 * slow) like any other error: problem+json with a request id, logged with the status sent,
 * counted. Node's own answers were plain text, unlogged and uncounted. `inFlight` is the
 * response of a request already handed to the app (a body too slow): it is answered through
 * that response, so its own log line and metrics say the status sent.
 */
export function answerClientErrors(container: DependencyContainer): ClientErrorHandler {
  return answerClientErrorsWith(container.resolve(PinoLogger).pino, container.resolve(ServiceMetrics));
}

function answerClientErrorsWith(logger: pino.Logger, metrics: ServiceMetrics): ClientErrorHandler {
  const answer: ClientErrorHandler = (error, socket, inFlight) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    // A request read whole is still being answered (pipelined requests): the refused bytes
    // are the next request's. Its answer goes first, then ours; answering in its place told
    // the client that a write it went on to apply had failed.
    if (inFlight?.req.complete) {
      inFlight.once('finish', () => answer(error, socket, undefined));
      inFlight.once('close', () => inFlight.writableFinished || socket.destroy());
      return;
    }
    // Already answering that request: nothing more to say, as Node's own handler does.
    if (inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const status = statusOf(error.code);
    const requestId = inFlight?.req.id ?? randomUUID();
    const body = JSON.stringify({ type: 'about:blank', title: STATUS_CODES[status], status, detail: DETAILS.get(status), request_id: requestId });
    const headers = {
      'Content-Type': 'application/problem+json; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      'X-Request-Id': requestId,
      'X-Content-Type-Options': 'nosniff',
      Connection: 'close',
    };
    setTimeout(() => socket.destroy(), FAREWELL_MS).unref();
    if (inFlight) {
      inFlight.writeHead(status, headers).end(body);
      return;
    }
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${Object.entries(headers).map(([name, value]) => `${name}: ${value}`).join('\r\n')}\r\n\r\n${body}`);
    const method = error.code === CONNECT_REFUSED ? 'CONNECT' : 'unknown';
    const labels = { method, route: 'unmatched', status_class: `${Math.floor(status / 100)}xx` };
    metrics.httpRequests.inc(labels);
    const msg = error.code === CONNECT_REFUSED ? 'CONNECT refused' : 'request refused by the HTTP parser';
    logger.info({ req: { id: requestId, ...(method === 'CONNECT' && { method }) }, res: { status }, route: 'unmatched', error: error.code ?? error.message }, msg);
  };
  return answer;
}
