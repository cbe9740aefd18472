import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface TcpRelay {
  /** The URL of the relayed database: `url` with the relay's port. */
  readonly url: string;
  /** From now on bytes go in and nothing comes out, and nothing is closed: a hung network. */
  silence(): void;
  /**
   * Once a connection sends bytes holding `marker` (a statement's text), every answer of the
   * server on that connection is lost, that statement's first: it reaches the server, its
   * answer never returns. Other connections are relayed as usual.
   */
  loseAnswersFrom(marker: string): void;
  /** Once a connection sends bytes holding `marker`, the relay goes silent as with silence(), for every connection; that one's bytes still reach the server. */
  silenceFrom(marker: string): void;
  /** Relays both ways again (bytes dropped meanwhile stay lost). */
  restore(): void;
  close(): void;
}

/** A relay on 127.0.0.1:`port` (0: any free one) to the server of `url`, for network faults. */
export async function startTcpRelay(url: string, port = 0): Promise<TcpRelay> {
  const target = new URL(url);
  let lostUpstream = false; // client to server
  let lostDownstream = false; // server to client
  let marker: string | undefined;
  let silenceMarker: string | undefined;
  const sockets: Socket[] = [];
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.push(client, upstream);
    let markerSeen = false;
    client.on('data', (chunk: Buffer) => {
      const text = chunk.toString('latin1');
      if (marker !== undefined && text.includes(marker)) markerSeen = true;
      if (silenceMarker !== undefined && text.includes(silenceMarker)) {
        upstream.write(chunk); // this statement reaches the server; nothing after it does
        lostUpstream = true;
        lostDownstream = true;
      }
    });
    for (const [from, to, lost] of [[client, upstream, () => lostUpstream], [upstream, client, () => lostDownstream || markerSeen]] as const) {
      from.on('data', (chunk: Buffer) => void (lost() || to.write(chunk)));
      from.on('end', () => to.end());
      from.on('error', () => to.destroy());
    }
  }).listen(port, '127.0.0.1');
  await once(server, 'listening');
  const relayed = new URL(url);
  relayed.port = String((server.address() as AddressInfo).port);
  return {
    url: relayed.toString(),
    silence: () => {
      lostUpstream = true;
      lostDownstream = true;
    },
    loseAnswersFrom: (text) => void (marker = text),
    silenceFrom: (text) => void (silenceMarker = text),
    restore: () => {
      lostUpstream = false;
      lostDownstream = false;
      marker = undefined;
      silenceMarker = undefined;
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}
