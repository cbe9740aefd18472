import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SampleRequest {
  readonly file: string;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  /** Sent as JSON for POST; a GET sample's `{}` is only a placeholder and is not sent. */
  readonly body: unknown;
}

// The case's flow: learn, look, use, nudge. Samples replay in that order so a fresh server answers them all.
const ROUTE_ORDER = ['fit', 'weights', 'predict', 'adjust'];
const FILE_NAME = /^(get|post)_([a-z]+)_(.+)\.json$/;

/** Reads `<method>_<route>_<sensor>.json` files, as the case names them, into requests. */
export function loadSampleRequests(directory: string): SampleRequest[] {
  const files = readdirSync(directory).filter((file) => file.endsWith('.json'));
  const requests = files.map((file): SampleRequest & { route: string; sensorId: string } => {
    const match = FILE_NAME.exec(file);
    if (!match) throw new Error(`${join(directory, file)}: expected a name like post_fit_SEN0001.json`);
    const [, method, route, sensorId] = match as unknown as [string, string, string, string];
    return {
      file,
      method: method.toUpperCase() as SampleRequest['method'],
      path: `/${encodeURIComponent(sensorId)}/${route}`,
      body: JSON.parse(readFileSync(join(directory, file), 'utf8')) as unknown,
      route,
      sensorId,
    };
  });
  const rank = (route: string) => (ROUTE_ORDER.includes(route) ? ROUTE_ORDER.indexOf(route) : ROUTE_ORDER.length);
  requests.sort((a, b) => a.sensorId.localeCompare(b.sensorId) || rank(a.route) - rank(b.route) || a.file.localeCompare(b.file));
  return requests.map(({ file, method, path, body }) => ({ file, method, path, body }));
}
