// A throwaway PostgreSQL server from the machine's binaries (Debian's postgresql package),
// for the test suite and for `npm run bench:api -- --postgres`.
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port';

const run = promisify(execFile);

export interface PostgresCluster {
  /** A superuser URL on the cluster's `postgres` database. */
  readonly url: string;
  /** Stops the server but keeps its data, as an outage would; `resume` starts it again on the same port. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Stops the server for good and deletes its data. */
  stop(): Promise<void>;
  /** For process exit handlers, where nothing asynchronous runs. */
  stopNow(): void;
}

/** The directory holding initdb and pg_ctl: Debian's newest /usr/lib/postgresql/N/bin, or the PATH. */
export function findPostgresBinaries(): string | undefined {
  const debian = '/usr/lib/postgresql';
  const versions = existsSync(debian) ? readdirSync(debian).filter((entry) => /^\d+$/.test(entry)).sort((a, b) => Number(b) - Number(a)) : [];
  const candidates = [...versions.map((version) => join(debian, version, 'bin')), ...(process.env.PATH ?? '').split(delimiter)];
  return candidates.find((directory) => directory && existsSync(join(directory, 'initdb')) && existsSync(join(directory, 'pg_ctl')));
}

/**
 * Starts a throwaway cluster on a temporary directory and a free loopback port. fsync is
 * off unless `durable` (the data dies with the run; benchmarks ask for real commits).
 * initdb refuses root, so as root it runs as the `postgres` system user the Debian
 * package creates.
 */
export async function startPostgresCluster({ durable = false } = {}): Promise<PostgresCluster> {
  const binaries = findPostgresBinaries();
  if (!binaries) throw new Error('no PostgreSQL binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin or on the PATH');
  const asUser = systemUser();
  const directory = mkdtempSync(join(tmpdir(), 'sensor-alerts-pg-'));
  const dataDir = join(directory, 'data');
  const logFile = join(directory, 'server.log');
  const command = (tool: string, args: string[]): [string, string[]] =>
    asUser ? ['runuser', ['-u', asUser.name, '--', join(binaries, tool), ...args]] : [join(binaries, tool), args];
  const cleanUp = () => rmSync(directory, { recursive: true, force: true });
  try {
    if (asUser) chownSync(directory, asUser.uid, asUser.gid);
    chmodSync(directory, 0o700);
    await run(...command('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', ...(durable ? [] : ['--no-sync'])]));
    const port = await freePort();
    const settings = [
      `-p ${port}`,
      '-c listen_addresses=127.0.0.1',
      `-k ${directory}`,
      '-c max_connections=200',
      ...(durable ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
    ].join(' ');
    const start = () =>
      run(...command('pg_ctl', ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', settings])).then(
        () => undefined,
        (error: Error) => {
          const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join(' | ') : '';
          throw new Error(`pg_ctl start failed: ${error.message.trim()} ${log}`);
        },
      );
    await start();
    const stopArgs = ['stop', '-D', dataDir, '-m', 'immediate', '-w'];
    let stopped = false;
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      // fast: the server ends every session with 57P01, as an operator's restart would.
      pause: async () => void (await run(...command('pg_ctl', ['stop', '-D', dataDir, '-m', 'fast', '-w']))),
      resume: start,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await run(...command('pg_ctl', stopArgs)).catch(() => undefined);
        cleanUp();
      },
      stopNow: () => {
        if (stopped) return;
        stopped = true;
        try {
          execFileSync(...command('pg_ctl', stopArgs), { stdio: 'ignore' });
        } catch {
          // already gone
        }
        cleanUp();
      },
    };
  } catch (error) {
    cleanUp();
    throw error;
  }
}

function systemUser(): { name: string; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  if (!line) throw new Error('running as root, and there is no postgres system user to run initdb as');
  const [, , uid, gid] = line.split(':');
  return { name: 'postgres', uid: Number(uid), gid: Number(gid) };
}
