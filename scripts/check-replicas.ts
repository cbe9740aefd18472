// Checks that API replicas share one database: a fit through the first is served by every
// other, and adjusts spread over all of them, sent concurrently, lose no update.
import { parseScriptArguments, refuseArguments, wholeNumberOption } from './script-arguments';

const USAGE = 'Usage: node dist/scripts/check-replicas.js --url http://localhost:3001 --url http://localhost:3002 [--adjusts 40 (1-1000)] [--sensor REPLICA01]';
const { values: options } = parseScriptArguments(USAGE, {
  options: { url: { type: 'string', multiple: true, default: [] }, sensor: { type: 'string', default: 'REPLICA01' }, adjusts: { type: 'string', default: '40' } },
});
const urls = options.url;
if (urls.length < 2) refuseArguments(USAGE, 'give at least two --url');
for (const url of urls) if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) refuseArguments(USAGE, `--url must be an http:// or https:// URL (got ${JSON.stringify(url)})`);
const sensor = options.sensor;
// Each adjust multiplies the mean by 1.1: a thousand keep it far from overflowing.
const adjusts = wholeNumberOption(USAGE, 'adjusts', options.adjusts, 1, 1000);

interface WeightsBody {
  mean: number;
  version: number;
}

async function call(base: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<WeightsBody> {
  const response = await fetch(new URL(path, base), {
    method,
    ...(body !== undefined && { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }),
  });
  if (response.status !== 200) throw new Error(`${method} ${base}${path}: status ${response.status}: ${await response.text()}`);
  return (await response.json()) as WeightsBody;
}

async function main(): Promise<void> {
  const fitted = await call(urls[0]!, 'POST', `/${sensor}/fit`, { values: [10, 5, 6, 9] });
  for (const url of urls.slice(1)) {
    const seen = await call(url, 'GET', `/${sensor}/weights`);
    if (seen.mean !== fitted.mean || seen.version !== fitted.version) throw new Error(`${url} serves ${JSON.stringify(seen)}, not the fit ${JSON.stringify(fitted)}`);
  }
  console.log(`ok  a fit through ${urls[0]} is served by ${urls.slice(1).join(', ')}`);

  await Promise.all(Array.from({ length: adjusts }, (_, i) => call(urls[i % urls.length]!, 'POST', `/${sensor}/adjust`)));
  const expectedMean = fitted.mean * 1.1 ** adjusts;
  for (const url of urls) {
    const final = await call(url, 'GET', `/${sensor}/weights`);
    if (final.version !== fitted.version + adjusts || Math.abs(final.mean - expectedMean) > 1e-12 * expectedMean) {
      throw new Error(`${url} after ${adjusts} adjusts: ${JSON.stringify(final)}, expected mean ${expectedMean} and version ${fitted.version + adjusts}`);
    }
  }
  console.log(`ok  ${adjusts} concurrent adjusts spread over ${urls.length} replicas: none lost (version ${fitted.version + adjusts}, mean ${expectedMean.toFixed(6)})`);
}

main().catch((error: unknown) => {
  console.error(`FAIL ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
