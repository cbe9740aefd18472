import type { Express } from 'express';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RunningServer {
  readonly url: string;
  /** Stops accepting, lets in-flight requests finish (cut after `graceMs`), then resolves. */
  close(graceMs: number): Promise<void>;
}

export async function startHttpServer(app: Express, port: number, host: string): Promise<RunningServer> {
  const server: Server = app.listen(port, host);
  await once(server, 'listening');
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
