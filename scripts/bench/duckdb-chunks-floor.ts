// A floor for the Parquet contenders: DuckDB's rows handed to a Node thread and nothing done
// with them. The same query as the trainer's (the sensor id and the six readings as
// doubles), streamed through @duckdb/node-api with one chunk fetched ahead, as the trainer
// does; no thread of ours could sum the rows faster than they arrive.
// Usage: node dist/scripts/bench/duckdb-chunks-floor.js FILE.parquet
import { DuckDBInstance } from '@duckdb/node-api';

const METRICS = ['params.velRMS.x', 'params.velRMS.y', 'params.velRMS.z', 'params.accelRMS.x', 'params.accelRMS.y', 'params.accelRMS.z'];

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: duckdb-chunks-floor FILE.parquet');
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await instance.connect();
  const columns = ['CAST("sensorId" AS VARCHAR)', ...METRICS.map((metric) => `CAST("${metric}" AS DOUBLE)`)].join(', ');
  const result = await connection.stream(`SELECT ${columns} FROM read_parquet('${file.replaceAll("'", "''")}')`);
  let rows = 0;
  let next = result.fetchChunk();
  for (;;) {
    const chunk = await next;
    const chunkRows = chunk?.rowCount ?? 0;
    if (!chunk || chunkRows === 0) break;
    next = result.fetchChunk();
    rows += chunkRows;
  }
  connection.closeSync();
  instance.closeSync();
  console.log(JSON.stringify({ rows }));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
