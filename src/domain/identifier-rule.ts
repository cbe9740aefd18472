// Sensor ids and metric names share one rule: safe in a URL path segment, a CSV header and a log line.
export const IDENTIFIER_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
const IDENTIFIER = new RegExp(IDENTIFIER_PATTERN);

export function isValidIdentifier(candidate: string): boolean {
  return IDENTIFIER.test(candidate);
}

/**
 * One string for a model's (sensor id, metric name) pair, as a Map key: ids and metric names
 * never hold a NUL (the rule above), so different pairs never give the same key.
 */
export function modelKey(sensorId: string, metric: string): string {
  return `${sensorId}\u0000${metric}`;
}
