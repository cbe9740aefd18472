import { once } from 'node:events';
import { connect, type Socket } from 'node:net';

export interface RawExchange {
  readonly socket: Socket;
  /** Everything received so far. */
  readonly received: () => string;
  /** Resolves when the server has closed the connection (its FIN or a reset), or false after `timeoutMs`. */
  closedWithin(timeoutMs: number): Promise<boolean>;
  /** Resolves once the received text matches `pattern`, or rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<string>;
}

/** Opens a TCP connection to `url` and writes `head` as is: for what HTTP clients refuse to send. */
export async function rawRequest(url: string, head: string | Buffer): Promise<RawExchange> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await once(socket, 'connect');
  let text = '';
  let closed = false;
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => undefined); // a reset is a close, for these tests
  const ended = new Promise<void>((resolve) => {
    socket.on('end', resolve);
    socket.on('close', resolve);
  }).then(() => (closed = true));
  socket.write(head);
  return {
    socket,
    received: () => text,
    closedWithin: async (timeoutMs) => {
      let timer: NodeJS.Timeout | undefined;
      const result = await Promise.race([ended.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(closed), timeoutMs)))]);
      clearTimeout(timer);
      return result;
    },
    waitFor: async (pattern, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(text)) {
        if (Date.now() > deadline) throw new Error(`no ${String(pattern)} within ${timeoutMs} ms; received: ${JSON.stringify(text.slice(0, 500))}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return text;
    },
  };
}

/** The JSON body of a raw HTTP/1.1 answer without chunked encoding. */
export function bodyOf(answer: string): unknown {
  return JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
}
