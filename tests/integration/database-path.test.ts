import Database from 'better-sqlite3';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openWeightsStorage } from '../../src/weights-storage';
import { runCli } from '../support/cli';
import { makeTempDir } from '../support/test-app';
import { unprivilegedUser } from '../support/unprivileged-user';

const MAIN = join(__dirname, '../../dist/src/main.js');

/** The built server, as a supervisor starts it; killed (SIGKILL: a busy loop ignores SIGTERM) if it is still running after 15 s. */
function serve(env: NodeJS.ProcessEnv) {
  const startedAt = Date.now();
  const child = spawnSync(process.execPath, [MAIN], { env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', ...env }, encoding: 'utf8', timeout: 15_000, killSignal: 'SIGKILL' });
  return { status: child.status, stdout: child.stdout, stderr: child.stderr, seconds: (Date.now() - startedAt) / 1000 };
}

describe('a DB_PATH the server or a tool cannot use', () => {
  const directory = makeTempDir();
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('whose folder cannot be created (/proc/x) stops the start at once with one line naming the folder, instead of spinning', () => {
    const result = serve({ DB_PATH: '/proc/sensor-alerts-test/sensors.db' });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      "sensor-alerts: cannot open the weights database at /proc/sensor-alerts-test/sensors.db: cannot create the folder /proc/sensor-alerts-test for DB_PATH: ENOENT: no such file or directory, mkdir '/proc/sensor-alerts-test'\n",
    );
    expect(result.seconds).toBeLessThan(10);
  });

  it('under a regular file says that the parent is a file', () => {
    const file = join(directory, 'afile');
    writeFileSync(file, 'not a folder');
    const dbPath = join(file, 'deeper', 'sensors.db');
    const result = serve({ DB_PATH: dbPath });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`sensor-alerts: cannot open the weights database at ${dbPath}: ${file} is a file, not a folder (DB_PATH must be a file inside folders)\n`);
  });

  it('alerts (read only) refuses a missing file naming it, exit 1, and creates nothing', () => {
    const dbPath = join(directory, 'never-trained', 'sensors.db');
    expect(runCli('alerts', ['--value', '0.09'], dbPath)).toEqual({
      status: 1,
      stdout: '',
      stderr: `alerts: cannot open the weights database at ${dbPath}: no such file (DB_PATH names the database the trainer or the server wrote)\n`,
    });
    expect(existsSync(join(directory, 'never-trained'))).toBe(false);
  });

  it('alerts (read only) says why it cannot read a WAL database in a folder it may not write, and reads it while the -shm file exists', () => {
    const folder = join(directory, 'not-writable');
    mkdirSync(folder);
    const dbPath = join(folder, 'sensors.db');
    expect(runCli('train', [join(__dirname, '../../data/collects.csv')], dbPath).status).toBe(0);
    // The trainer's close checkpointed and removed -wal and -shm, as the service's does.
    expect(readdirSync(folder)).toEqual(['sensors.db']);
    chmodSync(directory, 0o755);
    chmodSync(folder, 0o555);
    const { uid, user } = unprivilegedUser();
    const alerts = () =>
      spawnSync(process.execPath, [join(__dirname, '../../dist/bin/alerts.js'), '--value', '0.09'], { env: { PATH: process.env.PATH, DB_PATH: dbPath }, encoding: 'utf8', ...user });
    const refused = alerts();
    expect({ status: refused.status, stdout: refused.stdout, stderr: refused.stderr }).toEqual({
      status: 1,
      stdout: '',
      stderr: `alerts: cannot open the weights database at ${dbPath}: SQLite must create ${dbPath}-shm to read this WAL database, and this process (uid ${uid}) may not write ${folder}: run as a user who may, or while the service runs on it (it keeps that file)\n`,
    });
    // With the -shm file there (a server running on the file keeps it), the same user reads.
    chmodSync(folder, 0o755);
    const reader = new Database(dbPath);
    reader.pragma('user_version'); // the first read makes -wal and -shm
    try {
      chmodSync(folder, 0o555);
      const read = alerts();
      expect({ status: read.status, stderr: read.stderr }).toEqual({ status: 0, stderr: '' });
      expect(read.stdout).toContain('MZU6388');
    } finally {
      chmodSync(folder, 0o755);
      reader.close();
    }
  });

  it.each([
    ['an empty file', Buffer.alloc(0)],
    ['a SQLite database another program wrote', undefined],
  ])('alerts (read only) refuses %s without writing a byte to it, exit 1', (_kind, bytes) => {
    const dbPath = join(directory, `not-ours-${bytes ? 'empty' : 'foreign'}.db`);
    if (bytes) writeFileSync(dbPath, bytes);
    else {
      const foreign = new Database(dbPath);
      foreign.exec('CREATE TABLE notes (text TEXT)');
      foreign.close();
    }
    const before = readFileSync(dbPath);
    expect(runCli('alerts', ['--value', '0.09'], dbPath)).toEqual({
      status: 1,
      stdout: '',
      stderr: `alerts: cannot open the weights database at ${dbPath}: holds no weights yet (an empty database, or not one this service wrote): train first, or check DB_PATH\n`,
    });
    expect(readFileSync(dbPath).equals(before)).toBe(true);
    expect(readdirSync(directory).filter((name) => name.startsWith(`not-ours-${bytes ? 'empty' : 'foreign'}.db-`))).toEqual([]);
  });

  it.each(['table', 'json', 'csv'])('alerts --format %s on a database the server made but nothing trained: exit 1, the same error, not an empty table', async (format) => {
    const dbPath = join(directory, `made-not-trained-${format}.db`);
    const storage = await openWeightsStorage({ dbPath });
    await storage.close();
    expect(runCli('alerts', ['--value', '0.09', '--format', format], dbPath)).toEqual({
      status: 1,
      stdout: '',
      stderr: `alerts: the weights database at ${dbPath} holds no models (nothing trained yet, or every model deleted): train first, or check DB_PATH\n`,
    });
  });

  it.each([
    ['a FIFO (opening it to read would wait for a writer forever)', 'a FIFO, device or socket', (path: string) => execFileSync('mkfifo', [path])],
    ['a folder', 'a folder', (path: string) => mkdirSync(path)],
  ])('refuses a DB_PATH that is %s at once, in one line, in alerts, train and serve', (_label, kind, make) => {
    const dbPath = join(directory, `odd-${kind.length}`);
    make(dbPath);
    const reason = `not a regular file (${kind}): DB_PATH names the database file`;
    const run = (script: string, args: string[]) => {
      const child = spawnSync(process.execPath, [join(__dirname, `../../dist/${script}`), ...args], {
        env: { PATH: process.env.PATH, DB_PATH: dbPath, PORT: '0', HOST: '127.0.0.1' },
        encoding: 'utf8',
        timeout: 15_000,
      });
      return { status: child.status, stderr: child.stderr };
    };
    expect(run('bin/alerts.js', ['--value', '1'])).toEqual({ status: 1, stderr: `alerts: cannot open the weights database at ${dbPath}: ${reason}\n` });
    expect(run('bin/train.js', [join(__dirname, '../../data/collects.csv')])).toEqual({ status: 1, stderr: `train: cannot open the weights database at ${dbPath}: ${reason}\n` });
    expect(run('src/main.js', [])).toEqual({ status: 1, stderr: `sensor-alerts: cannot open the weights database at ${dbPath}: ${reason}\n` });
  });

  it('alerts reads a database without writing its file, even when another process left changes in its WAL', () => {
    const dbPath = join(directory, 'wal-left', 'sensors.db');
    expect(runCli('train', [join(__dirname, '../../data/collects.csv'), '--threads', '1'], dbPath).status).toBe(0);
    // A writer that commits and dies without closing: its change stays in the -wal file, not checkpointed.
    const writer = spawnSync(process.execPath, ['-e', `
      const db = new (require('better-sqlite3'))(${JSON.stringify(dbPath)});
      db.pragma('wal_autocheckpoint = 0');
      db.prepare("UPDATE weights SET mean = 1e9 WHERE sensor_id = 'IAJ9206' AND metric = 'params.velRMS.x'").run();
      process.exit(0);`], { encoding: 'utf8', cwd: join(__dirname, '../..') });
    expect(writer.stderr).toBe('');
    const before = readFileSync(dbPath);
    const alerts = runCli('alerts', ['--value', '0.09', '--sensor', 'IAJ9206', '--format', 'csv'], dbPath);
    expect(alerts.status).toBe(0);
    expect(alerts.stdout.split('\n')[1]).toMatch(/^IAJ9206,/);
    // It read the change (0.09 is below a mean of 1e9), and left the database file as it was.
    const header = alerts.stdout.split('\n')[0]!.split(',');
    expect(alerts.stdout.split('\n')[1]!.split(',')[header.indexOf('params.velRMS.x')]).toBe('false');
    expect(readFileSync(dbPath).equals(before)).toBe(true);
  });

  it('a train that fails before storing anything leaves no new database behind', () => {
    const csv = join(directory, 'no-columns.csv');
    writeFileSync(csv, 'sensorId,x\nA,1\n');
    const folder = join(directory, 'failed-train');
    const result = runCli('train', [csv], join(folder, 'sensors.db'));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^train: .*no-columns\.csv:1: missing required columns /);
    expect(existsSync(folder) ? readdirSync(folder) : []).toEqual([]);
  });

  it('a train that succeeds creates it', () => {
    const dbPath = join(directory, 'trained', 'sensors.db');
    const result = runCli('train', [join(__dirname, '../../data/collects.csv'), '--threads', '1'], dbPath);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^trained 10 sensors x 6 columns from 33,901 rows /);
    expect(runCli('alerts', ['--value', '0.09', '--format', 'csv', '--sensor', 'MYD8706'], dbPath).stdout).toBe(
      'sensor_id,params.accelRMS.x,params.accelRMS.y,params.accelRMS.z,params.velRMS.x,params.velRMS.y,params.velRMS.z\nMYD8706,false,false,false,true,true,true\n',
    );
  });
});
