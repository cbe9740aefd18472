// Replays the case's sample requests (api_tests/) against a running server and checks each
// answer against the case's expected one. See HELP.
import { parseCliArguments } from '../src/interfaces/cli/cli-arguments';
import { UsageError } from '../src/interfaces/cli/usage.error';
import { loadSampleRequests, type SampleRequest } from './sample-requests';

const HELP = `Usage: npm run api-tests -- [URL] [--url URL] [--token TOKEN] [--dir DIR]

Replays the case's sample requests (DIR, default api_tests/) against a running server, in
the case's order (fit, weights, predict, adjust; then SEN0002, never fitted), prints each
answer, and checks it against the case's expected one: mean 7.5 and std sqrt(17/3) after the
fit, the same weights on GET, false for predict, mean 8.25 after adjust, 404 for SEN0002.

Options:
  --url URL       the server (default http://localhost:3000); localhost:3000 means http://localhost:3000
  --token TOKEN   sent as Authorization: Bearer TOKEN (the server's API_TOKEN); default: $API_TOKEN
  --dir DIR       the sample files (default api_tests)
  -h, --help      this text

Example:
  npm run api-tests -- localhost:3000 --token "$API_TOKEN"

Exit codes: 0 every answer as expected; 1 an answer differs (each difference is printed),
or the server cannot be reached; 2 bad arguments.
`;

/** What the case says each sample should answer, by file name; another file is replayed unchecked. */
const STD = Math.sqrt(17 / 3);
const FITTED = { sensor_id: 'SEN0001', metric: 'value', mean: 7.5, std: STD, n: 4 };
const EXPECTED = new Map<string, { status: number; body: Record<string, unknown> | boolean }>([
  ['post_fit_SEN0001.json', { status: 200, body: FITTED }],
  ['get_weights_SEN0001.json', { status: 200, body: FITTED }],
  ['post_predict_SEN0001.json', { status: 200, body: false }],
  ['post_adjust_SEN0001.json', { status: 200, body: { sensor_id: 'SEN0001', metric: 'value', mean: 8.25, std: STD, n: 4 } }],
  ['get_weights_SEN0002.json', { status: 404, body: { status: 404, type: 'urn:sensor-alerts:problem:sensor-not-found' } }],
]);

/** `localhost:3000` and `http://localhost:3000` alike; anything else is refused with what is wanted. */
function baseUrl(raw: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`--url ${JSON.stringify(raw)} is not a URL: expected host:port or http://host:port`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--url ${JSON.stringify(raw)}: expected an http:// or https:// URL`);
  return url;
}

function differences(actual: unknown, expected: unknown, path = ''): string[] {
  if (typeof expected === 'number' && typeof actual === 'number') {
    const error = expected === 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected);
    return error <= 1e-12 ? [] : [`${path || 'body'}: expected ${expected}, got ${actual}`];
  }
  if (typeof expected === 'object' && expected !== null) {
    if (typeof actual !== 'object' || actual === null) return [`${path || 'body'}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
    return Object.entries(expected).flatMap(([key, value]) => differences((actual as Record<string, unknown>)[key], value, `${path}.${key}`));
  }
  return Object.is(actual, expected) ? [] : [`${path || 'body'}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
}

async function main(): Promise<number> {
  const parsed = parseCliArguments({
    help: HELP,
    options: { url: { type: 'string' }, token: { type: 'string' }, dir: { type: 'string', default: 'api_tests' } },
    maxPositionals: 1,
  });
  if (!parsed) return 0;
  const { values: options, positionals } = parsed;
  if (options.url !== undefined && positionals[0] !== undefined) throw new UsageError('give the server once: as URL or as --url, not both');
  const base = baseUrl(options.url ?? positionals[0] ?? 'http://localhost:3000');
  // An empty --token is what `--token "$API_TOKEN"` gives when the shell has no API_TOKEN: say so, rather than send none.
  if (options.token === '') throw new UsageError('--token is empty (is API_TOKEN set in this shell?); leave it out to send no token');
  const token = options.token ?? process.env.API_TOKEN;

  let differing = 0;
  const samples: SampleRequest[] = loadSampleRequests(options.dir);
  for (const sample of samples) {
    const headers: Record<string, string> = { ...(token && { Authorization: `Bearer ${token}` }) };
    if (sample.method === 'POST') headers['Content-Type'] = 'application/json';
    const response = await fetch(new URL(sample.path, base), {
      method: sample.method,
      headers,
      ...(sample.method === 'POST' && { body: JSON.stringify(sample.body) }),
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: compared as text
    }
    console.log(`${sample.method} ${sample.path}  (${sample.file})\n  -> ${response.status} ${text}`);

    const expected = EXPECTED.get(sample.file);
    if (!expected) {
      console.log('  (no expected answer for this file: not checked)');
      continue;
    }
    // Another status says it all; the body printed above shows why.
    const found = response.status === expected.status ? differences(body, expected.body) : [`status: expected ${expected.status}, got ${response.status}`];
    if (found.length > 0) differing++;
    console.log(found.length === 0 ? '  ok' : found.map((line) => `  DIFFERS ${line}`).join('\n'));
  }
  const checked = samples.filter((sample) => EXPECTED.has(sample.file)).length;
  console.log(`\n${samples.length} requests, ${checked} checked: ${checked - differing} as expected, ${differing} differ`);
  return differing === 0 ? 0 : 1;
}

main().then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    console.error(`api-tests: ${error instanceof Error ? error.message : String(error)}${cause}`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  },
);
