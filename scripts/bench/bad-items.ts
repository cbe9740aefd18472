// How long, and how much memory, one fit body of N wrong-typed items costs to refuse:
// the bounded check (validation.ts) against zod alone (the path before it), each in its own
// run of this script so one's garbage does not weigh on the other.
//   node dist/scripts/bench/bad-items.js bounded 4000000
//   node dist/scripts/bench/bad-items.js zod 1000000
import 'reflect-metadata';
import { fitBodySchema, valuesField } from '../../src/interfaces/http/request-schemas';
import { parseBody } from '../../src/interfaces/http/validation';

const [mode = 'bounded', count = '1000000'] = process.argv.slice(2);
const body: unknown = JSON.parse(`{"values":[${Array(Number(count)).fill('"a"').join(',')}]}`);
const heapBefore = process.memoryUsage().rss;
const started = process.hrtime.bigint();
try {
  if (mode === 'zod') fitBodySchema.safeParse(body);
  else parseBody(fitBodySchema, body, valuesField);
} catch {
  // the 422, as expected
}
const ms = Number(process.hrtime.bigint() - started) / 1e6;
console.log(JSON.stringify({ mode, items: Number(count), ms: Math.round(ms), rssGrowthMb: Math.round((process.memoryUsage().rss - heapBefore) / 2 ** 20) }));
