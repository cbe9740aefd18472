import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../scripts/free-port';
import { accepting, findMosquitto } from '../../scripts/mosquitto-broker';

// How the MQTT half of the suite gets a broker: each test file starts its own Mosquitto
// (Debian's `mosquitto` package, /usr/sbin/mosquitto or MOSQUITTO_BIN) on a free loopback
// port with a temporary config and persistence directory. Without the binary the tests are
// skipped with a warning; REQUIRE_MOSQUITTO=1 (as in CI) makes that a failure instead.

const BINARY = findMosquitto();

/** Why there is no broker to test against, or undefined when there is. Synchronous: describe blocks need it. */
export function mosquittoUnavailable(): string | undefined {
  const reason =
    BINARY === undefined
      ? 'no mosquitto binary (install the Debian package `mosquitto`, or set MOSQUITTO_BIN)'
      : spawnSync(BINARY, ['-h']).error?.message;
  if (reason !== undefined && process.env.REQUIRE_MOSQUITTO === '1') throw new Error(`REQUIRE_MOSQUITTO=1 but Mosquitto is unavailable: ${reason}`);
  return reason;
}

/** `describe`, or `describe.skip` with a visible warning when there is no Mosquitto. */
export function describeWithMosquitto(name: string, body: () => void): void {
  const reason = mosquittoUnavailable();
  if (reason !== undefined) {
    console.warn(`SKIPPED "${name}": ${reason}`);
    describe.skip(name, body);
    return;
  }
  describe(name, body);
}

export interface MosquittoBroker {
  /** mqtt://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /**
   * Stops it (SIGTERM: the persistence file is written) and starts it again on the same port and
   * directory; with `forgetSessions`, the persistence file is deleted in between (a broker that lost its state).
   */
  restart(options?: { forgetSessions?: boolean }): Promise<void>;
  /** Stops it, keeping its directory (start() brings it back). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** The broker's log so far (all restarts). */
  log(): string;
  /** Stops it and removes its directory. */
  dispose(): Promise<void>;
}

/**
 * Starts a Mosquitto on a free 127.0.0.1 port. Persistence is on (in the temporary
 * directory), so persistent sessions and their queued QoS 1 messages survive restart().
 */
export async function startMosquitto(): Promise<MosquittoBroker> {
  if (BINARY === undefined) throw new Error(mosquittoUnavailable() ?? 'no mosquitto');
  const dir = mkdtempSync(join(tmpdir(), 'sensor-alerts-mosquitto-'));
  const logFile = join(dir, 'mosquitto.log');
  let port = 0;
  let child: ChildProcess | undefined;

  const writeConfig = () =>
    writeFileSync(
      join(dir, 'mosquitto.conf'),
      [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous true',
        'persistence true',
        `persistence_location ${dir}/`,
        // Run as whoever runs the tests (as root it would switch to a `mosquitto` user that cannot write here).
        `user ${userInfo().username}`,
        `log_dest file ${logFile}`,
        'log_type error',
        'log_type warning',
        'log_type notice',
        'log_type information',
        'connection_messages true',
        // Room for the tests' bursts while a session is offline (the default, 1000, drops beyond).
        'max_queued_messages 100000',
        '',
      ].join('\n'),
    );

  const launch = async (): Promise<boolean> => {
    writeConfig();
    const started = spawn(BINARY, ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
    if (await accepting(port, started)) {
      child = started;
      return true;
    }
    started.kill('SIGKILL');
    return false;
  };

  const stop = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = once(running, 'exit');
    running.kill('SIGTERM');
    const timer = setTimeout(() => running.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  // Again on the same port: the service under test reconnects to the URL it was given.
  const start = async (): Promise<void> => {
    if (child) return;
    if (!(await launch())) throw new Error(`mosquitto did not start again on port ${port}: ${readLog(logFile)}`);
  };

  // Another process may take the port between freePort() and the bind: try another one, a few times.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    if (await launch()) break;
    if (attempt === 5) throw new Error(`mosquitto did not start on port ${port}: ${readLog(logFile)}`);
  }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    restart: async (options) => {
      await stop();
      if (options?.forgetSessions) rmSync(join(dir, 'mosquitto.db'), { force: true });
      await start();
    },
    stop,
    start,
    log: () => readLog(logFile),
    dispose: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
