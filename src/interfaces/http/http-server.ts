import type { Express } from 'express';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { CONNECT_REFUSED, type ClientErrorHandler } from './client-error.handler';
import { AWAITS_CONTINUE, saysConnectionClose } from './http-guards.middleware';

export interface RunningServer {
  readonly url: string;
  /** Stops accepting, lets in-flight requests finish (cut after `graceMs`), then resolves. */
  close(graceMs: number): Promise<void>;
}

export interface ServerLimits {
  /** Whole request, headers and body; a slower client gets 408 and loses its socket. */
  readonly requestTimeoutMs: number;
  /** An answer that makes no progress for this long (its client does not read) is abandoned, its socket closed. */
  readonly responseTimeoutMs: number;
}

// Headers are small: a client still sending them after this is stalling.
const HEADERS_TIMEOUT_MS = 10_000;
const MAX_HEADER_BYTES = 16 * 1024;

/** `onClientError` answers what Node's HTTP parser refuses; without it, Node answers in plain text. */
export async function startHttpServer(app: Express, port: number, host: string, limits: ServerLimits, onClientError?: ClientErrorHandler): Promise<RunningServer> {
  const server: Server = createServer(
    {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: Math.min(HEADERS_TIMEOUT_MS, limits.requestTimeoutMs),
      maxHeaderSize: MAX_HEADER_BYTES,
      // How often Node checks those deadlines (its default, 30 s, would let them slip).
      connectionsCheckingInterval: Math.min(1000, limits.requestTimeoutMs),
      // An HTTP/1.1 request without Host reaches the app, which refuses it as problem+json
      // (http-guards.middleware.ts); Node's own 400 was a bare status line, unlogged.
      requireHostHeader: false,
    },
    app,
  );
  // The response in progress on each socket, for the client-error handler.
  const inFlight = new WeakMap<Socket, ServerResponse>();
  server.on('request', (req, res) => {
    inFlight.set(req.socket, res);
    // The socket's timer runs while the app works too: only a response with bytes the client
    // has not taken (Node suppresses the timeout while they drain) is abandoned.
    res.setTimeout(limits.responseTimeoutMs, () => {
      if (res.socket && res.socket.writableLength > 0) res.socket.destroy();
    });
  });
  // Expect: 100-continue: Node would send "100 Continue" at once, inviting the body of a
  // request the app then refuses (401, 413, 415); the route sends it when it reads the body.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    (req as IncomingMessage & { [AWAITS_CONTINUE]?: boolean })[AWAITS_CONTINUE] = true;
    server.emit('request', req, res);
  });
  // An Expect other than 100-continue: the app answers it (417, problem+json, logged) instead
  // of Node's bare 417.
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => server.emit('request', req, res));
  if (onClientError) {
    server.on('clientError', (error: Error & { code?: string }, socket: Socket) => {
      const response = inFlight.get(socket);
      // The app already answered with Connection: close (a request whose body it will not
      // read, say): what the parser finds after it is not a request anyone will get an answer to.
      if (response && saysConnectionClose(response)) return;
      onClientError(error, socket, response && !response.writableEnded ? response : undefined);
    });
    // CONNECT never reaches the app (Node hands over the socket): without this, Node just closed it.
    server.on('connect', (_req: IncomingMessage, socket: Socket) => {
      const response = inFlight.get(socket);
      onClientError(Object.assign(new Error('CONNECT'), { code: CONNECT_REFUSED }), socket, response && !response.writableEnded ? response : undefined);
    });
  }
  server.listen(port, host);
  try {
    await once(server, 'listening');
  } catch (error) {
    // Name the settings to change: Node's own message (EADDRINUSE, ENOTFOUND, EACCES) names neither.
    throw new Error(`cannot listen on HOST=${JSON.stringify(host)} PORT=${port}: ${(error as Error).message}`, { cause: error });
  }
  const { address, port: boundPort } = server.address() as AddressInfo;
  const urlHost = address.includes(':') ? `[${address}]` : address;

  return {
    url: `http://${urlHost}:${boundPort}`,
    close: (graceMs) =>
      new Promise<void>((resolve, reject) => {
        // close() also drops idle keep-alive sockets; busy ones close after their response.
        server.close((error) => (error ? reject(error) : resolve()));
        const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
        deadline.unref();
      }),
  };
}
