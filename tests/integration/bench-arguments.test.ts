import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

// Every benchmark script answers --help, and refuses a command line it cannot act on in one
// line and exit 2, before measuring anything (no stack trace, no table of NaN).
const script = (name: string) => join(__dirname, `../../dist/scripts/bench/${name}.js`);
const run = (name: string, args: string[]) => {
  const child = spawnSync(process.execPath, [script(name), ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: child.status, stdout: child.stdout, stderr: child.stderr };
};

describe('the benchmark scripts, on their command line', () => {
  it.each([
    ['train-benchmark', 'bench:train'],
    ['csv-parsers', 'bench:csv'],
    ['api-benchmark', 'bench:api'],
    ['predict-overhead', 'bench:predict'],
    ['alert-states-benchmark', 'bench:alert-states'],
    ['ingest-benchmark', 'bench:ingest'],
    ['startup-benchmark', 'bench:startup'],
  ])('%s answers --help with what it measures and each option, --smoke among them', (name, command) => {
    const help = run(name, ['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(new RegExp(`^Usage: npm run ${command} -- .*\\[--smoke\\]`));
    expect(help.stdout).toMatch(/^ {2}--smoke +\S/m);
    expect(help.stdout).toMatch(/^ {2}-h, --help +this text$/m);
  });

  it.each([
    ['train-benchmark', ['--runs', '0'], '--runs must be a whole number from 1 up (got "0")'],
    ['train-benchmark', ['--scales', '1,x'], '--scales must be a whole number from 1 up (got "x")'],
    ['train-benchmark', ['--baseline', '/nonexistent-checkout'], '--baseline /nonexistent-checkout: no dist/bin/train.js there (run npm run build in that checkout)'],
    ['train-benchmark', ['--only', 'trainer,bogus'], "--only bogus: no contender's name holds that (they are: "],
    ['csv-parsers', ['--runs', 'x'], '--runs must be a whole number from 1 up (got "x")'],
    ['csv-parsers', ['/nonexistent.csv'], '/nonexistent.csv: no such file'],
    ['api-benchmark', ['--seconds', '1.5'], '--seconds must be a whole number from 1 up (got "1.5")'],
    ['predict-overhead', ['--runs', 'x'], '--runs must be a whole number from 1 up (got "x")'],
    ['alert-states-benchmark', ['--runs', '0'], '--runs must be a whole number from 1 up (got "0")'],
    ['alert-states-benchmark', ['--alerts', '2'], '--alerts must be a number from 0 to 1 (got "2")'],
    ['ingest-benchmark', ['--rate', '0'], '--rate must be a whole number from 1 up (got "0")'],
    ['ingest-benchmark', ['--latency-seconds', 'abc'], '--latency-seconds must be a number from 0.01 to 3600 (got "abc")'],
    ['startup-benchmark', ['--rounds', 'x'], '--rounds must be a whole number from 1 up (got "x")'],
    ['startup-benchmark', ['--file', '/nonexistent.csv'], '--file /nonexistent.csv: no such file'],
    ['startup-benchmark', ['--bogus'], "Unknown option '--bogus'"],
    ['train-benchmark', ['--runs', '2', '--runs', '3'], '--runs is given more than once'],
    ['ingest-benchmark', ['--smoke', '--smoke'], '--smoke is given more than once'],
  ])('%s %j: one line, the usage, exit 2', (name, args, reason) => {
    const result = run(name, args);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.startsWith(reason)).toBe(true);
    expect(result.stderr.split('\n')[1]).toMatch(/^Usage: npm run bench:/);
  });
});

describe('check-replicas, on its command line', () => {
  const checkReplicas = (args: string[]) => {
    const child = spawnSync(process.execPath, [join(__dirname, '../../dist/scripts/check-replicas.js'), ...args], { encoding: 'utf8', timeout: 30_000 });
    return { status: child.status, stdout: child.stdout, stderr: child.stderr };
  };
  const two = ['--url', 'http://127.0.0.1:1', '--url', 'http://127.0.0.1:2'];

  it.each([
    [[...two, '--adjusts', 'x'], '--adjusts must be a whole number from 1 to 1000 (got "x")'],
    [[...two, '--adjusts', '1001'], '--adjusts must be a whole number from 1 to 1000 (got "1001")'],
    [['--url', 'http://127.0.0.1:1'], 'give at least two --url'],
    [['--url', 'ftp://a', '--url', 'http://b'], '--url must be an http:// or https:// URL (got "ftp://a")'],
    [['--url', 'localhost:3001', '--url', 'http://b'], '--url must be an http:// or https:// URL (got "localhost:3001")'],
  ])('%j: one line, the usage, exit 2, before any request', (args, reason) => {
    const result = checkReplicas(args);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n').slice(0, 2)).toEqual([reason, expect.stringMatching(/^Usage: node dist\/scripts\/check-replicas\.js /)]);
  });
});
