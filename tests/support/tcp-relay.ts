import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface TcpRelay {
  /** The URL of the relayed database: `url` with the relay's port. */
  readonly url: string;
  /** From now on bytes go in and nothing comes out, and nothing is closed: a hung network. */
  silence(): void;
  close(): void;
}

/** A relay on 127.0.0.1:`port` (0: any free one) to the server of `url`, for network faults. */
export async function startTcpRelay(url: string, port = 0): Promise<TcpRelay> {
  const target = new URL(url);
  let silent = false;
  const sockets: Socket[] = [];
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.push(client, upstream);
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      from.on('data', (chunk: Buffer) => void (silent || to.write(chunk)));
      from.on('end', () => to.end());
      from.on('error', () => to.destroy());
    }
  }).listen(port, '127.0.0.1');
  await once(server, 'listening');
  const relayed = new URL(url);
  relayed.port = String((server.address() as AddressInfo).port);
  return {
    url: relayed.toString(),
    silence: () => void (silent = true),
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}
