import Database from 'better-sqlite3';

/** A row of the weights table, read apart from the product's repositories. */
export interface StoredModel {
  sensor_id: string;
  metric: string;
  mean: number;
  std: number;
  n: number;
  version: number;
}

/** Every model in the SQLite file at `dbPath`, by sensor id, then metric (opened read-only). */
export function storedModels(dbPath: string): StoredModel[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db.prepare('SELECT sensor_id, metric, mean, std, n, version FROM weights ORDER BY sensor_id, metric').all() as StoredModel[];
  } finally {
    db.close();
  }
}
