// Runs the case's flow against a running server and checks every answer:
// fit -> weights -> predict -> adjust -> weights, and a never-fitted sensor's 404.
import { parseScriptArguments } from './script-arguments';

const USAGE = 'Usage: node dist/scripts/check-case-flow.js --url http://localhost:3000 [--sensor SEN0001]';
const { values: options } = parseScriptArguments(USAGE, {
  options: { url: { type: 'string', default: 'http://localhost:3000' }, sensor: { type: 'string', default: 'SEN0001' } },
});
const base = options.url;
const sensor = options.sensor;
const std = Math.sqrt(17 / 3);

async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(new URL(path, base), {
    method,
    ...(body !== undefined && { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json() };
}

function check(label: string, ok: boolean, seen: unknown): void {
  if (!ok) throw new Error(`${label}: unexpected answer ${JSON.stringify(seen)}`);
  console.log(`ok  ${label}`);
}

function isWeights(answer: { status: number; body: unknown }, mean: number): boolean {
  const body = answer.body as { sensor_id?: unknown; mean?: unknown; std?: unknown; n?: unknown };
  return answer.status === 200 && body.sensor_id === sensor && body.mean === mean && body.n === 4 && Math.abs((body.std as number) - std) <= 1e-12 * std;
}

async function main(): Promise<void> {
  const fit = await call('POST', `/${sensor}/fit`, { values: [10, 5, 6, 9] });
  check(`POST /${sensor}/fit [10, 5, 6, 9] -> mean 7.5, std sqrt(17/3), n 4`, isWeights(fit, 7.5), fit);
  const weights = await call('GET', `/${sensor}/weights`);
  check(`GET /${sensor}/weights -> the fitted weights`, isWeights(weights, 7.5), weights);
  const predict = await call('POST', `/${sensor}/predict`, { value: 10 });
  check(`POST /${sensor}/predict 10 -> false`, predict.status === 200 && predict.body === false, predict);
  const adjust = await call('POST', `/${sensor}/adjust`, {});
  check(`POST /${sensor}/adjust -> mean 8.25`, isWeights(adjust, 8.25), adjust);
  const adjusted = await call('GET', `/${sensor}/weights`);
  check(`GET /${sensor}/weights -> mean 8.25`, isWeights(adjusted, 8.25), adjusted);
  const unknown = await call('GET', '/SEN0002/weights');
  check('GET /SEN0002/weights -> 404 problem', unknown.status === 404 && (unknown.body as { status?: unknown }).status === 404, unknown);
}

main().catch((error: unknown) => {
  console.error(`check-case-flow: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
