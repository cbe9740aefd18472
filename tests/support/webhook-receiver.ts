import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** How the receiver answers one request: a status (with headers), or `hold` (never, until release()). */
export type Answer = { status: number; headers?: Record<string, string> } | 'hold';

/**
 * A real HTTP server on 127.0.0.1 standing in for a webhook receiver: records every request
 * and answers each with the next scripted answer (200 once the script runs out).
 */
export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];
  private readonly script: Answer[] = [];
  private readonly held: ServerResponse[] = [];
  private server: Server | undefined;

  /** Where it listens: the port asked for, or the free one the system picked. */
  port = 0;

  private constructor() {}

  /** Listens on `port` (0: a free one the system picks). */
  static async start(port = 0): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver();
    await receiver.listen(port);
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The next requests get these answers, in order. */
  answer(...answers: Answer[]): this {
    this.script.push(...answers);
    return this;
  }

  /** Answers every held request with `status`. */
  release(status = 200): void {
    for (const response of this.held.splice(0)) response.writeHead(status).end();
  }

  get heldCount(): number {
    return this.held.length;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const response of this.held.splice(0)) response.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async listen(port: number): Promise<void> {
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
        const answer = this.script.shift() ?? { status: 200 };
        if (answer === 'hold') this.held.push(response);
        else response.writeHead(answer.status, answer.headers).end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }
}

/** Polls `condition` every 5 ms until it holds; fails after `timeoutMs` saying what it waited for. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
