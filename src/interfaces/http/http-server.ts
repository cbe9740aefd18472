import type { Express } from 'express';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RunningServer {
  readonly url: string;
  /** Stops accepting, lets in-flight requests finish (cut after `graceMs`), then resolves. */
  close(graceMs: number): Promise<void>;
}

export interface ServerLimits {
  /** Whole request, headers and body; a slower client gets 408 and loses its socket. */
  readonly requestTimeoutMs: number;
}

// Headers are small: a client still sending them after this is stalling.
const HEADERS_TIMEOUT_MS = 10_000;
const MAX_HEADER_BYTES = 16 * 1024;

export async function startHttpServer(app: Express, port: number, host: string, limits: ServerLimits): Promise<RunningServer> {
  const server: Server = createServer(
    {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: Math.min(HEADERS_TIMEOUT_MS, limits.requestTimeoutMs),
      maxHeaderSize: MAX_HEADER_BYTES,
      // How often Node checks those deadlines (its default, 30 s, would let them slip).
      connectionsCheckingInterval: Math.min(1000, limits.requestTimeoutMs),
    },
    app,
  );
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
