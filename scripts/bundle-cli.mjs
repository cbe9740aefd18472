// Bundles the command-line tools from tsc's output (which already carries the decorator
// metadata tsyringe needs) into single files. The trainer starts ~30 ms sooner: module
// resolution over ~80 files costs that much here, a fifth of a run on the case's file.
import { build } from 'esbuild';

await build({
  entryPoints: {
    train: 'dist/src/interfaces/cli/train.cli.js',
    alerts: 'dist/src/interfaces/cli/alerts.cli.js',
    convert: 'dist/src/interfaces/cli/convert.cli.js',
    // CsvReadingsSource starts this worker from a file beside itself.
    'csv-range.worker': 'dist/src/infrastructure/csv/csv-range.worker.js',
    // ParquetReadingsSource likewise.
    'parquet-range.worker': 'dist/src/infrastructure/parquet/parquet-range.worker.js',
  },
  outdir: 'dist/bin',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['better-sqlite3', '@duckdb/node-api', '@duckdb/node-bindings'], // native addons: loaded from node_modules at run time
  logLevel: 'warning',
});
