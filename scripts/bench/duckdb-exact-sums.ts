// Could DuckDB's own SQL compute the exact sums our statistics need, so that no row crosses
// into JavaScript? Each reading is scaled by a power of two per column (from the column's
// largest magnitude) into an integer below 2^62; `sum` of it and of the products of its two
// 31-bit halves are exact (BIGINT products, summed by DuckDB into HUGEINT). A count of the
// readings the scaling did not keep exact says whether 62 bits were enough. Timed against
// DuckDB's `favg` and `stddev_samp` query on the same file, alternating, in one process.
// Usage: node dist/scripts/bench/duckdb-exact-sums.js FILE.parquet [RUNS]
import { DuckDBInstance } from '@duckdb/node-api';
import { median } from './median';

const METRICS = ['params.velRMS.x', 'params.velRMS.y', 'params.velRMS.z', 'params.accelRMS.x', 'params.accelRMS.y', 'params.accelRMS.z'];
const HALF = 2 ** 31 - 1;

async function main(): Promise<void> {
  const [file, runsText = '9'] = process.argv.slice(2);
  const runs = Number(runsText);
  if (!file || !Number.isInteger(runs) || runs < 1) throw new Error('usage: duckdb-exact-sums FILE.parquet [RUNS]');
  const source = `read_parquet('${file.replaceAll("'", "''")}')`;
  const column = (metric: string) => `"${metric}"`;
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const connection = await instance.connect();

  const ranges = (await (await connection.run(`SELECT ${METRICS.map((metric) => `max(abs(${column(metric)}))`).join(', ')} FROM ${source}`)).getRows())[0]!;
  const scales = ranges.map((largest) => 2 ** (61 - Math.ceil(Math.log2(Number(largest)))));
  const exact = `SELECT "sensorId", ${METRICS.map((metric, index) => {
    const scaled = `(${column(metric)} * ${scales[index]}::DOUBLE)`;
    const integer = `CAST(${scaled} AS BIGINT)`;
    const [high, low] = [`(${integer} >> 31)`, `(${integer} & ${HALF})`];
    return `sum(${integer}), sum(${high} * ${high}), sum(${high} * ${low}), sum(${low} * ${low}), count(*) FILTER (WHERE ${scaled} <> trunc(${scaled}))`;
  }).join(', ')} FROM ${source} GROUP BY "sensorId"`;
  const plain = `SELECT "sensorId", ${METRICS.map((metric) => `favg(${column(metric)}), stddev_samp(${column(metric)})`).join(', ')} FROM ${source} GROUP BY "sensorId"`;

  const times: Record<'exact' | 'plain', number[]> = { exact: [], plain: [] };
  let inexact = 0;
  for (let run = 0; run < runs; run++) {
    for (const [name, sql] of [['exact', exact], ['plain', plain]] as const) {
      const startedAt = performance.now();
      const rows = await (await connection.run(sql)).getRows();
      times[name].push(performance.now() - startedAt);
      if (name === 'exact' && run === 0) inexact = rows.reduce((total, row) => total + METRICS.reduce((sum, _metric, index) => sum + Number(row[5 + 5 * index]), 0), 0);
    }
  }
  connection.closeSync();
  instance.closeSync();
  const [exactMs, plainMs] = [median(times.exact), median(times.plain)];
  console.log(`exact fixed-point sums ${exactMs.toFixed(0)} ms, favg + stddev_samp ${plainMs.toFixed(0)} ms (medians of ${runs}): ratio ${(exactMs / plainMs).toFixed(2)}`);
  console.log(`readings whose scaling to 62 bits was not exact (0 is needed): ${inexact}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
