// A throwaway Mosquitto from the machine's binary (Debian's `mosquitto` package), for
// `npm run bench:ingest`: a free loopback port, a temporary config, no persistence. The test
// suite's broker (tests/support/mosquitto-broker.ts) adds persistence and restarts on top of
// findMosquitto and accepting.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port';

export interface ThrowawayBroker {
  /** mqtt://127.0.0.1:<port> */
  readonly url: string;
  stop(): Promise<void>;
}

export function findMosquitto(): string | undefined {
  return process.env.MOSQUITTO_BIN ?? ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto'].find((path) => existsSync(path));
}

/**
 * Starts Mosquitto with what a benchmark needs on top of the defaults: no cap on the QoS 1
 * messages queued for a subscriber that lags (the default, 1000, would drop the rest of a
 * burst) and `maxInflight` QoS 1 messages in flight to each MQTT 3.1.1 client (the default
 * is 20; MQTT 5 clients set their own receive maximum).
 */
export async function startMosquitto({ maxInflight = 1000 } = {}): Promise<ThrowawayBroker> {
  const binary = findMosquitto();
  if (!binary) throw new Error('no mosquitto binary (install the Debian package `mosquitto`, or set MOSQUITTO_BIN)');
  const directory = mkdtempSync(join(tmpdir(), 'sensor-alerts-mosquitto-'));
  const logFile = join(directory, 'mosquitto.log');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    writeFileSync(
      join(directory, 'mosquitto.conf'),
      [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous true',
        // As root it would switch to a `mosquitto` user; stay whoever runs the benchmark.
        `user ${userInfo().username}`,
        `log_dest file ${logFile}`,
        'log_type error',
        'log_type warning',
        'max_queued_messages 0',
        `max_inflight_messages ${maxInflight}`,
        '',
      ].join('\n'),
    );
    const child = spawn(binary, ['-c', join(directory, 'mosquitto.conf')], { stdio: 'ignore' });
    if (await accepting(port, child)) {
      return {
        url: `mqtt://127.0.0.1:${port}`,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) {
            const exited = once(child, 'exit');
            child.kill('SIGTERM');
            await exited;
          }
          rmSync(directory, { recursive: true, force: true });
        },
      };
    }
    child.kill('SIGKILL');
    // Another process may have taken the port between freePort() and the bind: try another.
    if (attempt === 5) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim() : '';
      rmSync(directory, { recursive: true, force: true });
      throw new Error(`mosquitto did not start: ${log}`);
    }
  }
}

/**
 * Whether our child accepts TCP connections on `port` within 10 s (false as soon as it exits).
 * The port may answer before our child bound it (another process): only our live child counts.
 */
export async function accepting(port: number, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok && child.exitCode === null) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}
