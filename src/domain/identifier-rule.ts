// Sensor ids and metric names share one rule: safe in a URL path segment, a CSV header and a log line.
const IDENTIFIER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function isValidIdentifier(candidate: string): boolean {
  return IDENTIFIER.test(candidate);
}
