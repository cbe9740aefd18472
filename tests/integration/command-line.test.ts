import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnServer, waitForListening, type ServerProcess } from '../support/server-process';
import { makeTempDir } from '../support/test-app';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- plain CommonJS, run before any build
const { staleness } = require('../../scripts/ensure-built.js') as { staleness: (root?: string) => string | undefined };

const ROOT = join(__dirname, '../..');

function run(file: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  // The timeout ends a tool that would run on (a server started by mistake) as a failure instead of a hang.
  const child = spawnSync(process.execPath, [join(ROOT, file), ...args], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', cwd: ROOT, timeout: 30_000 });
  return { status: child.status, stdout: child.stdout, stderr: child.stderr };
}

describe('the command-line tools', () => {
  const directory = makeTempDir();
  const dbPath = join(directory, 'sensors.db');
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  describe.each([
    ['train', 'dist/bin/train.js', 'Usage: sensor-alerts train [FILE] [--threads N]', 'sensor-alerts train data/collects.csv --threads 2'],
    ['alerts', 'dist/bin/alerts.js', 'Usage: sensor-alerts alerts --value V', 'sensor-alerts alerts --value 0.09 --format json'],
    ['api-tests', 'dist/scripts/api-tests.js', 'Usage: npm run api-tests -- [URL]', 'npm run api-tests -- localhost:3000 --token "$API_TOKEN"'],
    ['healthcheck', 'dist/src/interfaces/cli/healthcheck.cli.js', 'Usage: node dist/src/interfaces/cli/healthcheck.cli.js', 'PORT=3000 node dist/src/interfaces/cli/healthcheck.cli.js && echo healthy'],
    ['generate-collects', 'dist/scripts/generate-collects.js', 'Usage: npm run generate:collects --', 'npm run generate:collects -- --scale 100'],
    ['convert', 'dist/bin/convert.js', 'Usage: npm run convert -- CSV PARQUET [--force]', 'npm run convert -- data/collects.csv collects.parquet'],
  ])('%s', (name, file, usage, example) => {
    it.each(['--help', '-h'])('%s prints usage, options, an example and exit codes on stdout, and exits 0', (flag) => {
      const result = run(file, [flag], { DB_PATH: dbPath });
      expect(result.status).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout.startsWith(`${usage}`)).toBe(true);
      expect(result.stdout).toContain('Options:');
      expect(result.stdout).toContain(`Example:\n  ${example}\n`);
      expect(result.stdout).toMatch(name === 'healthcheck' ? /Exit codes: 0 .+; 1 / : /Exit codes: 0 .+; 1 [^]+; 2 bad\s+arguments/);
    });

    // 2, a usage error, as most Unix tools; the healthcheck keeps 1, as Docker reserves 2.
    const usageStatus = name === 'healthcheck' ? 1 : 2;
    it(`refuses an unknown option in one line naming it, and exits ${usageStatus}`, () => {
      expect(run(file, ['--bogus'], { DB_PATH: dbPath })).toEqual({ status: usageStatus, stdout: '', stderr: `${name}: unknown option --bogus (run with --help for usage)\n` });
    });
  });

  it('train refuses an option without its value, and a second file', () => {
    expect(run('dist/bin/train.js', ['--threads'], { DB_PATH: dbPath }).stderr).toBe('train: --threads needs a value (run with --help for usage)\n');
    expect(run('dist/bin/train.js', ['a.csv', 'b.csv'], { DB_PATH: dbPath }).stderr).toBe('train: unexpected argument "b.csv" (run with --help for usage)\n');
  });

  it('says an option followed by something that looks like another option needs a value, and how to give one with a dash', () => {
    expect(run('dist/bin/alerts.js', ['--value', '1', '--sensor', '--format', 'json'], { DB_PATH: dbPath })).toEqual({
      status: 2,
      stdout: '',
      stderr: 'alerts: --sensor needs a value (one starting with a dash is written --sensor=-value) (run with --help for usage)\n',
    });
    expect(run('dist/bin/convert.js', ['--force=yes', 'a.csv', 'b.parquet']).stderr).toBe('convert: --force takes no value (run with --help for usage)\n');
  });

  it.each(['a b', '', '-bad'])('alerts refuses a malformed --sensor (%j) as a usage error: exit 2', (sensor) => {
    const result = run('dist/bin/alerts.js', ['--value', '1', `--sensor=${sensor}`], { DB_PATH: dbPath });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^alerts: --sensor: Invalid sensor id .*: use 1-64 characters from A-Z a-z 0-9 \. _ -, starting with a letter or digit\.\n$/);
  });

  it.each([
    ['dist/bin/train.js', 'train', (name: string) => [name]],
    ['dist/bin/convert.js', 'convert', (name: string) => [name, 'out.parquet']],
  ])('%s refuses a file name with U+FFFD, which Node makes of a name that is not UTF-8: exit 2, nothing read', (file, command, args) => {
    const result = run(file, args('r\uFFFD.csv'), { DB_PATH: dbPath });
    expect(result).toEqual({
      status: 2,
      stdout: '',
      stderr: `${command}: "r\uFFFD.csv": a file name that is not valid UTF-8 (or holds U+FFFD) cannot be named on the command line; rename the file\n`,
    });
  });

  it('alerts takes no file', () => {
    expect(run('dist/bin/alerts.js', ['--value', '1', 'extra'], { DB_PATH: dbPath })).toEqual({
      status: 2,
      stdout: '',
      stderr: 'alerts: unexpected argument "extra", this command takes options only (run with --help for usage)\n',
    });
  });

  describe('bin/sensor-alerts.js (npx sensor-alerts)', () => {
    const COMMANDS = /^Usage: sensor-alerts <command> \[options\]\n\nCommands:\n {2}serve .+\n {2}train .+ \(CSV or Parquet\) .+\n {2}alerts .+\n {2}convert .+\n/;

    it('lists its commands with --help, on stdout, exit 0', () => {
      for (const args of [['--help'], ['-h'], ['help']]) {
        const result = run('bin/sensor-alerts.js', args);
        expect(result.status).toBe(0);
        expect(result.stdout).toMatch(COMMANDS);
      }
    });

    it('without a command, says so and lists them on stderr, exit 2 (a usage error)', () => {
      const result = run('bin/sensor-alerts.js', []);
      expect(result.status).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr.startsWith('sensor-alerts: no command given\n\n')).toBe(true);
      expect(result.stderr.slice('sensor-alerts: no command given\n\n'.length)).toMatch(COMMANDS);
    });

    it('refuses an unknown command, listing the known ones, exit 2', () => {
      const result = run('bin/sensor-alerts.js', ['fly']);
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(/^sensor-alerts: unknown command "fly"\n\nUsage: sensor-alerts <command>/);
    });

    it('runs convert too', () => {
      const help = run('bin/sensor-alerts.js', ['convert', '--help']);
      expect(help.status).toBe(0);
      expect(help.stdout).toMatch(/^Usage: npm run convert -- CSV PARQUET \[--force\]\n {7}sensor-alerts convert CSV PARQUET/);
      const out = join(directory, 'via-bin.parquet');
      const converted = run('bin/sensor-alerts.js', ['convert', 'data/collects.csv', out]);
      expect(converted.stderr).toBe('');
      expect(converted.stdout).toMatch(/^converted 33,901 rows of data\/collects\.csv /);
      expect(statSync(out).size).toBeGreaterThan(0);
    });

    describe('serve', () => {
      it.each(['--help', '-h'])('%s prints the settings it reads (environment variables) and starts nothing', (flag) => {
        const db = join(directory, 'serve-help', 'sensors.db');
        const result = run('bin/sensor-alerts.js', ['serve', flag], { DB_PATH: db, PORT: '0' });
        expect(result.stderr).toBe('');
        expect(result.status).toBe(0);
        expect(result.stdout).toMatch(/^Usage: sensor-alerts serve\n/);
        for (const variable of ['PORT', 'HOST', 'DB_PATH', 'DATABASE_URL', 'API_TOKEN', 'LOG_LEVEL']) expect(result.stdout).toMatch(new RegExp(`^ {2}${variable} +\\S`, 'm'));
        expect(result.stdout).toContain('README.md');
        expect(result.stdout).toMatch(/Exit codes: 0 .+; 1 .+; 2 bad arguments/);
        expect(existsSync(db)).toBe(false);
      });

      it.each([
        [['--port', '4000'], 'unknown option --port: set the environment variable PORT instead'],
        [['--db-path=x.db'], 'unknown option --db-path: set the environment variable DB_PATH instead'],
        [['--verbose'], 'unknown option --verbose: it reads its settings from environment variables'],
        [['4000'], 'unexpected argument "4000": it reads its settings from environment variables'],
      ])('refuses %j in one line, exit 2, starting nothing', (args, message) => {
        const db = join(directory, 'serve-args', 'sensors.db');
        const result = run('bin/sensor-alerts.js', ['serve', ...args], { DB_PATH: db, PORT: '0' });
        expect(result).toEqual({ status: 2, stdout: '', stderr: `sensor-alerts serve: ${message} (run with --help for them)\n` });
        expect(existsSync(db)).toBe(false);
      });
    });

    it('runs the built train and alerts with their arguments, without building an unchanged tree', () => {
      const trained = run('bin/sensor-alerts.js', ['train', 'data/collects.csv', '--threads', '1'], { DB_PATH: dbPath });
      expect(trained.stderr).toBe('');
      expect(trained.status).toBe(0);
      expect(trained.stdout).toMatch(/^trained 10 sensors x 6 columns from 33,901 rows of data\/collects\.csv /);
      const alerts = run('bin/sensor-alerts.js', ['alerts', '--value', '0.09', '--format', 'csv', '--sensor', 'IAJ9206'], { DB_PATH: dbPath });
      expect(alerts).toEqual({
        status: 0,
        stderr: '',
        stdout: 'sensor_id,params.accelRMS.x,params.accelRMS.y,params.accelRMS.z,params.velRMS.x,params.velRMS.y,params.velRMS.z\nIAJ9206,true,false,true,true,true,true\n',
      });
    });
  });

  describe('the staleness check before running built code', () => {
    it('finds this tree up to date once the test run has built it', () => {
      expect(staleness()).toBeUndefined();
    });

    it('asks for a build when there is none, or when a source, a folder or a config is newer than the last one', () => {
      const root = join(directory, 'tree');
      mkdirSync(join(root, 'src', 'domain'), { recursive: true });
      mkdirSync(join(root, 'scripts'), { recursive: true });
      writeFileSync(join(root, 'src', 'domain', 'a.ts'), '');
      writeFileSync(join(root, 'tsconfig.json'), '{}');
      expect(staleness(root)).toBe('no build yet');

      mkdirSync(join(root, 'dist'));
      writeFileSync(join(root, 'dist', '.build-stamp'), '');
      const past = new Date(Date.now() - 60_000);
      const older = new Date(Date.now() - 120_000);
      for (const path of ['src/domain/a.ts', 'src/domain', 'src', 'scripts', 'tsconfig.json']) utimesSync(join(root, path), older, older);
      utimesSync(join(root, 'dist', '.build-stamp'), past, past);
      expect(staleness(root)).toBeUndefined();

      utimesSync(join(root, 'src', 'domain', 'a.ts'), new Date(), new Date());
      expect(staleness(root)).toBe('src changed since the last build');
      utimesSync(join(root, 'src', 'domain', 'a.ts'), older, older);
      utimesSync(join(root, 'tsconfig.json'), new Date(), new Date());
      expect(staleness(root)).toBe('tsconfig.json changed since the last build');
    });

    it('has nothing to build where there are no sources (an installed copy)', () => {
      const root = join(directory, 'installed');
      mkdirSync(join(root, 'dist'), { recursive: true });
      expect(staleness(root)).toBeUndefined();
    });
  });

  describe('npm run api-tests', () => {
    const TOKEN = 'a-token-of-at-least-16';
    let server: ServerProcess;
    let host: string;
    beforeAll(async () => {
      server = spawnServer({ PORT: '0', HOST: '127.0.0.1', DB_PATH: join(directory, 'api.db'), API_TOKEN: TOKEN, LOG_LEVEL: 'warn' });
      host = new URL(await waitForListening(server)).host;
    });
    afterAll(async () => {
      server.child.kill('SIGTERM');
      await server.exited;
    });

    it("fails, printing what differs, when the answers are not the case's (here: 401 without the token)", () => {
      const result = run('dist/scripts/api-tests.js', [host]);
      expect(result.status).toBe(1);
      expect(result.stdout).toContain('POST /SEN0001/fit  (post_fit_SEN0001.json)\n  -> 401 ');
      expect(result.stdout).toContain('  DIFFERS status: expected 200, got 401\n');
      expect(result.stdout).toContain('  DIFFERS status: expected 200, got 404\n'); // nothing was fitted
      expect(result.stdout.trimEnd().split('\n').at(-1)).toBe('5 requests, 5 checked: 1 as expected, 4 differ');
    });

    it("passes with --token, on a host given without a scheme, checking the case's answers", () => {
      const result = run('dist/scripts/api-tests.js', [host, '--token', TOKEN]);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.stdout.match(/^ {2}ok$/gm)).toHaveLength(5);
      expect(result.stdout).toContain('  -> 200 false\n');
      expect(result.stdout.trimEnd().split('\n').at(-1)).toBe('5 requests, 5 checked: 5 as expected, 0 differ');
    });

    it('takes the token from API_TOKEN too, and the server as --url http://...', () => {
      expect(run('dist/scripts/api-tests.js', ['--url', `http://${host}`], { API_TOKEN: TOKEN }).status).toBe(0);
    });

    it('refuses an empty --token (what --token "$API_TOKEN" gives with API_TOKEN unset) instead of sending none', () => {
      expect(run('dist/scripts/api-tests.js', [host, '--token', ''], { API_TOKEN: TOKEN })).toEqual({
        status: 2,
        stdout: '',
        stderr: 'api-tests: --token is empty (is API_TOKEN set in this shell?); leave it out to send no token\n',
      });
    });

    it('says what it wants of a URL it cannot use', () => {
      expect(run('dist/scripts/api-tests.js', ['ftp://example.com'])).toEqual({
        status: 2,
        stdout: '',
        stderr: 'api-tests: --url "ftp://example.com": expected an http:// or https:// URL\n',
      });
    });
  });
});
