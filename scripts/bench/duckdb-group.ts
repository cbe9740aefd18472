// The strongest contender for the training benchmark: DuckDB, the engine a user would pick today
// for "group by, mean, sample std over a big file", as a whole process with 2 threads:
// read_csv / read_parquet, GROUP BY sensorId, favg and stddev_samp over the six columns.
// Usage: node dist/scripts/bench/duckdb-group.js FILE(.csv|.parquet) VALUE
// Prints the draft's JSON {weights, in_alert} (alert iff VALUE >= mean + 2 * std).
import { DuckDBInstance } from '@duckdb/node-api';

const METRICS = ['params.velRMS.x', 'params.velRMS.y', 'params.velRMS.z', 'params.accelRMS.x', 'params.accelRMS.y', 'params.accelRMS.z'];

async function main(): Promise<void> {
  const [file, valueText] = process.argv.slice(2);
  if (!file || !valueText) throw new Error('usage: duckdb-group FILE VALUE');
  const value = Number(valueText);
  const quoted = `'${file.replaceAll("'", "''")}'`;
  // The readings typed as doubles, as the trainer reads them; the rest left to DuckDB's sniffer.
  const source = file.endsWith('.parquet')
    ? `read_parquet(${quoted})`
    : `read_csv(${quoted}, header = true, types = {${METRICS.map((metric) => `'${metric}': 'DOUBLE'`).join(', ')}})`;
  // favg, avg with Kahan summation: plain avg sums in doubles and, on the real rows x100, misses
  // the exact mean by 1.4e-12 relative (NAI1549 params.velRMS.y), outside the benchmark's 1e-12.
  const aggregates = METRICS.map((metric) => `favg("${metric}"), stddev_samp("${metric}")`).join(', ');
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const connection = await instance.connect();
  const result = await connection.run(`SELECT "sensorId", ${aggregates} FROM ${source} GROUP BY "sensorId"`);
  const weights: Record<string, Record<string, { mean: number; std: number }>> = {};
  const inAlert: Record<string, Record<string, boolean>> = {};
  for (const [sensor, ...statistics] of (await result.getRows()) as Array<[string, ...number[]]>) {
    const models: Record<string, { mean: number; std: number }> = {};
    const alerts: Record<string, boolean> = {};
    METRICS.forEach((metric, index) => {
      const mean = statistics[2 * index]!;
      const std = statistics[2 * index + 1]!;
      models[metric] = { mean, std };
      alerts[metric] = value >= mean + 2 * std;
    });
    weights[sensor] = models;
    inAlert[sensor] = alerts;
  }
  connection.closeSync();
  instance.closeSync();
  console.log(JSON.stringify({ weights, in_alert: inAlert }));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
