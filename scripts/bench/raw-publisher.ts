// The publisher of `npm run bench:ingest`: MQTT 3.1.1 PUBLISH packets (QoS 1) encoded ahead
// of time and written straight to the broker's socket, at most `inFlight` unacknowledged,
// so that publishing costs the benchmark's own process next to nothing and the broker and
// the subscriber under test set the pace. Only what that needs: CONNECT (clean session, no
// keep-alive), PUBLISH, PUBACK.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';

export interface OutgoingMessage {
  readonly topic: string;
  readonly payload: string;
}

export class RawPublisher {
  private pending: Buffer = Buffer.alloc(0);
  private onAck: () => void = () => undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.read(chunk));
  }

  static async connect(url: string, clientId: string): Promise<RawPublisher> {
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port || 1883), hostname);
    socket.setNoDelay(true);
    await once(socket, 'connect');
    const id = Buffer.from(clientId);
    // Protocol name MQTT, level 4 (3.1.1), flags: clean session; keep-alive 0 (none).
    const variable = Buffer.concat([Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 0]), u16(id.length), id]);
    socket.write(Buffer.concat([Buffer.from([0x10]), remainingLength(variable.length), variable]));
    const [connack] = (await once(socket, 'data')) as [Buffer];
    if (connack[0] !== 0x20 || connack[3] !== 0) throw new Error(`the broker refused the connection (CONNACK ${connack.toString('hex')})`);
    return new RawPublisher(socket);
  }

  /** Each message's PUBLISH packet (QoS 1, packet ids 1..65535 in turn). */
  static encode(messages: readonly OutgoingMessage[]): Buffer[] {
    return messages.map(({ topic, payload }, index) => {
      const topicBytes = Buffer.from(topic);
      const body = Buffer.concat([u16(topicBytes.length), topicBytes, u16((index % 65535) + 1), Buffer.from(payload)]);
      return Buffer.concat([Buffer.from([0x32]), remainingLength(body.length), body]);
    });
  }

  /** Writes the packets, keeping at most `inFlight` unacknowledged; resolves at the last PUBACK. */
  async publish(packets: readonly Buffer[], inFlight: number): Promise<void> {
    let next = 0;
    let acknowledged = 0;
    const window = Math.min(inFlight, 65535);
    await new Promise<void>((resolve) => {
      // Acknowledgements come in batches: refill the window with one write per batch.
      const refill = (): void => {
        const end = Math.min(packets.length, acknowledged + window);
        if (next < end) this.socket.write(Buffer.concat(packets.slice(next, end)));
        next = Math.max(next, end);
      };
      let scheduled = false;
      this.onAck = () => {
        if (++acknowledged === packets.length) {
          this.onAck = () => undefined;
          return resolve();
        }
        if (!scheduled) {
          scheduled = true;
          queueMicrotask(() => {
            scheduled = false;
            refill();
          });
        }
      };
      refill();
    });
  }

  /** Writes one packet and does not wait for its acknowledgement (paced publishing). */
  write(packet: Buffer): void {
    this.socket.write(packet);
  }

  async close(): Promise<void> {
    this.socket.end(Buffer.from([0xe0, 0])); // DISCONNECT
    if (!this.socket.closed) await once(this.socket, 'close');
  }

  private read(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let offset = 0;
    for (;;) {
      // Fixed header: type byte, then the remaining length (1-4 bytes, 7 bits each).
      let length = 0;
      let multiplier = 1;
      let cursor = offset + 1;
      let complete = false;
      while (cursor < this.pending.length) {
        const byte = this.pending[cursor++]!;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || cursor + length > this.pending.length) break;
      if (this.pending[offset]! >> 4 === 4) this.onAck(); // PUBACK
      offset = cursor + length;
    }
    this.pending = this.pending.subarray(offset);
  }
}

function u16(value: number): Buffer {
  const buffer = Buffer.alloc(2);
  buffer.writeUInt16BE(value);
  return buffer;
}

function remainingLength(length: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) byte |= 0x80;
    bytes.push(byte);
  } while (length > 0);
  return Buffer.from(bytes);
}
